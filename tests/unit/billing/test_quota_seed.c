/* test_quota_seed.c - billing/quota.h: a database the engine has not loaded
 * yet (created a moment ago) is counted exactly: requests before its load,
 * in flight across it, or racing it on other threads; the seed holds only
 * the rollups of before the engine's first refresh (never what the meter
 * writer committed of this engine's own requests); its limits apply to
 * the counts from before its load. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "billing/limits.h"
#include "billing/period.h"
#include "billing/quota.h"
#include "billing/quota_int.h"
#include "billing/usage.h"
#include "migrations/migrate.h"
#include "tests/unit/testhelp.h"

static char dir[] = "/tmp/tg-quota-seed-XXXXXX";
static int nfile;

/* 2026-11-10T00:00:00Z in ns. */
#define NOV10 (1794268800LL * NS_PER_S)
#define MINUTE (NOV10 / NS_PER_S / 60)

static int64_t prices_keep[PRICE_COUNT] = {LIMIT_KEEP, LIMIT_KEEP, LIMIT_KEEP, LIMIT_KEEP,
                                           LIMIT_KEEP, LIMIT_KEEP, LIMIT_KEEP, LIMIT_KEEP,
                                           LIMIT_KEEP, LIMIT_KEEP};

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fprintf(stderr, "  sql: %s\n", msg);
    sqlite3_free(msg);
}

/* Tenant tn_a with db_a, on plan `lim` (daily_commands = daily). */
static sqlite3 *state_file(int64_t daily)
{
    tg_err err;
    char path[128];
    snprintf(path, sizeof path, "%s/state-%d.db", dir, ++nfile);
    sqlite3 *db = migrate_open(path, &err);
    if (!db || migrate_apply(db, NULL, &err)) fprintf(stderr, "  migrate: %s\n", err.msg);
    exec(db, "INSERT INTO tenants (id, name, created_at) VALUES ('tn_a','a',0);"
             "INSERT INTO databases (id, tenant_id, name, redis_url, db_index, created_at)"
             " VALUES ('db_a','tn_a','a','redis://x',1,0);");
    limit_set l;
    for (int i = 0; i < LIMIT_COUNT; i++) l.v[i] = LIMIT_UNLIMITED;
    l.v[LIMIT_DAILY_COMMANDS] = daily;
    if (limits_plan_create(db, "lim", "Limited", NULL, prices_keep, &l, &err) ||
        usage_plan_assign(db, "tn_a", "lim", 0, &err))
        fprintf(stderr, "  plan: %s\n", err.msg);
    return db;
}

/* Creates database id of tn_a, as the CLI or the admin API would. */
static void create_db(sqlite3 *db, const char *id, int index)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO databases (id, tenant_id, name, redis_url, db_index, created_at)"
             " VALUES ('%s','tn_a','%s','redis://x',%d,0);", id, id, index);
    exec(db, sql);
}

/* The meter writer's rollup of n requests of one command each, ok. */
static void rollup(sqlite3 *db, const char *id, int n)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO meter_rollups VALUES ('tn_a','%s',%lld,0,'2026-11',%d,%d,%d,%d,%d,0);",
             id, (long long)MINUTE, n, n, n, n * 10, n * 5);
    exec(db, sql);
}

static quota *loaded(sqlite3 *db, int64_t now)
{
    quota *q = quota_new();
    tg_err err;
    if (quota_refresh(q, db, now, &err)) fprintf(stderr, "  refresh: %s\n", err.msg);
    return q;
}

static bool check(quota *q, const char *id, int64_t cmds, quota_verdict *v)
{
    quota_ask a = {.database_id = id, .commands = cmds, .bytes_in = 10, .now_ns = NOV10};
    return quota_check(q, &a, v);
}

static void settle(quota *q, const char *id, quota_verdict *v)
{
    quota_usage u = {.outcome = 0, .billable_commands = v->reserved, .bytes_in = 10,
                     .bytes_out = 5, .now_ns = NOV10};
    quota_record(q, id, v, &u);
    quota_leave(v);
}

/* The refresher's wake-up flag (read as the refresher does). */
static bool kicked(quota *q)
{
    pthread_mutex_lock(&q->stop_lock);
    bool k = q->kick;
    pthread_mutex_unlock(&q->stop_lock);
    return k;
}

static quota_db *state(quota *q, const char *id)
{
    return (quota_db *)qmap_find(q, &q->dbs, id);
}

/* The case: 10 requests right after the database is created, the
 * writer having committed 3 of them when the refresher loads it, 2 still
 * in flight: the engine counts 10, not the 3 the old seed read. */
