/* test_quota_one.c - quota_refresh_one (billing/quota.h): an engine of one
 * database (the control plane's usage report when the live engine lacks
 * it) loads that database alone, and reports it as the full engine does:
 * its counters and its tenant's cost (the tenant's other databases'
 * lines seeded). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "billing/quota.h"
#include "billing/quota_int.h"
#include "migrations/migrate.h"
#include "tests/unit/testhelp.h"

static char dir[] = "/tmp/tg-quota-one-XXXXXX";

/* 2026-11-10T00:00:00Z in ns. */
#define NOV10 (1794268800LL * NS_PER_S)

/* Tenant tn_a (databases db_a, db_b), with this month's rollups. */
static sqlite3 *fixture(void)
{
    tg_err err;
    char path[128], sql[1024];
    snprintf(path, sizeof path, "%s/state.db", dir);
    sqlite3 *db = migrate_open(path, &err);
    if (!db || migrate_apply(db, NULL, &err)) fprintf(stderr, "  migrate: %s\n", err.msg);
    long long min = NOV10 / NS_PER_S / 60;
    snprintf(sql, sizeof sql,
             "INSERT INTO tenants (id, name, created_at) VALUES ('tn_a','a',0);"
             "INSERT INTO databases (id, tenant_id, name, redis_url, db_index, created_at)"
             " VALUES ('db_a','tn_a','a','redis://x',1,0), ('db_b','tn_a','b','redis://x',2,0);"
             "INSERT INTO meter_rollups VALUES"
             " ('tn_a','db_a',%lld,0,'2026-11',10,700001,700001,12345678901,2222222222,0),"
             " ('tn_a','db_b',%lld,0,'2026-11',3,3333,3333,5,7,0);",
             min, min - 5);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fprintf(stderr, "  setup: %s\n", msg);
    sqlite3_free(msg);
    return db;
}

static quota_db *state(quota *q, const char *id)
{
    return (quota_db *)qmap_find(q, &q->dbs, id);
}

TEST(one_database_loaded_alone_reports_as_the_full_engine)
{
    sqlite3 *db = fixture();
    tg_err err;
    int64_t now = NOV10 + 3600 * NS_PER_S;
    quota *all = quota_new(), *one = quota_new();
    CHECK(quota_refresh(all, db, now, &err) == 0);
    CHECK(quota_refresh_one(one, db, "db_a", now, &err) == 0);
    CHECK(state(all, "db_a") && state(all, "db_b"));
    CHECK(state(one, "db_a") != NULL);
    CHECK(state(one, "db_b") == NULL);          /* not loaded */
    CHECK(state(one, "db_a") && state(one, "db_a")->daily == 700001);
    CHECK(state(one, "db_a") && state(all, "db_a") &&
          tenant_cost(state(one, "db_a")->tenant) == tenant_cost(state(all, "db_a")->tenant));
    buf a, b;
    buf_init(&a);
    buf_init(&b);
    CHECK(quota_usage_json(all, "db_a", now, &a, &err) == 0);
    CHECK(quota_usage_json(one, "db_a", now, &b, &err) == 0);
    CHECK(a.len == b.len && !memcmp(a.data, b.data, a.len));
    CHECK(quota_usage_json(one, "db_b", now, &b, &err) == -1 && err.status == 404);
    buf_release(&a);
    buf_release(&b);
    quota_free(all);
    quota_free(one);
    sqlite3_close(db);
}

TEST(unknown_database_loads_nothing)
{
    sqlite3 *db = fixture();
    tg_err err;
    quota *one = quota_new();
    CHECK(quota_refresh_one(one, db, "db_nope", NOV10, &err) == 0);
    CHECK(state(one, "db_a") == NULL);
    quota_free(one);
    sqlite3_close(db);
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    RUN(one_database_loaded_alone_reports_as_the_full_engine);
    char path[128];
    snprintf(path, sizeof path, "%s/state.db", dir);
    unlink(path);
    RUN(unknown_database_loads_nothing);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    TEST_MAIN_END();
}
