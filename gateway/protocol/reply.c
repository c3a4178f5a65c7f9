/* reply.c - see reply.h. */
#include "gateway/protocol/reply.h"

#include "common/base64.h"

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c >= 0xc2 && c <= 0xdf) {
        return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    }
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80) return 0;
        if (c == 0xe0 && s[1] < 0xa0) return 0;  /* overlong */
        if (c == 0xed && s[1] >= 0xa0) return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
            (s[3] & 0xc0) != 0x80)
            return 0;
        if (c == 0xf0 && s[1] < 0x90) return 0;  /* overlong */
        if (c == 0xf4 && s[1] >= 0x90) return 0; /* > U+10FFFF */
        return 4;
    }
    return 0;
}

void reply_json_string(buf *out, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    buf_reserve(out, n + 2);
    buf_putc(out, '"');
    size_t run = 0; /* start of a run of bytes copied as they are */
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        size_t seq = c >= 0x80 ? utf8_seq(s + i, n - i) : 0;
        if (seq) {
            i += seq;
            continue;
        }
        buf_append(out, s + run, i - run);
        if (c == '"') buf_append(out, "\\\"", 2);
        else if (c == '\\') buf_append(out, "\\\\", 2);
        else if (c == '\n') buf_append(out, "\\n", 2);
        else if (c == '\r') buf_append(out, "\\r", 2);
        else if (c == '\t') buf_append(out, "\\t", 2);
        else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_append(out, e, 6);
        } else {
            buf_append(out, "\xef\xbf\xbd", 3); /* U+FFFD */
        }
        i++;
        run = i;
    }
    buf_append(out, s + run, n - run);
    buf_putc(out, '"');
}

static void put_b64_string(buf *out, const char *s, size_t n)
{
    buf_putc(out, '"');
    base64_encode(out, s, n);
    buf_putc(out, '"');
}

void reply_json_value(buf *out, const redisReply *r, bool base64)
{
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        if (base64) put_b64_string(out, r->str, r->len);
        else reply_json_string(out, r->str, r->len);
        break;
    case REDIS_REPLY_ERROR:
        reply_json_string(out, r->str, r->len);
        break;
    case REDIS_REPLY_INTEGER:
        buf_put_i64(out, r->integer);
        break;
    case REDIS_REPLY_NIL:
        buf_append(out, "null", 4);
        break;
    case REDIS_REPLY_ARRAY:
        buf_putc(out, '[');
        for (size_t i = 0; i < r->elements; i++) {
            if (i) buf_putc(out, ',');
            reply_json_value(out, r->element[i], base64);
        }
        buf_putc(out, ']');
        break;
    default:
        buf_append(out, "null", 4);
        break;
    }
}

void reply_json_error(buf *out, const char *msg, size_t n)
{
    buf_append(out, "{\"error\":", 9);
    reply_json_string(out, msg, n);
    buf_putc(out, '}');
}

void reply_json_entry(buf *out, const redisReply *r, bool base64)
{
    if (r->type == REDIS_REPLY_ERROR) {
        reply_json_error(out, r->str, r->len);
        return;
    }
    buf_append(out, "{\"result\":", 10);
    reply_json_value(out, r, base64);
    buf_putc(out, '}');
}

void reply_resp2(buf *out, const redisReply *r)
{
    switch (r->type) {
    case REDIS_REPLY_STRING:
        buf_putc(out, '$');
        buf_put_i64(out, (long long)r->len);
        buf_append(out, "\r\n", 2);
        buf_append(out, r->str, r->len);
        buf_append(out, "\r\n", 2);
        break;
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        buf_putc(out, r->type == REDIS_REPLY_STATUS ? '+' : '-');
        buf_append(out, r->str, r->len);
        buf_append(out, "\r\n", 2);
        break;
    case REDIS_REPLY_INTEGER:
        buf_putc(out, ':');
        buf_put_i64(out, r->integer);
        buf_append(out, "\r\n", 2);
        break;
    case REDIS_REPLY_ARRAY:
        buf_putc(out, '*');
        buf_put_i64(out, (long long)r->elements);
        buf_append(out, "\r\n", 2);
        for (size_t i = 0; i < r->elements; i++) reply_resp2(out, r->element[i]);
        break;
    default:
        buf_append(out, "$-1\r\n", 5);
        break;
    }
}