TEST(requests_before_the_load_are_counted_exactly)
{
    sqlite3 *db = state_file(LIMIT_UNLIMITED);
    quota *q = loaded(db, NOV10);
    create_db(db, "db_new", 2);
    CHECK(!kicked(q));
    quota_verdict v[10];
    for (int i = 0; i < 10; i++) CHECK(check(q, "db_new", 1, &v[i]));
    CHECK(v[0].db == NULL && v[0].pending != NULL);
    CHECK(kicked(q));                         /* the refresher is woken */
    for (int i = 0; i < 8; i++) settle(q, "db_new", &v[i]);
    rollup(db, "db_new", 3);                /* what the writer committed so far */
    tg_err err;
    CHECK(quota_refresh(q, db, NOV10, &err) == 0);
    quota_db *d = state(q, "db_new");
    CHECK(d != NULL);
    if (!d) goto out;
    CHECK(d->daily == 10 && d->monthly == 10);
    for (int i = 8; i < 10; i++) settle(q, "db_new", &v[i]);  /* in flight across the load */
    CHECK(d->daily == 10 && d->monthly == 10);
    CHECK(d->bq[BQ_COMMANDS] == 10 && d->bq[BQ_REQUESTS] == 10);
    CHECK(d->bq[BQ_BYTES_IN] == 100 && d->bq[BQ_BYTES_OUT] == 50);
    CHECK(d->bandwidth == 150);
    CHECK(d->tenant->cur_cmd_q == 10);
    /* Later requests: counted on the state, once. */
    quota_verdict w;
    CHECK(check(q, "db_new", 2, &w) && w.db == d);
    settle(q, "db_new", &w);
    CHECK(d->daily == 12 && d->bq[BQ_REQUESTS] == 11);
    buf out;
    buf_init(&out);
    CHECK(quota_usage_json(q, "db_new", NOV10, &out, &err) == 0);
    buf_putc(&out, '\0');
    CHECK(strstr(out.data, "\"daily_commands\":{\"limit\":null,\"used\":12,") != NULL);
    buf_release(&out);
out:
    quota_free(q);
    sqlite3_close(db);
}

/* The daily cap holds against what was counted before the load. */
TEST(limits_apply_to_the_counts_from_before_the_load)
{
    sqlite3 *db = state_file(10);
    quota *q = loaded(db, NOV10);
    create_db(db, "db_new", 2);
    quota_verdict v;
    for (int i = 0; i < 4; i++) {   /* unlimited until loaded: 12 > 10 */
        CHECK(check(q, "db_new", 3, &v));
        settle(q, "db_new", &v);
    }
    tg_err err;
    CHECK(quota_refresh(q, db, NOV10, &err) == 0);
    CHECK(!check(q, "db_new", 1, &v) && v.refused == QUOTA_DAILY);
    CHECK_STR(v.error, "ERR max daily request limit exceeded. Limit: 10, Usage: 13");
    quota_free(q);
    sqlite3_close(db);
}

/* The seed is the rollups of before the first refresh: a database loaded
 * later gets those (its earlier processes' events), and none of what was
 * committed since (this engine counted it). */
TEST(seed_is_the_rollups_before_the_first_refresh)
{
    sqlite3 *db = state_file(LIMIT_UNLIMITED);
    rollup(db, "db_old", 7);        /* an earlier process's, db_old not live then */
    rollup(db, "db_a", 4);
    quota *q = loaded(db, NOV10);
    CHECK(state(q, "db_a") && state(q, "db_a")->daily == 4);
    quota_verdict v;
    for (int i = 0; i < 5; i++) {
        CHECK(check(q, "db_old", 1, &v));
        settle(q, "db_old", &v);
    }
    exec(db, "DELETE FROM meter_rollups WHERE database_id = 'db_old';");
    rollup(db, "db_old", 7 + 5);    /* the writer committed those 5 too */
    create_db(db, "db_old", 3);
    tg_err err;
    CHECK(quota_refresh(q, db, NOV10, &err) == 0);
    quota_db *d = state(q, "db_old");
    CHECK(d && d->daily == 12 && d->monthly == 12 && d->bq[BQ_COMMANDS] == 12);
    CHECK(d && d->bq[BQ_REQUESTS] == 12 && d->bandwidth == 7 * 15 + 5 * 15);
    quota_free(q);
    sqlite3_close(db);
}

typedef struct racer {
    quota *q;
    int n;
} racer;

static void *racer_main(void *arg)
{
    racer *r = arg;
    for (int i = 0; i < r->n; i++) {
        quota_verdict v;
        if (check(r->q, "db_new", 1, &v)) settle(r->q, "db_new", &v);
    }
    return NULL;
}

/* Two threads hammer the new database while the refresher loads it: not
 * one request is lost or counted twice. */
TEST(racing_the_load_counts_exact)
{
    for (int round = 0; round < 5; round++) {
        sqlite3 *db = state_file(LIMIT_UNLIMITED);
        quota *q = loaded(db, NOV10);
        create_db(db, "db_new", 2);
        racer r = {q, 50000};
        pthread_t a, b;
        pthread_create(&a, NULL, racer_main, &r);
        pthread_create(&b, NULL, racer_main, &r);
        tg_err err;
        while (!kicked(q)) usleep(10);    /* the first request came */
        CHECK(quota_refresh(q, db, NOV10, &err) == 0);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        quota_db *d = state(q, "db_new");
        CHECK(d && d->daily == 100000 && d->monthly == 100000);
        CHECK(d && d->bq[BQ_REQUESTS] == 100000 && d->bandwidth == 100000 * 15);
        CHECK(d && d->tenant->cur_cmd_q == 100000);
        quota_free(q);
        sqlite3_close(db);
    }
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    RUN(requests_before_the_load_are_counted_exactly);
    RUN(limits_apply_to_the_counts_from_before_the_load);
    RUN(seed_is_the_rollups_before_the_first_refresh);
    RUN(racing_the_load_counts_exact);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    TEST_MAIN_END();
}
