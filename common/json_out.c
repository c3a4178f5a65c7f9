/* json_out.c - see json_out.h. */
#include "common/json_out.h"

#include "common/hex.h"

/* Length of the valid UTF-8 sequence at s (n bytes left, s[0] >= 0x80),
 * or 0 if it is not one. */
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

/* Appends the escape for one byte that cannot be copied as it is. */
static void put_escape(buf *out, unsigned char c)
{
    switch (c) {
    case '"': buf_append(out, "\\\"", 2); break;
    case '\\': buf_append(out, "\\\\", 2); break;
    case '\n': buf_append(out, "\\n", 2); break;
    case '\r': buf_append(out, "\\r", 2); break;
    case '\t': buf_append(out, "\\t", 2); break;
    default:
        if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 15]};
            buf_append(out, e, 6);
        } else {
            buf_append(out, "\xef\xbf\xbd", 3); /* U+FFFD */
        }
    }
}

void json_out_string(buf *out, const char *str, size_t n)
{
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
        put_escape(out, c);
        i++;
        run = i;
    }
    buf_append(out, s + run, n - run);
    buf_putc(out, '"');
}

/* Bytes put_escape writes for c. */
static size_t escape_size(unsigned char c)
{
    if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t') return 2;
    return c < 0x20 ? 6 : 3;
}

size_t json_out_string_size(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t size = 2;
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t seq = c >= 0x80 ? utf8_seq(s + i, n - i) : 0;
        if ((c >= 0x20 && c < 0x80 && c != '"' && c != '\\') || seq) {
            size += seq ? seq : 1;
            i += seq ? seq : 1;
            continue;
        }
        size += escape_size(c);
        i++;
    }
    return size;
}
