/* ready.c - see ready.h. */
#include "gateway/ready.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "auth/tenancy.h"
#include "billing/meter.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/redact.h"
#include "gateway/handlers/health.h"
#include "gateway/redis/redis_url.h"

#define READY_BACKENDS_MAX 64
#define READY_INTERVAL_MS 1000
#define SQLITE_WAIT_MS 250

struct ready_prober {
    const tg_config *cfg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    buf last;                 /* the last verdict's reasons, to log changes */
};

/* The state file can take a write. NULL, or why not (static text). */
static const char *sqlite_check(const char *path, char *why, size_t cap)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK && sqlite3_db_readonly(db, "main") == 1) rc = SQLITE_READONLY;
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, SQLITE_WAIT_MS);
        rc = sqlite3_exec(db, "BEGIN IMMEDIATE; ROLLBACK;", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK)
        snprintf(why, cap, "state file not writable: %s", sqlite3_errstr(rc));
    sqlite3_close(db);
    return rc == SQLITE_OK ? NULL : why;
}

typedef struct backends {
    char *urls[READY_BACKENDS_MAX];
    int n;
} backends;

static void add_backend(const char *url, void *arg)
{
    backends *b = arg;
    if (b->n < READY_BACKENDS_MAX) b->urls[b->n++] = xstrdup(url);
}

/* A PING answered, whatever the answer (no AUTH: reachability only). */
static bool backend_answers(const char *url, int timeout_ms)
{
    redis_url u;
    tg_err err;
    if (redis_url_parse(url, &u, &err)) return false;
    u.password[0] = '\0';
    redisContext *c = redis_url_connect(&u, timeout_ms, &err);
    if (!c) return false;
    redisReply *r = redisCommand(c, "PING");
    bool ok = r != NULL;
    if (r) freeReplyObject(r);
    redisFree(c);
    return ok;
}

/* One round: the reasons, NUL-separated, into out; returns how many. */
static int probe(ready_prober *p, buf *out)
{
    int n = 0;
    char why[160];
    if (sqlite_check(p->cfg->sqlite_path, why, sizeof why)) {
        buf_append(out, why, strlen(why) + 1);
        n++;
    }
    tg_err err;
    backends b = {.n = 0};
    tenancy *t = tenancy_open(p->cfg->sqlite_path, &err);
    if (!t || tenancy_each_backend(t, add_backend, &b, &err)) {
        snprintf(why, sizeof why, "state file unreadable");
        buf_append(out, why, strlen(why) + 1);
        n++;
    }
    tenancy_free(t);
    int down = 0;
    for (int i = 0; i < b.n; i++) {
        if (!backend_answers(b.urls[i], (int)p->cfg->redis_connect_timeout_ms)) {
            down++;
            if (log_enabled(LOG_DEBUG)) {
                char shown[256];
                log_at(LOG_DEBUG, "readyz: backend %s does not answer",
                       redact_url(b.urls[i], shown, sizeof shown));
            }
        }
        free(b.urls[i]);
    }
    if (down) {
        snprintf(why, sizeof why, "%d of %d backends unreachable", down, b.n);
        buf_append(out, why, strlen(why) + 1);
        n++;
    }
    if (p->cfg->metering) {
        meter_totals mt;
        meter_snapshot(&mt);
        if (mt.queued * 4 >= (uint64_t)p->cfg->meter_queue_events * 3) {
            snprintf(why, sizeof why, "metering backlogged: %llu events queued",
                     (unsigned long long)mt.queued);
            buf_append(out, why, strlen(why) + 1);
            n++;
        }
    }
    return n;
}

static void round_publish(ready_prober *p)
{
    buf out;
    buf_init(&out);
    int n = probe(p, &out);
    health_publish(out.data ? out.data : "", out.len, n);
    bool changed = out.len != p->last.len || (out.len && memcmp(out.data, p->last.data, out.len));
    if (changed) {
        if (!n) {
            log_at(LOG_INFO, "ready");
        } else {
            buf msg;
            buf_init(&msg);
            for (size_t i = 0; i < out.len; i++) buf_putc(&msg, out.data[i] ? out.data[i] : ';');
            buf_putc(&msg, '\0');
            log_at(LOG_WARN, "not ready: %s", msg.data);
            buf_release(&msg);
        }
    }
    buf_release(&p->last);
    p->last = out;
}

static void *prober_main(void *arg)
{
    ready_prober *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        pthread_mutex_unlock(&p->mu);
        round_publish(p);
        pthread_mutex_lock(&p->mu);
        struct timespec until;
        clock_deadline_in(READY_INTERVAL_MS, &until);
        while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &until) == 0) {}
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

ready_prober *ready_start(const tg_config *cfg, tg_err *err)
{
    ready_prober *p = xcalloc(1, sizeof *p);
    p->cfg = cfg;
    buf_init(&p->last);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);   /* clock_deadline_in: CLOCK_REALTIME */
    if (pthread_create(&p->thread, NULL, prober_main, p)) {
        tg_fail(err, 500, "readiness prober: cannot start a thread");
        buf_release(&p->last);
        free(p);
        return NULL;
    }
    return p;
}

void ready_stop(ready_prober *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    buf_release(&p->last);
    health_reset();
    free(p);
}
