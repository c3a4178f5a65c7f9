/* quota_bench.c - the cost of the quota decision, for `make bench`.
 *
 *   build/bench/quota_bench [DECISIONS]
 *
 * On a throwaway state file: 100 tenants with 10 databases each on a plan
 * with every limit set (commands and requests per second with bursts,
 * daily, monthly, bandwidth, sizes, concurrency, data size) and a budget,
 * so every check runs every limit. Four figures, ns per request:
 *   check   quota_check + quota_leave (the request path's decision);
 *   full    check + quota_record (the accounting after the response);
 *   2 threads  the full cycle from two threads on different databases;
 *   one database  two threads on one database (both workers on its locks),
 *           settled at once (quota_record) and per worker (quota_local).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "billing/limits.h"
#include "billing/quota.h"
#include "common/clock.h"
#include "migrations/migrate.h"

#define TENANTS 100
#define DBS 10

static char ids[TENANTS * DBS][32];
static long n_decisions = 2000000;

static sqlite3 *setup(const char *path)
{
    tg_err err;
    sqlite3 *db = migrate_open(path, &err);
    if (!db || migrate_apply(db, NULL, &err)) {
        fprintf(stderr, "quota_bench: %s\n", err.msg);
        exit(1);
    }
    int64_t prices[PRICE_COUNT];
    for (int i = 0; i < PRICE_COUNT; i++) prices[i] = LIMIT_KEEP;
    limit_set l;
    for (int i = 0; i < LIMIT_COUNT; i++) l.v[i] = 1000000000;   /* set, never reached */
    if (limits_plan_create(db, "all", "All limits", NULL, prices, &l, &err)) {
        fprintf(stderr, "quota_bench: %s\n", err.msg);
        exit(1);
    }
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (int t = 0; t < TENANTS; t++) {
        char sql[256];
        snprintf(sql, sizeof sql, "INSERT INTO tenants (id, name, created_at,"
                 " monthly_budget_micros) VALUES ('tn_%d','t',0,1000000000000);"
                 "INSERT INTO plan_assignments VALUES ('tn_%d','all',0,0);", t, t);
        sqlite3_exec(db, sql, NULL, NULL, NULL);
        for (int d = 0; d < DBS; d++) {
            snprintf(ids[t * DBS + d], sizeof ids[0], "db_%d_%d", t, d);
            snprintf(sql, sizeof sql, "INSERT INTO databases (id, tenant_id, name, redis_url,"
                     " db_index, created_at) VALUES ('%s','tn_%d','%d','redis://x',%d,0)",
                     ids[t * DBS + d], t, d, t * DBS + d);
            sqlite3_exec(db, sql, NULL, NULL, NULL);
        }
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    return db;
}

typedef struct run {
    quota *q;
    int first;          /* databases first, first + 2, ... */
    bool record;
    long n;
    bool local;         /* settle through a quota_local, flushed every 32 */
    bool one;           /* every request on database 0 (the workers' worst case) */
} run;

static void *cycle(void *arg)
{
    run *r = arg;
    int64_t now = quota_now_ns();
    quota_verdict v;
    quota_local *l = r->local ? quota_local_new(r->q) : NULL;
    for (long i = 0; i < r->n; i++) {
        int k = r->one ? 0 : (int)((r->first + 2 * i) % (TENANTS * DBS));
        quota_ask a = {.database_id = ids[k], .commands = 1 + i % 4, .bytes_in = 60,
                       .largest_record = 10, .writes = i & 1, .now_ns = now + i * 1000};
        quota_check(r->q, &a, &v);
        if (r->record) {
            quota_usage u = {.outcome = 0, .billable_commands = a.commands, .bytes_in = 60,
                             .bytes_out = 20, .now_ns = a.now_ns};
            if (l) quota_record_local(l, ids[k], &v, &u);
            else quota_record(r->q, ids[k], &v, &u);
            if (l && i % 32 == 31) quota_local_flush(l);
        }
        quota_leave(&v);
    }
    quota_local_free(l);
    return NULL;
}

static double timed_with(quota *q, bool record, int threads, bool local, bool one)
{
    run r[2] = {{q, 0, record, n_decisions / threads, local, one},
                {q, 1, record, n_decisions / threads, local, one}};
    pthread_t th[2];
    uint64_t t0 = clock_mono_ns();
    for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, cycle, &r[i]);
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    return (double)(clock_mono_ns() - t0) / (double)(n_decisions / threads);
}

static double timed(quota *q, bool record, int threads)
{
    return timed_with(q, record, threads, false, false);
}

int main(int argc, char **argv)
{
    if (argc > 1) n_decisions = atol(argv[1]);
    char dir[] = "/tmp/tg-quota-bench-XXXXXX", path[128];
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/state.db", dir);
    sqlite3 *db = setup(path);
    quota *q = quota_new();
    tg_err err;
    if (quota_refresh(q, db, quota_now_ns(), &err)) {
        fprintf(stderr, "quota_bench: %s\n", err.msg);
        return 1;
    }
    timed(q, true, 1);   /* warm up */
    printf("quota: %d databases, every limit set, %ld requests per figure\n",
           TENANTS * DBS, n_decisions);
    printf("  check + leave           %6.1f ns/request\n", timed(q, false, 1));
    printf("  check + record + leave  %6.1f ns/request\n", timed(q, true, 1));
    printf("  the same, 2 threads     %6.1f ns/request (wall time per thread's request)\n",
           timed(q, true, 2));
    printf("  one database, 2 threads: settled at once %6.1f ns/request, per worker"
           " (flushed every 32) %6.1f\n", timed_with(q, true, 2, false, true),
           timed_with(q, true, 2, true, true));
    quota_free(q);
    sqlite3_close(db);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) ? 1 : 0;
}
