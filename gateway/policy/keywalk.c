/* keywalk.c - see keywalk.h: keyspace commands in bounded slices. */
#include "gateway/policy/keywalk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/mem.h"
#include "common/siphash.h"
#include "gateway/protocol/reply.h"
#include "gateway/redis/keyscan.h"

#define CURSOR_MAX 24            /* a 64-bit cursor in decimal, NUL */

struct keywalk {
    keywalk_kind kind;
    char cursor[CURSOR_MAX];     /* the next slice's */
    char step[12];               /* the next slice's COUNT */
    uint32_t step_n;
    uint32_t want;               /* SCAN */
    uint64_t pick;               /* RANDOMKEY */
    bool wrapped;                /* RANDOMKEY: past cursor 0 once */
    uint32_t slices;
    uint64_t max_bytes;
    /* The next slice's command: argv points into the fields above and
     * the arena copies of the match and type. */
    char *argv[8];
    size_t lens[8];
    int argc;
    /* Keys seen (DBSIZE, KEYS): open addressing over 64-bit keyed hashes,
     * 0 meaning empty. */
    uint64_t *seen;
    size_t seen_cap, seen_n;
    uint64_t count;              /* keys counted or kept so far */
    buf keys;                    /* KEYS, SCAN: the keys kept, as RESP bulks */
};

/* ==== Construction ==== */

static void set_step(keywalk *w, uint32_t n)
{
    w->step_n = n;
    snprintf(w->step, sizeof w->step, "%u", n);
}

keywalk *keywalk_new(arena *a, const keywalk_spec *s)
{
    keywalk *w = arena_alloc(a, sizeof *w);
    memset(w, 0, sizeof *w);
    w->kind = s->kind;
    w->pick = s->pick;
    w->want = s->count ? s->count : 10;
    buf_init(&w->keys);
    size_t cl = s->cursor && s->cursor_len < CURSOR_MAX ? s->cursor_len : 0;
    memcpy(w->cursor, cl ? s->cursor : "0", cl ? cl : 1);
    switch (s->kind) {
    case KEYWALK_SCAN: /* as the single-call script: at least 100 a round */
        set_step(w, w->want > 100 ? w->want : 100);
        break;
    case KEYWALK_RANDOMKEY:
        set_step(w, KEYWALK_RANDOM_FIRST);
        break;
    default:
        set_step(w, KEYSCAN_SLICE_KEYS);
        break;
    }
    char *match = arena_strndup(a, s->match, s->match_len);
    if (s->kind == KEYWALK_FLUSH) {
        const char *words[] = {"EVAL", keyscan_flush_slice_lua, "0"};
        for (int i = 0; i < 3; i++) {
            w->argv[i] = (char *)words[i];
            w->lens[i] = strlen(words[i]);
        }
        w->argv[3] = w->cursor;
        w->argv[4] = match;
        w->lens[4] = s->match_len;
        w->argv[5] = w->step;
        w->argc = 6;
        return w;
    }
    const char *words[] = {"SCAN", NULL, "MATCH", NULL, "COUNT", NULL, "TYPE"};
    for (int i = 0; i < 7; i += 2) {
        w->argv[i] = (char *)words[i];
        w->lens[i] = strlen(words[i]);
    }
    w->argv[1] = w->cursor;
    w->argv[3] = match;
    w->lens[3] = s->match_len;
    w->argv[5] = w->step;
    w->argc = 6;
    if (s->kind == KEYWALK_SCAN && s->type) {
        w->argv[7] = arena_strndup(a, s->type, s->type_len);
        w->lens[7] = s->type_len;
        w->argc = 8;
    }
    return w;
}

void keywalk_limit(keywalk *w, uint64_t max_bytes)
{
    w->max_bytes = max_bytes;
}

keywalk_kind keywalk_kind_of(const keywalk *w)
{
    return w->kind;
}

uint32_t keywalk_slices(const keywalk *w)
{
    return w->slices;
}

void keywalk_free(keywalk *w)
{
    if (!w) return;
    free(w->seen);
    w->seen = NULL;
    w->seen_cap = w->seen_n = 0;
    buf_release(&w->keys);
}

void keywalk_next(keywalk *w, tg_cmd *out)
{
    int cur = w->kind == KEYWALK_FLUSH ? 3 : 1, step = 5;
    w->lens[cur] = strlen(w->cursor);
    w->lens[step] = strlen(w->step);
    *out = (tg_cmd){w->argc, w->argv, w->lens};
}

/* ==== Answers ==== */

static redisReply *reply_text(const char *resp)
{
    return reply_from_resp(resp, strlen(resp));
}

static void put_bulk(buf *b, const char *s, size_t n)
{
    buf_putc(b, '$');
    buf_put_i64(b, (long long)n);
    buf_append(b, "\r\n", 2);
    buf_append(b, s, n);
    buf_append(b, "\r\n", 2);
}

/* [header][the kept keys]: KEYS' array, or SCAN's [cursor, keys]. */
static redisReply *keys_answer(keywalk *w)
{
    buf b;
    buf_init(&b);
    if (w->kind == KEYWALK_SCAN) {
        buf_puts(&b, "*2\r\n");
        put_bulk(&b, w->cursor, strlen(w->cursor));
    }
    buf_putc(&b, '*');
    buf_put_i64(&b, (long long)w->count);
    buf_append(&b, "\r\n", 2);
    buf_append(&b, w->keys.data, w->keys.len);
    redisReply *r = reply_from_resp(b.data, b.len);
    buf_release(&b);
    return r;
}

