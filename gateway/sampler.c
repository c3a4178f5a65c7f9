/* sampler.c - see sampler.h. */
#include "gateway/sampler.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/clock.h"
#include "auth/tenancy.h"
#include "billing/limits.h"
#include "common/mem.h"
#include "gateway/redis/sizer.h"

struct sampler {
    quota *q;
    char *sqlite_path;
    int interval_s;
    sizer *sz;
    sqlite3 *db;                /* the thread's read connection; NULL: to open */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
};

/* Measures one database and reports it; errors logged. */
static void sample_one(sampler *s, const limits_row *row)
{
    tg_err err;
    tenancy_db_row place;
    if (tenancy_db_get(s->db, row->database_id, &place, &err)) {
        fprintf(stderr, "tollgate: data size of %s: %s\n", row->database_id, err.msg);
        return;
    }
    if (place.deleted) return;
    sizer_target t = {.database_id = row->database_id, .redis_url = place.redis_url,
                      .db_index = place.db_index, .key_prefix = place.key_prefix};
    int64_t bytes;
    if (sizer_measure(s->sz, &t, &bytes, &err)) {
        fprintf(stderr, "tollgate: data size of %s not measured (last kept): %s\n",
                row->database_id, err.msg);
        return;
    }
    quota_data_set(s->q, row->database_id, bytes, quota_now_ns());
}

/* One round: every live database whose effective data_bytes is a limit. */
static void sample_round(sampler *s)
{
    tg_err err;
    if (!s->db) {
        if (sqlite3_open_v2(s->sqlite_path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                            NULL) != SQLITE_OK) {
            fprintf(stderr, "tollgate: data sizes: cannot open %s\n", s->sqlite_path);
            sqlite3_close(s->db);
            s->db = NULL;
            return;
        }
        sqlite3_busy_timeout(s->db, 500);
    }
    limits_row *rows;
    int n;
    if (limits_load(s->db, (int64_t)time(NULL), NULL, &rows, &n, &err)) {
        fprintf(stderr, "tollgate: data sizes: %s\n", err.msg);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (rows[i].effective.v[LIMIT_DATA_BYTES] < 0) continue;
        pthread_mutex_lock(&s->lock);
        bool stop = s->stop;
        pthread_mutex_unlock(&s->lock);
        if (stop) break;
        sample_one(s, &rows[i]);
    }
    free(rows);
    sizer_round_end(s->sz);
}

static void *sampler_main(void *arg)
{
    sampler *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        pthread_mutex_unlock(&s->lock);
        sample_round(s);
        pthread_mutex_lock(&s->lock);
        struct timespec until;
        clock_deadline_in((uint64_t)s->interval_s * 1000, &until);
        while (!s->stop && pthread_cond_timedwait(&s->cond, &s->lock, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

sampler *sampler_start(quota *q, const char *sqlite_path, int interval_s, int timeout_ms,
                       tg_err *err)
{
    sampler *s = xcalloc(1, sizeof *s);
    s->q = q;
    s->sqlite_path = xstrdup(sqlite_path);
    s->interval_s = interval_s;
    s->sz = sizer_new(timeout_ms);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (pthread_create(&s->thread, NULL, sampler_main, s)) {
        tg_fail(err, 500, "data sizes: cannot start the sampler thread");
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        sizer_free(s->sz);
        free(s->sqlite_path);
        free(s);
        return NULL;
    }
    return s;
}

void sampler_stop(sampler *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    sqlite3_close(s->db);
    sizer_free(s->sz);
    free(s->sqlite_path);
    free(s);
}
