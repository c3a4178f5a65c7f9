/* auth.c - see auth.h: verified-token cache over jwt.c and tenancy.c. */
#include "auth/auth.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "auth/refresh.h"
#include "common/clock.h"
#include "common/siphash.h"
#include "common/mem.h"
#include "common/metrics.h"

#define WAYS 4
#define TAIL 24   /* bytes of the signature kept to double-check a hit */

/* Kept small: a full cache is entries x threads of resident memory. */
typedef struct cache_entry {
    uint64_t hash;              /* 0: empty */
    uint32_t len;
    uint32_t stamp;             /* for replacement: least recently used */
    char tail[TAIL];
    const char *redis_url;      /* interned in the ctx */
    const auth_keyring *ring;   /* the keyring that verified it */
    const char *cmd_allow;      /* interned; NULL when the token has none */
    const char *cmd_deny;
    int db_index;
    auth_scope scope;
    uint32_t users_seen;        /* auth_grant.users_seen */
    void *app_data;             /* auth_grant.app_data */
    long long expires_at;       /* min(token exp, row expiry) */
    long long claim_exp;
    uint64_t checked_ms;        /* monotonic ms its row was last read */
    auth_watch *watch;          /* its row's verdicts (refresh.h) */
    long long rate_limit;       /* the signed rate_limit claim, 0: none */
    char tenant_id[AUTH_ID_MAX];
    char database_id[AUTH_ID_MAX];
    char jti[AUTH_ID_MAX];
    bool shared;                /* key prefix "<database_id>:" */
    bool server_shared;         /* auth_grant.server_shared, as last checked */
    bool owns_server;           /* auth_grant.owns_server (never changes) */
} cache_entry;

typedef struct interned {
    struct interned *next;
    char s[];
} interned;

/* A lookup of this ctx on the refresher: one per token missed (waiters
 * coalesce), freed by auth_ctx_complete. */
typedef struct pending {
    auth_lookup lk;             /* first: notify gets &lk */
    auth_ctx *a;
    struct pending *next_inflight;  /* the ctx's, thread-owned */
    struct pending *next_done;      /* under a->mu */
    uint64_t hash;
    uint32_t len;
    char tail[TAIL];
    const auth_keyring *ring;
    auth_wait *waiters;         /* thread-owned */
    bool sync, finished;        /* a caller waits on a->cv (under a->mu) */
} pending;

struct auth_ctx {
    const auth_keyring *const *current;
    long leeway_s;
    auth_refresher *rf;
    int efd;                    /* eventfd: lookups completed */
    pthread_mutex_t mu;         /* done, outstanding */
    pthread_cond_t cv;
    pending *done;
    int outstanding;            /* submitted, not yet notified */
    pending *inflight;          /* thread-owned */
    int ninflight;
    cache_entry *sets;          /* nsets * WAYS */
    size_t nsets;
    uint32_t clock;
    interned *urls;
    auth_stats stats;
    char prefix[AUTH_ID_MAX + 1]; /* the last grant's key prefix */
};

auth_ctx *auth_ctx_new(const auth_keyring *const *current, long leeway_s,
                       const char *sqlite_path, size_t cache_entries, tg_err *err)
{
    auth_ctx *a = xcalloc(1, sizeof *a);
    a->current = current;
    a->leeway_s = leeway_s;
    a->rf = auth_refresher_get(sqlite_path, err);
    if (!a->rf) {
        free(a);
        return NULL;
    }
    a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (a->efd < 0) {
        tg_fail(err, 503, "eventfd: %s", strerror(errno));
        auth_refresher_put(a->rf);
        free(a);
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    size_t n = 1;
    while (n * WAYS < cache_entries) n *= 2;
    a->nsets = n;
    /* calloc: untouched slots stay unbacked pages, so memory follows use. */
    a->sets = xcalloc(n * WAYS, sizeof *a->sets);
    return a;
}

void auth_ctx_free(auth_ctx *a)
{
    if (!a) return;
    /* The refresher may still be reading for us: wait for it. */
    pthread_mutex_lock(&a->mu);
    while (a->outstanding > 0) pthread_cond_wait(&a->cv, &a->mu);
    pthread_mutex_unlock(&a->mu);
    for (pending *p = a->inflight, *next; p; p = next) {
        next = p->next_inflight;
        free(p);
    }
    for (size_t i = 0; i < a->nsets * WAYS; i++) auth_watch_unref(a->rf, a->sets[i].watch);
    auth_refresher_put(a->rf);
    close(a->efd);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a->sets);
    for (interned *i = a->urls, *next; i; i = next) {
        next = i->next;
        free(i);
    }
    free(a);
}