static redisReply *too_large(const keywalk *w)
{
    char msg[200];
    snprintf(msg, sizeof msg, "-ERR reply too large: over max_reply_bytes (%llu bytes); "
             "narrow the pattern or use SCAN\r\n", (unsigned long long)w->max_bytes);
    return reply_text(msg);
}

/* ==== Seen keys ==== */

static void seen_put(uint64_t *t, size_t cap, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);
    while (t[i]) i = (i + 1) & (cap - 1);
    t[i] = h;
}

/* Adds the key; false if it was seen already. */
static bool seen_add(keywalk *w, const char *k, size_t n)
{
    uint64_t h = hash_bytes(k, n);
    if (!h) h = 1;
    if (2 * (w->seen_n + 1) > w->seen_cap) {
        size_t cap = w->seen_cap ? 2 * w->seen_cap : 1024;
        uint64_t *t = xcalloc(cap, sizeof *t);
        for (size_t i = 0; i < w->seen_cap; i++)
            if (w->seen[i]) seen_put(t, cap, w->seen[i]);
        free(w->seen);
        w->seen = t;
        w->seen_cap = cap;
    }
    for (size_t i = (size_t)h & (w->seen_cap - 1);; i = (i + 1) & (w->seen_cap - 1)) {
        if (w->seen[i] == h) return false;
        if (!w->seen[i]) {
            w->seen[i] = h;
            w->seen_n++;
            return true;
        }
    }
}

/* ==== Slices ==== */

static bool is_cursor(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) &&
           r->len > 0 && r->len < CURSOR_MAX;
}

/* SCAN's [cursor, [keys...]] with string keys. */
static bool scan_shaped(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !is_cursor(r->element[0]) ||
        r->element[1]->type != REDIS_REPLY_ARRAY)
        return false;
    const redisReply *ks = r->element[1];
    for (size_t i = 0; i < ks->elements; i++)
        if (ks->element[i]->type != REDIS_REPLY_STRING) return false;
    return true;
}

/* The keys of one page; false when the walk must end on max_bytes. */
static bool take_keys(keywalk *w, const redisReply *page)
{
    for (size_t i = 0; i < page->elements; i++) {
        const redisReply *k = page->element[i];
        if (w->kind == KEYWALK_DBSIZE) {
            if (seen_add(w, k->str, k->len)) w->count++;
            continue;
        }
        if (w->kind == KEYWALK_KEYS && !seen_add(w, k->str, k->len)) continue;
        put_bulk(&w->keys, k->str, k->len);
        w->count++;
        if (w->max_bytes && w->keys.len > w->max_bytes) return false;
    }
    return true;
}

/* RANDOMKEY's page: the answer, or NULL to go on. */
static redisReply *random_page(keywalk *w, const redisReply *page, bool *over)
{
    *over = false;
    if (page->elements > 0) {
        const redisReply *k = page->element[w->pick % page->elements];
        buf b;
        buf_init(&b);
        put_bulk(&b, k->str, k->len);
        redisReply *r = reply_from_resp(b.data, b.len);
        buf_release(&b);
        *over = true;
        return r;
    }
    if (!strcmp(w->cursor, "0")) {
        if (w->wrapped) {
            *over = true;
            return reply_text("$-1\r\n");
        }
        w->wrapped = true;
    }
    /* A sparse prefix: larger pages, fewer calls, each still bounded. */
    if (w->step_n < KEYSCAN_SLICE_KEYS)
        set_step(w, w->step_n * 2 < KEYSCAN_SLICE_KEYS ? w->step_n * 2 : KEYSCAN_SLICE_KEYS);
    return NULL;
}

bool keywalk_feed(keywalk *w, redisReply *r, redisReply **answer)
{
    *answer = NULL;
    w->slices++;
    if (r->type == REDIS_REPLY_ERROR) {
        *answer = r;
        return true;
    }
    if (w->kind == KEYWALK_FLUSH) {
        bool ok = is_cursor(r);
        if (ok) memcpy(w->cursor, r->str, r->len + 1);
        freeReplyObject(r);
        if (!ok) *answer = reply_text("-ERR unexpected reply while flushing\r\n");
        else if (!strcmp(w->cursor, "0")) *answer = reply_text("+OK\r\n");
        return *answer != NULL;
    }
    if (!scan_shaped(r)) {
        freeReplyObject(r);
        *answer = reply_text("-ERR unexpected reply to SCAN\r\n");
        return true;
    }
    memcpy(w->cursor, r->element[0]->str, r->element[0]->len + 1);
    bool done = !strcmp(w->cursor, "0");
    switch (w->kind) {
    case KEYWALK_RANDOMKEY:
        *answer = random_page(w, r->element[1], &done);
        break;
    case KEYWALK_SCAN:
        if (!take_keys(w, r->element[1])) *answer = too_large(w);
        else if (done || w->count >= w->want || w->slices >= KEYWALK_SCAN_ROUNDS)
            *answer = keys_answer(w);
        break;
    default: /* DBSIZE, KEYS */
        if (!take_keys(w, r->element[1])) *answer = too_large(w);
        else if (done && w->kind == KEYWALK_DBSIZE) {
            char n[32];
            snprintf(n, sizeof n, ":%llu\r\n", (unsigned long long)w->count);
            *answer = reply_text(n);
        } else if (done) {
            *answer = keys_answer(w);
        }
        break;
    }
    freeReplyObject(r);
    return *answer != NULL;
}
