/* redact.c - see redact.h. */
#include "common/redact.h"

#include <stdbool.h>
#include <string.h>

#include "common/hex.h"

static bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == 0x7f || c == '\\';
}

char *redact_escape(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0) return out;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t w = needs_escape(c) ? 4 : 1;
        if (o + w >= cap) break;
        if (w == 1) {
            out[o++] = (char)c;
            continue;
        }
        out[o++] = '\\';
        out[o++] = 'x';
        out[o++] = hex_digits[c >> 4];
        out[o++] = hex_digits[c & 15];
    }
    out[o] = '\0';
    return out;
}

char *redact_url(const char *url, char *out, size_t cap)
{
    const char *auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@') at = p; /* the last @ ends the userinfo */
    if (!at) return redact_escape(url, strlen(url), out, cap);
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    /* "scheme://user:" (or "scheme://"), "***", then "@host..." */
    size_t keep = colon ? (size_t)(colon + 1 - url) : (size_t)(auth - url);
    char tmp[1024];
    size_t tl = 0;
    const struct { const char *p; size_t n; } parts[] = {
        {url, keep}, {"***", 3}, {at, strlen(at)},
    };
    for (size_t i = 0; i < 3; i++) {
        size_t n = parts[i].n < sizeof tmp - tl ? parts[i].n : sizeof tmp - tl;
        memcpy(tmp + tl, parts[i].p, n);
        tl += n;
    }
    return redact_escape(tmp, tl, out, cap);
}
