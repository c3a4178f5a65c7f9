/* refresh.c - see refresh.h: the state-file reader thread of the token caches. */
#include "auth/refresh.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/mem.h"
#include "common/siphash.h"

#define CHUNK 32                 /* re-checks between two looks at the queue */

struct auth_watch {
    auth_watch *next;            /* hash chain */
    auth_claims claims;          /* exp LLONG_MAX: the row's expiry comes back */
    int refs;                    /* under mu */
    uint64_t used_ms;            /* atomic */
    uint64_t read_ms;            /* atomic load; written under mu */
    int status;                  /* under mu, with msg and expires_at */
    char msg[96];
    long long expires_at;
    bool server_shared;         /* the verdict's tenancy_grant.server_shared */
};

struct auth_refresher {
    auth_refresher *next_shared; /* the registry, under registry_mu */
    char *path;
    int users;                   /* references, under registry_mu */
    tenancy *store;              /* the thread's own */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    bool stop;
    auth_lookup *queue, *queue_tail;
    auth_watch **buckets;
    size_t nbuckets, nwatches;
    auth_watch **pass;           /* this pass's watches (a reference each) */
    size_t pass_n, pass_pos, pass_cap;
    uint64_t pass_start, next_pass;
    uint64_t last_ok_ms;         /* atomic: start of the last full pass */
};

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static auth_refresher *registry;

/* ==== Watches (under mu) ==== */

static size_t bucket_of(const auth_refresher *rf, const char *jti)
{
    return (size_t)hash_bytes(jti, strlen(jti)) & (rf->nbuckets - 1);
}

static void grow(auth_refresher *rf)
{
    size_t n = rf->nbuckets * 2;
    auth_watch **b = xcalloc(n, sizeof *b);
    for (size_t i = 0; i < rf->nbuckets; i++)
        for (auth_watch *w = rf->buckets[i], *next; w; w = next) {
            next = w->next;
            size_t j = (size_t)hash_bytes(w->claims.jti, strlen(w->claims.jti)) & (n - 1);
            w->next = b[j];
            b[j] = w;
        }
    free(rf->buckets);
    rf->buckets = b;
    rf->nbuckets = n;
}

static void set_verdict(auth_watch *w, const auth_verdict *v)
{
    if (v->read_ms <= __atomic_load_n(&w->read_ms, __ATOMIC_ACQUIRE)) return;
    w->status = v->status;
    snprintf(w->msg, sizeof w->msg, "%s", v->msg);
    w->expires_at = v->expires_at;
    w->server_shared = v->server_shared;
    __atomic_store_n(&w->read_ms, v->read_ms, __ATOMIC_RELEASE);
}