static const char *intern(auth_ctx *a, const char *url)
{
    for (interned *i = a->urls; i; i = i->next)
        if (!strcmp(i->s, url)) return i->s;
    size_t n = strlen(url);
    interned *i = xmalloc(sizeof *i + n + 1);
    memcpy(i->s, url, n + 1);
    i->next = a->urls;
    a->urls = i;
    return i->s;
}

static void tail_of(const char *tok, size_t len, char out[TAIL])
{
    memset(out, 0, TAIL);
    size_t n = len < TAIL ? len : TAIL;
    memcpy(out, tok + len - n, n);
}

static void fill_grant(auth_ctx *a, cache_entry *e, auth_grant *out)
{
    out->tenant_id = e->tenant_id;
    out->database_id = e->database_id;
    out->jti = e->jti;
    out->redis_url = e->redis_url;
    out->db_index = e->db_index;
    out->scope = e->scope;
    out->expires_at = e->expires_at;
    out->cmd_allow = e->cmd_allow;
    out->cmd_deny = e->cmd_deny;
    out->rate_limit = e->rate_limit;
    out->key_prefix = NULL;
    out->server_shared = e->server_shared;
    out->owns_server = e->owns_server;
    if (e->shared) {
        snprintf(a->prefix, sizeof a->prefix, "%s:", e->database_id);
        out->key_prefix = a->prefix;
    }
    out->users_seen = &e->users_seen;
    out->app_data = &e->app_data;
}

static void store_grant(auth_ctx *a, cache_entry *e, const tenancy_grant *g)
{
    e->shared = g->key_prefix[0] != '\0';
    e->server_shared = g->server_shared;
    e->owns_server = g->owns_server;
    memcpy(e->tenant_id, g->tenant_id, sizeof e->tenant_id);
    memcpy(e->database_id, g->database_id, sizeof e->database_id);
    memcpy(e->jti, g->jti, sizeof e->jti);
    e->redis_url = intern(a, g->redis_url);
    e->db_index = g->db_index;
    e->scope = g->scope;
    e->expires_at = g->expires_at;
}

/* The row's expiry binds too (a token re-signed with a later exp). */
static int row_expired(long long expires_at, time_t now, long long leeway, tg_err *err)
{
    if ((long long)now > expires_at + leeway) return tg_fail(err, 401, "token expired");
    return 0;
}

static void drop(auth_ctx *a, cache_entry *e)
{
    e->hash = 0;
    auth_watch_unref(a->rf, e->watch);
    e->watch = NULL;
}

static cache_entry *set_of(auth_ctx *a, uint64_t h)
{
    return &a->sets[((h >> 8) & (a->nsets - 1)) * WAYS];
}

static cache_entry *find(auth_ctx *a, uint64_t h, size_t len, const char tail[TAIL])
{
    cache_entry *set = set_of(a, h);
    for (int w = 0; w < WAYS; w++)
        if (set[w].hash == h && set[w].len == len && !memcmp(set[w].tail, tail, TAIL))
            return &set[w];
    return NULL;
}

/* ==== Cache hits ==== */

/* A cached entry whose row was read AUTH_RECHECK_MS ago or more: takes the
 * refresher's newer verdict if there is one. used_before: when the entry's
 * token was used before this call. Returns 0 to serve it, -1 with err
 * (refused: the entry is dropped), or 1: its row must be read again (a
 * token idle for a while; the entry is dropped). */
static int recheck(auth_ctx *a, cache_entry *e, time_t now, uint64_t now_ms,
                   uint64_t used_before, tg_err *err)
{
    auth_verdict v;
    if (auth_watch_newer(a->rf, e->watch, e->checked_ms, &v)) {
        a->stats.rechecks++;
        if (v.status) {
            drop(a, e);
            return tg_fail(err, v.status, "%s", v.msg);
        }
        e->checked_ms = v.read_ms;
        e->server_shared = v.server_shared;
        e->expires_at = v.expires_at < e->claim_exp ? v.expires_at : e->claim_exp;
        if (row_expired(e->expires_at, now, a->leeway_s, err)) {
            drop(a, e);
            return -1;
        }
    }
    if (now_ms < e->checked_ms + AUTH_RECHECK_MS) return 0;
    /* No fresh verdict. For a token in use, every pass reads its row: the
     * refresher is behind because the state file cannot be read, and what
     * was verified stays served rather than stopping authenticated
     * traffic. A token idle for a while is not in the passes: read it. */
    if (used_before + REFRESH_IDLE_MS >= now_ms || auth_refresher_stalled(a->rf, now_ms)) {
        a->stats.stale++;
        return 0;
    }
    drop(a, e);
    return 1;
}

