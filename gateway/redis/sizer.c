/* sizer.c - see sizer.h. */
#include "gateway/redis/sizer.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "gateway/redis/keyscan.h"
#include "gateway/redis/redis_url.h"

/* One backend's connection. */
typedef struct sizer_conn {
    struct sizer_conn *next;
    char *url;
    redisContext *c;            /* NULL: to be made again */
    int selected;               /* logical DB selected on c; -1 unknown */
} sizer_conn;

/* One shared database's scan pass, kept between measurements. */
typedef struct sizer_pass {
    struct sizer_pass *next;
    char *database_id;
    char cursor[32];            /* "0": no pass under way */
    int64_t keys;               /* keys matched so far in this pass */
    int64_t sampled_bytes, sampled;
    int64_t last;               /* the last finished pass's estimate; -1 none */
    bool seen;                  /* measured in this round */
} sizer_pass;

struct sizer {
    int timeout_ms;
    sizer_conn *conns;
    sizer_pass *passes;
};

sizer *sizer_new(int timeout_ms)
{
    sizer *s = xcalloc(1, sizeof *s);
    s->timeout_ms = timeout_ms;
    return s;
}

void sizer_free(sizer *s)
{
    if (!s) return;
    while (s->conns) {
        sizer_conn *next = s->conns->next;
        if (s->conns->c) redisFree(s->conns->c);
        free(s->conns->url);
        free(s->conns);
        s->conns = next;
    }
    while (s->passes) {
        sizer_pass *next = s->passes->next;
        free(s->passes->database_id);
        free(s->passes);
        s->passes = next;
    }
    free(s);
}

int64_t sizer_estimate(int64_t sampled_bytes, int64_t sampled, int64_t keys)
{
    if (sampled_bytes < 0 || sampled < 0 || keys < 0) return -1;
    if (keys == 0) return 0;
    if (sampled == 0) return -1;
    long double v = (long double)sampled_bytes * (long double)keys / (long double)sampled;
    if (v >= (long double)INT64_MAX) return INT64_MAX;
    return (int64_t)(v + 0.5L);
}

/* ==== Connections ==== */

static void conn_drop(sizer_conn *e)
{
    if (e->c) redisFree(e->c);
    e->c = NULL;
    e->selected = -1;
}

/* url's connection, made if needed. NULL + 503 err. */
static sizer_conn *conn_get(sizer *s, const char *url, tg_err *err)
{
    sizer_conn *e = s->conns;
    while (e && strcmp(e->url, url)) e = e->next;
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->url = xstrdup(url);
        e->selected = -1;
        e->next = s->conns;
        s->conns = e;
    }
    if (e->c) return e;
    redis_url u;
    if (redis_url_parse(url, &u, err)) {
        err->status = 503;
        return NULL;
    }
    if (!(e->c = redis_url_connect(&u, s->timeout_ms, err))) return NULL;
    return e;
}

/* Reads one pipelined reply. NULL + 503 err (the connection dropped). */
static redisReply *conn_read(sizer_conn *e, tg_err *err)
{
    void *r = NULL;
    if (redisGetReply(e->c, &r) != REDIS_OK || !r) {
        tg_fail(err, 503, "ERR backend unavailable: %s", e->c->errstr[0] ? e->c->errstr : "no reply");
        conn_drop(e);
        return NULL;
    }
    return r;
}

