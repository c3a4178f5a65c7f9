/* reply.c - see reply.h. */
#include "gateway/protocol/reply.h"

#include <stdlib.h>

#include "common/base64.h"
#include "common/json_out.h"

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
        else json_out_string(out, r->str, r->len);
        break;
    case REDIS_REPLY_ERROR:
        json_out_string(out, r->str, r->len);
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
    json_out_string(out, msg, n);
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

/* A simple string or error line: CR and LF would end the line early and
 * let the rest be read as more replies, so each becomes a space. */
static void put_line(buf *out, char type, const char *s, size_t n)
{
    buf_putc(out, type);
    for (size_t i = 0; i < n; i++) buf_putc(out, s[i] == '\r' || s[i] == '\n' ? ' ' : s[i]);
    buf_append(out, "\r\n", 2);
}

void reply_resp2_error(buf *out, const char *msg, size_t n)
{
    put_line(out, '-', msg, n);
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
        put_line(out, r->type == REDIS_REPLY_STATUS ? '+' : '-', r->str, r->len);
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

/* ==== Sizes ==== */

/* Decimal digits of v, its sign included. */
static size_t digits(long long v)
{
    size_t n = v < 0 ? 2 : 1;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    while (u >= 10) {
        u /= 10;
        n++;
    }
    return n;
}

size_t reply_json_value_size(const redisReply *r, bool base64)
{
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        if (base64) return 2 + (r->len + 2) / 3 * 4;
        return json_out_string_size(r->str, r->len);
    case REDIS_REPLY_ERROR:
        return json_out_string_size(r->str, r->len);
    case REDIS_REPLY_INTEGER:
        return digits(r->integer);
    case REDIS_REPLY_ARRAY: {
        size_t n = 2 + (r->elements ? r->elements - 1 : 0);
        for (size_t i = 0; i < r->elements; i++)
            n += reply_json_value_size(r->element[i], base64);
        return n;
    }
    default:
        return 4;
    }
}

size_t reply_json_entry_size(const redisReply *r, bool base64)
{
    if (r->type == REDIS_REPLY_ERROR) return 10 + json_out_string_size(r->str, r->len);
    return 11 + reply_json_value_size(r, base64);
}

size_t reply_resp2_size(const redisReply *r)
{
    switch (r->type) {
    case REDIS_REPLY_STRING:
        return 5 + digits((long long)r->len) + r->len;
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        return 3 + r->len;
    case REDIS_REPLY_INTEGER:
        return 3 + digits(r->integer);
    case REDIS_REPLY_ARRAY: {
        size_t n = 3 + digits((long long)r->elements);
        for (size_t i = 0; i < r->elements; i++) n += reply_resp2_size(r->element[i]);
        return n;
    }
    default:
        return 5;
    }
}

size_t reply_payload_size(const redisReply *r)
{
    if (r->type == REDIS_REPLY_ARRAY) {
        size_t n = 0;
        for (size_t i = 0; i < r->elements; i++) n += reply_payload_size(r->element[i]);
        return n;
    }
    return r->type == REDIS_REPLY_INTEGER ? 0 : r->len;
}

redisReply *reply_from_resp(const char *p, size_t n)
{
    redisReader *rd = redisReaderCreate();
    void *r = NULL;
    if (!rd || redisReaderFeed(rd, p, n) != REDIS_OK ||
        redisReaderGetReply(rd, &r) != REDIS_OK || !r)
        abort();
    redisReaderFree(rd);
    return r;
}
