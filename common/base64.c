/* base64.c - see base64.h. */
#include "common/base64.h"

#include <stdint.h>

static const char enc_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void base64_encode(buf *out, const void *p, size_t n)
{
    const unsigned char *s = p;
    buf_reserve(out, (n + 2) / 3 * 4);
    char *d = out->data + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *d++ = enc_std[v >> 18];
        *d++ = enc_std[(v >> 12) & 63];
        *d++ = enc_std[(v >> 6) & 63];
        *d++ = enc_std[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        *d++ = enc_std[v >> 18];
        *d++ = enc_std[(v >> 12) & 63];
        *d++ = '=';
        *d++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        *d++ = enc_std[v >> 18];
        *d++ = enc_std[(v >> 12) & 63];
        *d++ = enc_std[(v >> 6) & 63];
        *d++ = '=';
    }
    out->len = (size_t)(d - out->data);
    out->data[out->len] = '\0';
}

static int dec_char(char c, bool url)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == (url ? '-' : '+')) return 62;
    if (c == (url ? '_' : '/')) return 63;
    return -1;
}

bool base64_decode(buf *out, const char *s, size_t n, bool url)
{
    while (n > 0 && s[n - 1] == '=') n--;
    if (n % 4 == 1) return false;
    size_t start = out->len;
    buf_reserve(out, n / 4 * 3 + 3);
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = dec_char(s[i], url);
        if (v < 0) {
            out->len = start;
            out->data[start] = '\0';
            return false;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out->data[out->len++] = (char)((acc >> bits) & 0xff);
        }
    }
    out->data[out->len] = '\0';
    return true;
}
