/* script_flags.c - see script_flags.h. */
#include "gateway/protocol/script_flags.h"

#include <gnutls/crypto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/hex.h"

#define MAP_SLOTS 4096  /* remembered scripts; a colliding newcomer replaces */
#define FLAG "allow-key-locking"

typedef struct map_entry {
    char from[41];      /* what the client sends */
    char to[41];        /* what Redis stores */
} map_entry;

static map_entry slots[MAP_SLOTS];
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned slot_of(const char *sha)
{
    char head[9];
    memcpy(head, sha, 8);
    head[8] = '\0';
    return (unsigned)(strtoul(head, NULL, 16) % MAP_SLOTS);
}

void script_sha1_hex(const void *p, size_t n, char out[41])
{
    unsigned char d[20];
    gnutls_hash_fast(GNUTLS_DIG_SHA1, p, n, d);
    hex_encode(out, d, sizeof d);
}

static bool is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && !strncasecmp(s, word, n);
}

/* Writes into out (arena) the script without the flag; false if the
 * script does not carry it. */
static bool strip_flag(arena *a, const char *s, size_t n, char **out, size_t *outn)
{
    if (n < 5 || memcmp(s, "#!lua", 5) != 0) return false;
    const char *eol = memchr(s, '\n', n);
    size_t line = eol ? (size_t)(eol - s) : n;
    const char *f = NULL;
    for (size_t i = 5; i + 6 <= line; i++)
        if (!memcmp(s + i, "flags=", 6) && (s[i - 1] == ' ' || s[i - 1] == '\t')) {
            f = s + i + 6;
            break;
        }
    if (!f) return false;
    const char *fend = f;
    while (fend < s + line && *fend != ' ' && *fend != '\t' && *fend != '\r') fend++;
    /* Rebuild the flag list without FLAG. */
    char *d = arena_alloc(a, n + 1), *o = d;
    bool found = false, first = true;
    memcpy(o, s, (size_t)(f - s) - 6);
    o += (f - s) - 6;
    char *flags_at = o;
    memcpy(o, "flags=", 6);
    o += 6;
    for (const char *p = f; p < fend;) {
        const char *comma = memchr(p, ',', (size_t)(fend - p));
        const char *e = comma ? comma : fend;
        if (is(p, (size_t)(e - p), FLAG)) {
            found = true;
        } else if (e > p) {
            if (!first) *o++ = ',';
            memcpy(o, p, (size_t)(e - p));
            o += e - p;
            first = false;
        }
        p = comma ? comma + 1 : fend;
    }
    if (!found) return false;
    if (first) { /* no flag left: `#!lua` alone (drop the separator too) */
        o = flags_at;
        while (o > d + 5 && (o[-1] == ' ' || o[-1] == '\t')) o--;
    }
    size_t rest = n - (size_t)(fend - s);
    memcpy(o, fend, rest);
    o += rest;
    *o = '\0';
    *out = d;
    *outn = (size_t)(o - d);
    return true;
}

static void remember(const char *from, const char *to)
{
    pthread_mutex_lock(&map_lock);
    map_entry *e = &slots[slot_of(from)];
    memcpy(e->from, from, 41);
    memcpy(e->to, to, 41);
    pthread_mutex_unlock(&map_lock);
}

static void translate(arena *a, char **arg, size_t *len)
{
    char from[41];
    if (*len != 40) return;
    for (int i = 0; i < 40; i++) {
        char ch = (*arg)[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
            return;
        from[i] = (char)(ch >= 'A' && ch <= 'F' ? ch - 'A' + 'a' : ch);
    }
    from[40] = '\0';
    pthread_mutex_lock(&map_lock);
    map_entry *e = &slots[slot_of(from)];
    if (!strcmp(e->from, from)) *arg = arena_strndup(a, e->to, 40);
    pthread_mutex_unlock(&map_lock);
}

/* Strips the flag from script argument i, remembering the SHA change.
 * Returns the client's SHA (in a) when it was rewritten, else NULL. */
static const char *rewrite_script(arena *a, tg_cmd *c, int i)
{
    char *stripped;
    size_t n;
    if (!strip_flag(a, c->argv[i], c->lens[i], &stripped, &n)) return NULL;
    char *from = arena_alloc(a, 41), to[41];
    script_sha1_hex(c->argv[i], c->lens[i], from);
    script_sha1_hex(stripped, n, to);
    remember(from, to);
    c->argv[i] = stripped;
    c->lens[i] = n;
    return from;
}

void script_flags_rewrite(arena *a, tg_cmd *c, const char **reply_override)
{
    *reply_override = NULL;
    if (c->argc < 2) return;
    const char *name = c->argv[0];
    size_t nl = c->lens[0];
    if (is(name, nl, "eval") || is(name, nl, "eval_ro")) {
        rewrite_script(a, c, 1);
    } else if (is(name, nl, "evalsha") || is(name, nl, "evalsha_ro")) {
        translate(a, &c->argv[1], &c->lens[1]);
    } else if (is(name, nl, "script") && c->argc >= 3) {
        if (is(c->argv[1], c->lens[1], "load")) {
            *reply_override = rewrite_script(a, c, 2);
        } else if (is(c->argv[1], c->lens[1], "exists")) {
            for (int i = 2; i < c->argc; i++) translate(a, &c->argv[i], &c->lens[i]);
        }
    }
}