/* One command's reply; an error reply is a 503 err too (reply freed). */
static redisReply *conn_call(sizer_conn *e, int argc, const char **argv, const size_t *lens,
                             tg_err *err)
{
    if (redisAppendCommandArgv(e->c, argc, argv, lens) != REDIS_OK) {
        tg_fail(err, 503, "ERR backend unavailable: %s", e->c->errstr);
        conn_drop(e);
        return NULL;
    }
    redisReply *r = conn_read(e, err);
    if (r && r->type == REDIS_REPLY_ERROR) {
        tg_fail(err, 503, "ERR %s: %.200s", argv[0], r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

static int conn_select(sizer_conn *e, int db_index, tg_err *err)
{
    if (e->selected == db_index) return 0;
    char idx[16];
    snprintf(idx, sizeof idx, "%d", db_index);
    const char *argv[] = {"SELECT", idx};
    redisReply *r = conn_call(e, 2, argv, NULL, err);
    if (!r) return -1;
    freeReplyObject(r);
    e->selected = db_index;
    return 0;
}

/* MEMORY USAGE key SAMPLES 0 for keys[0..n), pipelined, into *sum and
 * *count (keys gone meanwhile are skipped). 0 / -1. */
static int measure_keys(sizer_conn *e, redisReply *const *keys, size_t n, int64_t *sum,
                        int64_t *count, tg_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *argv[] = {"MEMORY", "USAGE", keys[i]->str, "SAMPLES", "0"};
        size_t lens[] = {6, 5, keys[i]->len, 7, 1};
        if (redisAppendCommandArgv(e->c, 5, argv, lens) != REDIS_OK) {
            tg_fail(err, 503, "ERR backend unavailable: %s", e->c->errstr);
            conn_drop(e);
            return -1;
        }
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {   /* every reply read, to keep the pipeline in step */
        redisReply *r = conn_read(e, err);
        if (!r) return -1;
        if (r->type == REDIS_REPLY_INTEGER && r->integer >= 0) {
            *sum += r->integer;
            (*count)++;
        } else if (r->type == REDIS_REPLY_ERROR && !rc) {
            rc = tg_fail(err, 503, "ERR MEMORY USAGE: %.200s", r->str);
        }
        freeReplyObject(r);
    }
    return rc;
}

/* ==== Dedicated databases ==== */

static int measure_dedicated(sizer_conn *e, int db_index, int64_t *bytes, tg_err *err)
{
    if (conn_select(e, db_index, err)) return -1;
    const char *dbsize[] = {"DBSIZE"};
    redisReply *r = conn_call(e, 1, dbsize, NULL, err);
    if (!r) return -1;
    int64_t keys = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    if (keys < 0) return tg_fail(err, 503, "ERR DBSIZE: not an integer");
    if (keys == 0) {
        *bytes = 0;
        return 0;
    }
    size_t n = keys < SIZER_SAMPLE_KEYS ? (size_t)keys : SIZER_SAMPLE_KEYS, got = 0;
    redisReply *picked[SIZER_SAMPLE_KEYS];
    const char *randomkey[] = {"RANDOMKEY"};
    for (size_t i = 0; i < n; i++)
        if (redisAppendCommandArgv(e->c, 1, randomkey, NULL) != REDIS_OK) {
            conn_drop(e);
            return tg_fail(err, 503, "ERR backend unavailable");
        }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *k = conn_read(e, err);
        if (!k) {
            rc = -1;
            break;
        }
        if (k->type == REDIS_REPLY_STRING) picked[got++] = k;
        else freeReplyObject(k);   /* nil: emptied meanwhile */
    }
    int64_t sum = 0, sampled = 0;
    if (!rc) rc = measure_keys(e, picked, got, &sum, &sampled, err);
    for (size_t i = 0; i < got; i++) freeReplyObject(picked[i]);
    if (rc) return -1;
    int64_t est = sizer_estimate(sum, sampled, keys);
    if (est < 0) return tg_fail(err, 503, "ERR no key could be measured");
    *bytes = est;
    return 0;
}

/* ==== Shared databases ==== */

static void pass_restart(sizer_pass *p)
{
    p->keys = p->sampled_bytes = p->sampled = 0;
    strcpy(p->cursor, "0");
}

static sizer_pass *pass_get(sizer *s, const char *database_id)
{
    sizer_pass *p = s->passes;
    while (p && strcmp(p->database_id, database_id)) p = p->next;
    if (!p) {
        p = xcalloc(1, sizeof *p);
        p->database_id = xstrdup(database_id);
        pass_restart(p);
        p->last = -1;
        p->next = s->passes;
        s->passes = p;
    }
    p->seen = true;
    return p;
}

/* One SCAN slice of p's pass: counts and measures what matched; *done
 * when the cursor came back to 0. 0 / -1. */
static int scan_slice(sizer_conn *e, sizer_pass *p, const char *glob, bool *done, tg_err *err)
{
    char count[16];
    snprintf(count, sizeof count, "%d", SIZER_SCAN_COUNT);
    const char *argv[] = {"SCAN", p->cursor, "MATCH", glob, "COUNT", count};
    redisReply *r = conn_call(e, 6, argv, NULL, err);
    if (!r) return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= sizeof p->cursor ||
        r->element[1]->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return tg_fail(err, 503, "ERR SCAN: unexpected reply");
    }
    redisReply *keys = r->element[1];
    size_t want = (size_t)(SIZER_SAMPLE_KEYS - p->sampled);
    size_t n = keys->elements < want ? keys->elements : want;
    int rc = measure_keys(e, keys->element, n, &p->sampled_bytes, &p->sampled, err);
    if (!rc) {
        p->keys += (int64_t)keys->elements;
        memcpy(p->cursor, r->element[0]->str, r->element[0]->len + 1);
        *done = !strcmp(p->cursor, "0");
    }
    freeReplyObject(r);
    return rc;
}

static int measure_shared(sizer *s, sizer_conn *e, const sizer_target *t, int64_t *bytes,
                          tg_err *err)
{
    char glob[2 * KEYSCAN_PREFIX_MAX + 2];
    if (!keyscan_glob(t->key_prefix, strlen(t->key_prefix), glob, sizeof glob))
        return tg_fail(err, 503, "ERR key prefix too long");
    if (conn_select(e, t->db_index, err)) return -1;
    sizer_pass *p = pass_get(s, t->database_id);
    bool done = false;
    for (int call = 0; call < SIZER_SCAN_CALLS && !done; call++)
        if (scan_slice(e, p, glob, &done, err)) {
            pass_restart(p);   /* a half-counted slice: start over next time */
            return -1;
        }
    int64_t partial = sizer_estimate(p->sampled_bytes, p->sampled, p->keys);
    if (done) {
        if (partial >= 0) p->last = partial;
        pass_restart(p);
        partial = -1;
    }
    int64_t est = p->last > partial ? p->last : partial;
    if (est < 0) return tg_fail(err, 503, "ERR no key could be measured");
    *bytes = est;
    return 0;
}

int sizer_measure(sizer *s, const sizer_target *t, int64_t *bytes, tg_err *err)
{
    sizer_conn *e = conn_get(s, t->redis_url, err);
    if (!e) return -1;
    if (t->key_prefix && t->key_prefix[0]) return measure_shared(s, e, t, bytes, err);
    return measure_dedicated(e, t->db_index, bytes, err);
}

void sizer_round_end(sizer *s)
{
    sizer_pass **pp = &s->passes;
    while (*pp) {
        sizer_pass *p = *pp;
        if (p->seen) {
            p->seen = false;
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        free(p->database_id);
        free(p);
    }
}
