/* purger.c - see purger.h. */
#include "gateway/control/purger.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/tenancy.h"
#include "common/clock.h"
#include "common/mem.h"
#include "gateway/control/store.h"

typedef struct purge {
    struct purge *next;
    char id[AUTH_ID_MAX];
    uint64_t due_ms;            /* clock_mono_ms */
    int tries;
    bool backoff;               /* failed PURGER_TRIES times: due much later */
} purge;

struct purger {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    purge *queue;               /* unordered; small */
    int n;
    bool stopping;
    pthread_t tid;
    sqlite3 *db;
    int tmo_ms;
    uint64_t rescan_ms;         /* clock_mono_ms of the next rescan; 0: now */
};

/* Queues database_id due at due_ms (mu held); one queued already stays
 * queued once. A DELETE (again) keeps its first due time, so repeating
 * it does not put the purge off, gives it its tries back and ends a
 * backoff. A rescan (not again) leaves it alone. (A rescan's due time,
 * 2 s past the mark's second, is never before this node's own schedule,
 * 1.3 s past the mark.) */
static void enqueue(purger *p, const char *database_id, uint64_t due_ms, bool again)
{
    for (purge *it = p->queue; it; it = it->next)
        if (!strcmp(it->id, database_id)) {
            if (again) {
                if (it->backoff) it->due_ms = due_ms;
                it->backoff = false;
                it->tries = 0;
            }
            return;
        }
    purge *g = xcalloc(1, sizeof *g);
    snprintf(g->id, sizeof g->id, "%s", database_id);
    g->due_ms = due_ms;
    g->next = p->queue;
    p->queue = g;
    p->n++;
}

/* Every database deleted and not purged, read off the lock (only this
 * thread uses p->db), then queued, each due STORE_PURGE_DELAY_MS after
 * its deleted_at. A read that fails is logged; the next rescan tries. */
static void rescan(purger *p)
{
    typedef struct { char id[AUTH_ID_MAX]; uint64_t due_ms; } found;
    found *f = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(p->db, "SELECT id, deleted_at FROM databases"
                                " WHERE deleted_at IS NOT NULL AND purged_at IS NULL",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        uint64_t now_mono = clock_mono_ms(), now_wall = clock_wall_ms();
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *id = (const char *)sqlite3_column_text(st, 0);
            if (!id) continue;
            /* deleted_at is in whole seconds (the mark came up to 1 s
             * after it), and another node's clock may be ahead by some:
             * 2 s more than the caches' recheck needs. */
            uint64_t due = ((uint64_t)sqlite3_column_int64(st, 1) + 2) * 1000 +
                           STORE_PURGE_DELAY_MS;
            if (n == cap) f = xrealloc(f, (cap = cap ? cap * 2 : 8) * sizeof *f);
            snprintf(f[n].id, sizeof f[n].id, "%s", id);
            f[n++].due_ms = now_mono + (due > now_wall ? due - now_wall : 0);
        }
        if (rc == SQLITE_DONE) rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK)
        fprintf(stderr, "tollgate: purger: cannot read the deleted databases: %s\n",
                sqlite3_errmsg(p->db));
    sqlite3_finalize(st);
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < n; i++) enqueue(p, f[i].id, f[i].due_ms, false);
    pthread_mutex_unlock(&p->mu);
    free(f);
}

/* The earliest purge (mu held), or NULL. */
static purge *earliest(purger *p, purge ***link)
{
    purge *best = NULL;
    for (purge **l = &p->queue; *l; l = &(*l)->next)
        if (!best || (*l)->due_ms < best->due_ms) {
            best = *l;
            *link = l;
        }
    return best;
}

/* One purge, off the lock. true: done (or nothing left to do). */
static bool run_one(purger *p, purge *g)
{
    tg_err err;
    if (!store_db_purge(p->db, g->id, p->tmo_ms, &err)) return true;
    /* Purged, live again, or being purged by another process (whose
     * claim, if it dies, goes stale and a rescan here takes it over). */
    if (err.status == 404 || err.status == 409 || err.status == 423) return true;
    fprintf(stderr, "tollgate: database %s: data not removed (try %d of %d): %s\n", g->id,
            g->tries, PURGER_TRIES, err.msg);
    return false;
}

/* Waits on cv until until_ms (clock_mono_ms), or a signal (mu held). */
static void wait_until(purger *p, uint64_t until_ms, uint64_t now)
{
    struct timespec ts;
    clock_deadline_in(until_ms > now ? until_ms - now : 0, &ts);
    pthread_cond_timedwait(&p->cv, &p->mu, &ts);
}

static void *purger_main(void *arg)
{
    purger *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        uint64_t now = clock_mono_ms();
        if (!p->stopping && now >= p->rescan_ms) {
            p->rescan_ms = now + PURGER_RESCAN_MS;
            pthread_mutex_unlock(&p->mu);
            rescan(p);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        purge **link = NULL, *g = earliest(p, &link);
        if (!g) {
            if (p->stopping) break;
            wait_until(p, p->rescan_ms, now);
            continue;
        }
        if (p->stopping && g->backoff) {
            /* Backing off: not worth holding the stop; the next start's
             * rescan queues it again. */
            *link = g->next;
            free(g);
            p->n--;
            continue;
        }
        /* Stopping: a retry goes now (a first try still waits its due). */
        if (g->due_ms > now && !(p->stopping && g->tries)) {
            wait_until(p, p->stopping || g->due_ms < p->rescan_ms ? g->due_ms : p->rescan_ms,
                       now);
            continue;
        }
        *link = g->next;
        pthread_mutex_unlock(&p->mu);
        g->tries++;
        bool done = run_one(p, g);
        pthread_mutex_lock(&p->mu);
        if (done || p->stopping) {
            if (!done)
                fprintf(stderr, "tollgate: database %s: its data stays until the next start "
                        "tries again\n", g->id);
            free(g);
            p->n--;
            continue;
        }
        g->backoff = g->tries >= PURGER_TRIES;
        if (g->backoff) {
            fprintf(stderr, "tollgate: database %s: data not removed after %d tries; trying "
                    "again in %d minutes\n", g->id, g->tries, PURGER_BACKOFF_MS / 60000);
            g->tries = 0;
        }
        g->due_ms = clock_mono_ms() + (uint64_t)(g->backoff ? PURGER_BACKOFF_MS : PURGER_RETRY_MS);
        g->next = p->queue;
        p->queue = g;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

purger *purger_start(const char *sqlite_path, int connect_timeout_ms, tg_err *err)
{
    purger *p = xcalloc(1, sizeof *p);
    if (sqlite3_open_v2(sqlite_path, &p->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        tg_fail(err, 500, "purger: %s: %s", sqlite_path,
                p->db ? sqlite3_errmsg(p->db) : "cannot open");
        sqlite3_close(p->db);
        free(p);
        return NULL;
    }
    sqlite3_busy_timeout(p->db, 5000);
    p->tmo_ms = connect_timeout_ms;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    int e = pthread_create(&p->tid, NULL, purger_main, p);
    if (e) {
        tg_fail(err, 500, "purger: pthread_create: %s", strerror(e));
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        sqlite3_close(p->db);
        free(p);
        return NULL;
    }
    return p;
}

void purger_schedule(purger *p, const char *database_id, int delay_ms)
{
    uint64_t due = clock_mono_ms() + (uint64_t)(delay_ms > 0 ? delay_ms : 0);
    pthread_mutex_lock(&p->mu);
    enqueue(p, database_id, due, true);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int purger_pending(purger *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->n;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void purger_stop(purger *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->tid, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    sqlite3_close(p->db);
    free(p);
}