static void unref_locked(auth_refresher *rf, auth_watch *w)
{
    if (--w->refs > 0) return;
    for (auth_watch **p = &rf->buckets[bucket_of(rf, w->claims.jti)]; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    rf->nwatches--;
    free(w);
}

auth_watch *auth_watch_ref(auth_refresher *rf, const auth_claims *c, const auth_verdict *v)
{
    pthread_mutex_lock(&rf->mu);
    size_t b = bucket_of(rf, c->jti);
    auth_watch *w = rf->buckets[b];
    while (w && strcmp(w->claims.jti, c->jti)) w = w->next;
    if (!w) {
        w = xcalloc(1, sizeof *w);
        w->claims = *c;
        w->claims.exp = LLONG_MAX;
        w->next = rf->buckets[b];
        rf->buckets[b] = w;
        if (++rf->nwatches > rf->nbuckets) grow(rf);
    }
    w->refs++;
    set_verdict(w, v);
    __atomic_store_n(&w->used_ms, v->read_ms, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&rf->mu);
    return w;
}

void auth_watch_unref(auth_refresher *rf, auth_watch *w)
{
    if (!w) return;
    pthread_mutex_lock(&rf->mu);
    unref_locked(rf, w);
    pthread_mutex_unlock(&rf->mu);
}

uint64_t auth_watch_touch(auth_watch *w, uint64_t now_ms)
{
    return __atomic_exchange_n(&w->used_ms, now_ms, __ATOMIC_RELAXED);
}

bool auth_watch_newer(auth_refresher *rf, auth_watch *w, uint64_t since_ms, auth_verdict *v)
{
    if (__atomic_load_n(&w->read_ms, __ATOMIC_ACQUIRE) <= since_ms) return false;
    pthread_mutex_lock(&rf->mu);
    v->read_ms = w->read_ms;
    v->status = w->status;
    memcpy(v->msg, w->msg, sizeof v->msg);
    v->expires_at = w->expires_at;
    v->server_shared = w->server_shared;
    pthread_mutex_unlock(&rf->mu);
    return true;
}

bool auth_refresher_stalled(auth_refresher *rf, uint64_t now_ms)
{
    uint64_t ok = __atomic_load_n(&rf->last_ok_ms, __ATOMIC_ACQUIRE);
    return now_ms > ok + REFRESH_STALL_MS;
}

/* ==== The thread ==== */

void auth_refresher_submit(auth_refresher *rf, auth_lookup *lk)
{
    lk->next = NULL;
    pthread_mutex_lock(&rf->mu);
    if (rf->queue_tail) rf->queue_tail->next = lk;
    else rf->queue = lk;
    rf->queue_tail = lk;
    pthread_cond_signal(&rf->wake);
    pthread_mutex_unlock(&rf->mu);
}

static void run_lookup(auth_refresher *rf, auth_lookup *lk)
{
    lk->read_ms = clock_mono_ms();
    lk->rc = tenancy_check_token(rf->store, &lk->claims, &lk->grant, &lk->err);
}

/* Takes a reference on every watch used lately: this pass's work. */
static void collect_pass(auth_refresher *rf, uint64_t now)
{
    rf->pass_n = rf->pass_pos = 0;
    rf->pass_start = now;
    for (size_t i = 0; i < rf->nbuckets; i++)
        for (auth_watch *w = rf->buckets[i]; w; w = w->next) {
            if (__atomic_load_n(&w->used_ms, __ATOMIC_RELAXED) + REFRESH_IDLE_MS < now) continue;
            if (rf->pass_n == rf->pass_cap) {
                rf->pass_cap = rf->pass_cap ? rf->pass_cap * 2 : 64;
                rf->pass = xrealloc(rf->pass, rf->pass_cap * sizeof *rf->pass);
            }
            w->refs++;
            rf->pass[rf->pass_n++] = w;
        }
    if (rf->pass_n == 0) { /* nothing to read: the file is as good as read */
        __atomic_store_n(&rf->last_ok_ms, now, __ATOMIC_RELEASE);
        rf->next_pass = now + REFRESH_PASS_MS;
    }
}

/* Re-reads up to CHUNK watches of the pass, the lock released meanwhile.
 * Called and returns with mu held. */
static void pass_chunk(auth_refresher *rf)
{
    size_t from = rf->pass_pos, n = rf->pass_n - from;
    if (n > CHUNK) n = CHUNK;
    auth_verdict v[CHUNK];
    pthread_mutex_unlock(&rf->mu);
    size_t done = 0;
    bool unreadable = false;
    for (; done < n; done++) {
        auth_watch *w = rf->pass[from + done];  /* claims: fixed at creation */
        tenancy_grant g;
        tg_err err;
        v[done] = (auth_verdict){.read_ms = rf->pass_start};
        if (tenancy_check_token(rf->store, &w->claims, &g, &err) == 0) {
            v[done].expires_at = g.expires_at;
            v[done].server_shared = g.server_shared;
        } else if (err.status == 401) {
            v[done].status = 401;
            snprintf(v[done].msg, sizeof v[done].msg, "%.95s", err.msg);
        } else {
            unreadable = true;  /* locked or failing: try the pass later */
            break;
        }
    }
    pthread_mutex_lock(&rf->mu);
    for (size_t i = 0; i < done; i++) set_verdict(rf->pass[from + i], &v[i]);
    rf->pass_pos = from + done;
    if (!unreadable && rf->pass_pos < rf->pass_n) return;
    for (size_t i = from; i < rf->pass_n; i++) unref_locked(rf, rf->pass[i]);
    if (!unreadable) __atomic_store_n(&rf->last_ok_ms, rf->pass_start, __ATOMIC_RELEASE);
    rf->next_pass = (unreadable ? clock_mono_ms() : rf->pass_start) + REFRESH_PASS_MS;
    rf->pass_n = rf->pass_pos = 0;
}

static void wait_until(auth_refresher *rf, uint64_t mono_ms)
{
    uint64_t now = clock_mono_ms();
    if (mono_ms <= now) return;
    struct timespec ts;
    clock_deadline_in(mono_ms - now, &ts);
    pthread_cond_timedwait(&rf->wake, &rf->mu, &ts);
}

static void *refresher_main(void *arg)
{
    auth_refresher *rf = arg;
    pthread_mutex_lock(&rf->mu);
    while (!rf->stop) {
        if (rf->queue) { /* misses first: a request waits on each */
            auth_lookup *lk = rf->queue;
            rf->queue = lk->next;
            if (!rf->queue) rf->queue_tail = NULL;
            pthread_mutex_unlock(&rf->mu);
            run_lookup(rf, lk);
            lk->notify(lk);
            pthread_mutex_lock(&rf->mu);
            continue;
        }
        if (rf->pass_n) {
            pass_chunk(rf);
            continue;
        }
        uint64_t now = clock_mono_ms();
        if (now >= rf->next_pass) {
            collect_pass(rf, now);
            continue;
        }
        wait_until(rf, rf->next_pass);
    }
    for (size_t i = rf->pass_pos; i < rf->pass_n; i++) unref_locked(rf, rf->pass[i]);
    rf->pass_n = 0;
    pthread_mutex_unlock(&rf->mu);
    return NULL;
}

/* ==== Shared per path ==== */

static auth_refresher *refresher_new(const char *path, tg_err *err)
{
    tenancy *store = tenancy_open(path, err);
    if (!store) return NULL;
    auth_refresher *rf = xcalloc(1, sizeof *rf);
    rf->path = xstrdup(path);
    rf->store = store;
    rf->nbuckets = 64;
    rf->buckets = xcalloc(rf->nbuckets, sizeof *rf->buckets);
    rf->last_ok_ms = clock_mono_ms();
    rf->next_pass = rf->last_ok_ms + REFRESH_PASS_MS;
    pthread_mutex_init(&rf->mu, NULL);
    pthread_cond_init(&rf->wake, NULL);
    if (pthread_create(&rf->thread, NULL, refresher_main, rf)) {
        tg_fail(err, 503, "cannot start the token refresher thread");
        tenancy_free(store);
        free(rf->buckets);
        free(rf->path);
        free(rf);
        return NULL;
    }
    return rf;
}

static void refresher_free(auth_refresher *rf)
{
    pthread_mutex_lock(&rf->mu);
    rf->stop = true;
    pthread_cond_signal(&rf->wake);
    pthread_mutex_unlock(&rf->mu);
    pthread_join(rf->thread, NULL);
    /* Every cache has gone (they hold the references): no lookup is queued
     * and no watch is left. */
    for (size_t i = 0; i < rf->nbuckets; i++)
        for (auth_watch *w = rf->buckets[i], *next; w; w = next) {
            next = w->next;
            free(w);
        }
    free(rf->buckets);
    free(rf->pass);
    tenancy_free(rf->store);
    pthread_mutex_destroy(&rf->mu);
    pthread_cond_destroy(&rf->wake);
    free(rf->path);
    free(rf);
}

auth_refresher *auth_refresher_get(const char *sqlite_path, tg_err *err)
{
    pthread_mutex_lock(&registry_mu);
    auth_refresher *rf = registry;
    while (rf && strcmp(rf->path, sqlite_path)) rf = rf->next_shared;
    if (!rf && (rf = refresher_new(sqlite_path, err))) {
        rf->next_shared = registry;
        registry = rf;
    }
    if (rf) rf->users++;
    pthread_mutex_unlock(&registry_mu);
    return rf;
}

void auth_refresher_put(auth_refresher *rf)
{
    if (!rf) return;
    pthread_mutex_lock(&registry_mu);
    bool last = --rf->users == 0;
    if (last)
        for (auth_refresher **p = &registry; *p; p = &(*p)->next_shared)
            if (*p == rf) {
                *p = rf->next_shared;
                break;
            }
    pthread_mutex_unlock(&registry_mu);
    if (last) refresher_free(rf);
}
