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

/* The userinfo's password of url: [*from, *to), or false when none. */
static bool password_span(const char *url, size_t *from, size_t *to)
{
    const char *auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@') at = p;
    if (!at) return false;
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    *from = (size_t)((colon ? colon + 1 : auth) - url);
    *to = (size_t)(at - url);
    return true;
}

int url_split_secret(const char *url, char *pub, size_t pcap, char *secret, size_t scap)
{
    size_t from, to, n = strlen(url);
    if (!password_span(url, &from, &to) || from == to) {
        if (n + 1 > pcap || scap < 1) return -1;
        memcpy(pub, url, n + 1);
        secret[0] = '\0';
        return 0;
    }
    if (from + 3 + (n - to) + 1 > pcap || to - from + 1 > scap) return -1;
    memcpy(secret, url + from, to - from);
    secret[to - from] = '\0';
    memcpy(pub, url, from);
    memcpy(pub + from, "***", 3);
    memcpy(pub + from + 3, url + to, n - to + 1);
    return 0;
}

int url_join_secret(const char *pub, const char *secret, char *out, size_t cap)
{
    size_t from, to, n = strlen(pub), sl = strlen(secret);
    if (!*secret || !password_span(pub, &from, &to) || to - from != 3 ||
        memcmp(pub + from, "***", 3)) {
        if (n + 1 > cap) return -1;
        memcpy(out, pub, n + 1);
        return 0;
    }
    if (from + sl + (n - to) + 1 > cap) return -1;
    memcpy(out, pub, from);
    memcpy(out + from, secret, sl);
    memcpy(out + from + sl, pub + to, n - to + 1);
    return 0;
}
