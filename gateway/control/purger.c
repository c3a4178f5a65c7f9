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
};

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
    if (err.status == 404 || err.status == 409) return true;   /* purged, or live again */
    fprintf(stderr, "tollgate: database %s: data not removed (try %d of %d): %s\n", g->id,
            g->tries, PURGER_TRIES, err.msg);
    return false;
}

static void *purger_main(void *arg)
{
    purger *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        purge **link = NULL, *g = earliest(p, &link);
        if (!g) {
            if (p->stopping) break;
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        uint64_t now = clock_mono_ms();
        /* Stopping: a retry goes now (a first try still waits its due). */
        if (g->due_ms > now && !(p->stopping && g->tries)) {
            struct timespec ts;
            clock_deadline_in(g->due_ms - now, &ts);
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
            continue;
        }
        *link = g->next;
        pthread_mutex_unlock(&p->mu);
        g->tries++;
        bool done = run_one(p, g);
        pthread_mutex_lock(&p->mu);
        if (done || g->tries >= PURGER_TRIES || p->stopping) {
            if (!done)
                fprintf(stderr, "tollgate: database %s: its data stays until a DELETE of it "
                        "is repeated\n", g->id);
            free(g);
            p->n--;
        } else {
            g->due_ms = clock_mono_ms() + PURGER_RETRY_MS;
            g->next = p->queue;
            p->queue = g;
        }
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
    purge *g = NULL;
    for (purge *it = p->queue; it; it = it->next)
        if (!strcmp(it->id, database_id)) g = it;
    if (g) {   /* queued once, at its first due time (the mark came before it) */
        g->tries = 0;
    } else {
        g = xcalloc(1, sizeof *g);
        snprintf(g->id, sizeof g->id, "%s", database_id);
        g->due_ms = due;
        g->next = p->queue;
        p->queue = g;
        p->n++;
    }
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