/* ==== Misses ==== */

/* On the refresher's thread. The lock is held across the eventfd write so
 * that auth_ctx_free cannot close it in between. */
static void on_looked_up(auth_lookup *lk)
{
    pending *p = (pending *)lk;
    auth_ctx *a = p->a;
    pthread_mutex_lock(&a->mu);
    a->outstanding--;
    if (p->sync) {
        p->finished = true;
    } else {
        p->next_done = a->done;
        a->done = p;
        uint64_t one = 1;
        if (write(a->efd, &one, sizeof one) < 0) { /* already readable */ }
    }
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

static pending *submit(auth_ctx *a, uint64_t h, size_t len, const char tail[TAIL],
                       const auth_keyring *ring, const auth_claims *c, bool sync)
{
    pending *p = xcalloc(1, sizeof *p);
    p->lk.claims = *c;
    p->lk.notify = on_looked_up;
    p->a = a;
    p->hash = h;
    p->len = (uint32_t)len;
    memcpy(p->tail, tail, TAIL);
    p->ring = ring;
    p->sync = sync;
    pthread_mutex_lock(&a->mu);
    a->outstanding++;
    pthread_mutex_unlock(&a->mu);
    if (!sync) {
        p->next_inflight = a->inflight;
        a->inflight = p;
        a->ninflight++;
    }
    auth_refresher_submit(a->rf, &p->lk);
    return p;
}

/* A completed lookup into the cache (replacing the least recently used
 * entry of its set). Returns the entry, or NULL with err. */
static cache_entry *install(auth_ctx *a, pending *p, time_t now, tg_err *err)
{
    const tenancy_grant *g = &p->lk.grant;
    if (p->lk.rc) {
        *err = p->lk.err;
        return NULL;
    }
    if (row_expired(g->expires_at, now, a->leeway_s, err)) return NULL;
    cache_entry *victim = find(a, p->hash, p->len, p->tail);
    if (!victim) {
        cache_entry *set = set_of(a, p->hash);
        victim = &set[0];
        for (int w = 0; w < WAYS; w++) {
            if (set[w].hash == 0) {
                victim = &set[w];
                break;
            }
            if ((uint32_t)(a->clock - set[w].stamp) > (uint32_t)(a->clock - victim->stamp))
                victim = &set[w];
        }
        drop(a, victim);
        victim->users_seen = 0;
        victim->app_data = NULL;
    }
    const auth_claims *c = &p->lk.claims;
    auth_verdict v = {.read_ms = p->lk.read_ms, .expires_at = g->expires_at,
                      .server_shared = g->server_shared};
    auth_watch *w = auth_watch_ref(a->rf, c, &v);
    auth_watch_unref(a->rf, victim->watch);
    victim->watch = w;
    victim->hash = p->hash;
    victim->len = p->len;
    memcpy(victim->tail, p->tail, TAIL);
    victim->claim_exp = c->exp;
    victim->rate_limit = c->rate_limit;
    victim->ring = p->ring;
    victim->cmd_allow = c->cmd_allow[0] ? intern(a, c->cmd_allow) : NULL;
    victim->cmd_deny = c->cmd_deny[0] ? intern(a, c->cmd_deny) : NULL;
    victim->stamp = ++a->clock;
    victim->checked_ms = p->lk.read_ms;
    store_grant(a, victim, g);
    return victim;
}

int auth_ctx_fd(const auth_ctx *a)
{
    return a->efd;
}

void auth_ctx_complete(auth_ctx *a, time_t now, auth_done_fn fn)
{
    uint64_t n;
    if (read(a->efd, &n, sizeof n) < 0) { /* nothing new */ }
    pthread_mutex_lock(&a->mu);
    pending *done = a->done;
    a->done = NULL;
    pthread_mutex_unlock(&a->mu);
    for (pending *p = done, *next; p; p = next) {
        next = p->next_done;
        for (pending **q = &a->inflight; *q; q = &(*q)->next_inflight)
            if (*q == p) {
                *q = p->next_inflight;
                a->ninflight--;
                break;
            }
        tg_err err;
        auth_grant g;
        cache_entry *e = install(a, p, now, &err);
        if (e) fill_grant(a, e, &g);
        for (auth_wait *w = p->waiters, *wn; w; w = wn) {
            wn = w->next;
            w->lookup = NULL;
            w->next = NULL;
            fn(w->cookie, e ? 0 : -1, e ? &g : NULL, e ? NULL : &err);
        }
        free(p);
    }
}

void auth_ctx_abandon(auth_ctx *a, auth_done_fn fn)
{
    tg_err err;
    tg_fail(&err, 503, "ERR shutting down");
    for (pending *p = a->inflight; p; p = p->next_inflight)
        while (p->waiters) {
            auth_wait *w = p->waiters;
            p->waiters = w->next;
            w->lookup = NULL;
            w->next = NULL;
            fn(w->cookie, -1, NULL, &err);
        }
}

void auth_cancel(auth_ctx *a, auth_wait *w)
{
    (void)a;
    pending *p = w->lookup;
    if (!p) return;
    for (auth_wait **q = &p->waiters; *q; q = &(*q)->next)
        if (*q == w) {
            *q = w->next;
            break;
        }
    w->lookup = NULL;
    w->next = NULL;
}

/* No waiter: the calling thread waits for its own lookup. */
static int lookup_now(auth_ctx *a, uint64_t h, size_t len, const char tail[TAIL],
                      const auth_keyring *ring, const auth_claims *c, time_t now,
                      auth_grant *out, tg_err *err)
{
    pending *p = submit(a, h, len, tail, ring, c, true);
    pthread_mutex_lock(&a->mu);
    while (!p->finished) pthread_cond_wait(&a->cv, &a->mu);
    pthread_mutex_unlock(&a->mu);
    cache_entry *e = install(a, p, now, err);
    free(p);
    if (!e) return -1;
    fill_grant(a, e, out);
    return 0;
}

int auth_authenticate(auth_ctx *a, const char *token, size_t len, time_t now,
                      auth_wait *w, auth_grant *out, tg_err *err)
{
    memset(out, 0, sizeof *out);
    if (len == 0) return tg_fail(err, 401, "WRONGPASS invalid or missing auth token");
    if (len > AUTH_TOKEN_MAX) return tg_fail(err, 401, "invalid token: too long");
    uint64_t h = hash_bytes(token, len) | 1;  /* never 0: 0 marks empty */
    char tail[TAIL];
    tail_of(token, len, tail);
    const auth_keyring *ring = __atomic_load_n(a->current, __ATOMIC_ACQUIRE);
    a->clock++;

    cache_entry *e = find(a, h, len, tail);
    if (e && e->ring != ring) { /* keys changed since: verify again */
        drop(a, e);
        e = NULL;
    }
    if (e) {
        uint64_t now_ms = clock_mono_ms();
        uint64_t used_before = auth_watch_touch(e->watch, now_ms);
        if ((long long)now > e->expires_at + a->leeway_s) {
            drop(a, e);
            return tg_fail(err, 401, "token expired");
        }
        int rc = now_ms < e->checked_ms + AUTH_RECHECK_MS
                     ? 0 : recheck(a, e, now, now_ms, used_before, err);
        if (rc < 0) return -1;
        if (rc == 0) {
            a->stats.hits++;
            metrics_add(MS_TOKEN_CACHE_HITS, 1);
            e->stamp = a->clock;
            fill_grant(a, e, out);
            return 0;
        }
    }

    a->stats.misses++;
    metrics_add(MS_TOKEN_CACHE_MISSES, 1);
    auth_claims c;
    if (auth_jwt_verify_ring(ring, token, len, now, &c, err)) return -1;
    if (!w) return lookup_now(a, h, len, tail, ring, &c, now, out, err);
    pending *p = a->inflight;
    while (p && !(p->hash == h && p->len == len && !memcmp(p->tail, tail, TAIL)))
        p = p->next_inflight;
    if (!p) {
        if (a->ninflight >= AUTH_INFLIGHT_MAX)
            return tg_fail(err, 503, "token store busy: too many lookups outstanding");
        p = submit(a, h, len, tail, ring, &c, false);
    }
    a->stats.waits++;
    w->lookup = p;
    w->next = p->waiters;
    p->waiters = w;
    return AUTH_PENDING;
}

void auth_ctx_stats(const auth_ctx *a, auth_stats *out)
{
    *out = a->stats;
}
