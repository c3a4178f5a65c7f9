/* test_purger.c - gateway/control/purger.h: a purge waits for its due
 * time, is queued once however often scheduled, never touches a database
 * that is not deleted, and stop runs what is queued. (A deleted database's
 * data removal on a real backend: tests/e2e/test_control_plane.sh.) */
#include <stdlib.h>
#include <unistd.h>

#include "auth/tenancy.h"
#include "common/clock.h"
#include "gateway/control/purger.h"
#include "gateway/control/store.h"
#include "tests/unit/fixtures/state.h"
#include "tests/unit/testhelp.h"

#define DB_ROW "INSERT INTO databases (id, tenant_id, name, redis_url, db_index, created_at"

static char path[256];

/* A fresh state file (its path in path) with tenant tn_a and its live
 * database db_live on an unreachable Redis, logical DB 1, then more (SQL;
 * NULL for none): its open connection. */
static sqlite3 *fixture(const char *more)
{
    char seed[1024];
    snprintf(seed, sizeof seed,
             "INSERT INTO tenants (id, name, created_at) VALUES ('tn_a','a',0);"
             DB_ROW ") VALUES ('db_live','tn_a','a','redis://127.0.0.1:1',1,0);%s",
             more ? more : "");
    sqlite3 *db = fx_state_open(seed);
    snprintf(path, sizeof path, "%s", fx_path);
    return db;
}

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fprintf(stderr, "  %s\n", msg);
    sqlite3_free(msg);
}

/* 1 when id's data was purged, 0 when not, -1 when there is no such row. */
static int purged(const char *id)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT purged_at IS NOT NULL FROM databases WHERE id = '%s'", id);
    return (int)fx_query_int(path, sql);
}

TEST(queued_once_waits_then_leaves_a_live_database_alone)
{
    sqlite3 *db = fixture(NULL);
    tg_err err;
    purger *p = purger_start(path, 100, &err);
    CHECK(p != NULL);
    if (!p) return;
    purger_schedule(p, "db_live", 2000);
    purger_schedule(p, "db_live", 0);          /* already queued: kept once */
    purger_schedule(p, "db_unknown", 2000);
    CHECK(purger_pending(p) == 2);
    usleep(50 * 1000);
    CHECK(purger_pending(p) == 2);             /* not due yet */
    purger_stop(p);                            /* ... but runs them before stopping */
    CHECK(purged("db_live") == 0);             /* not deleted: untouched */
    sqlite3_close(db);
}

TEST(due_purge_of_a_gone_database_is_dropped)
{
    sqlite3_close(fixture(NULL));
    tg_err err;
    purger *p = purger_start(path, 100, &err);
    CHECK(p != NULL);
    if (!p) return;
    purger_schedule(p, "db_unknown", 0);
    for (int i = 0; i < 5000 && purger_pending(p); i++) usleep(1000);
    CHECK(purger_pending(p) == 0);
    purger_stop(p);
}

/* The state file is the record: a database marked deleted and not purged
 * (a crash after the mark, another node's DELETE) is queued at start
 * without any purger_schedule; live and purged ones are not. */
TEST(start_queues_deleted_unpurged_databases)
{
    sqlite3 *db = fixture(DB_ROW ", deleted_at) VALUES ('db_crash','tn_a','c',"
                          "'redis://127.0.0.1:1',2,0, strftime('%s','now') - 60);"
                          DB_ROW ", deleted_at, purged_at) VALUES ('db_done','tn_a','d',"
                          "'redis://127.0.0.1:1',3,0,1,2);");
    tg_err err;
    purger *p = purger_start(path, 100, &err);
    CHECK(p != NULL);
    if (!p) return;
    int n = 0;
    for (int i = 0; i < 2000 && !(n = purger_pending(p)); i++) usleep(1000);
    CHECK(n == 1);      /* db_crash; its backend is unreachable: retried */
    purger_stop(p);     /* the retry runs now, fails, is left to the next start */
    CHECK(purged("db_crash") == 0);
    sqlite3_close(db);
}

/* One process at a time purges a database: a second claim is a 423 until
 * the first gives it up or its claim goes stale. */
TEST(purge_claims_exclude_each_other)
{
    sqlite3 *db = fixture(DB_ROW ", deleted_at) VALUES ('db_cl','tn_a','cl',"
                          "'redis://127.0.0.1:1',4,0,1)");
    tg_err err;
    CHECK(tenancy_db_purge_claim(db, "db_cl", &err) == 0);
    CHECK(tenancy_db_purge_claim(db, "db_cl", &err) == -1 && err.status == 423);
    CHECK(store_db_purge(db, "db_cl", 100, &err) == -1 && err.status == 423);
    tenancy_db_purge_release(db, "db_cl");
    CHECK(tenancy_db_purge_claim(db, "db_cl", &err) == 0);
    exec(db, "UPDATE databases SET purge_claimed_at = strftime('%s','now') - 601"
             " WHERE id = 'db_cl'");
    CHECK(tenancy_db_purge_claim(db, "db_cl", &err) == 0);   /* stale: taken over */
    CHECK(tenancy_db_purge_claim(db, "db_live", &err) == -1); /* not deleted */
    /* A failed flush (unreachable backend) gives the claim back. */
    tenancy_db_purge_release(db, "db_cl");
    CHECK(store_db_purge(db, "db_cl", 100, &err) == -1 && err.status == 503);
    CHECK(tenancy_db_purge_claim(db, "db_cl", &err) == 0);
    sqlite3_close(db);
}

/* A database deleted before purging existed gave its slot up at once; the
 * live database now there must not be flushed: marked purged, backend
 * untouched (it is unreachable here: a flush would have been a 503). */
TEST(purge_never_flushes_a_live_databases_slot)
{
    sqlite3 *db = fixture(DB_ROW ", deleted_at) VALUES ('db_old','tn_a','old',"
                          "'redis://localhost:1/',1,0,1)");
    tg_err err;
    CHECK(store_db_purge(db, "db_old", 100, &err) == 0);   /* db_live holds DB 1 */
    CHECK(purged("db_old") == 1);
    CHECK(purged("db_live") == 0);
    exec(db, DB_ROW ", deleted_at) VALUES ('db_other','tn_a','o','redis://127.0.0.1:1',5,0,1)");
    CHECK(store_db_purge(db, "db_other", 100, &err) == -1 && err.status == 503);
    sqlite3_close(db);
}

TEST(start_fails_on_an_unopenable_state_file)
{
    tg_err err;
    err.status = 0;
    CHECK(purger_start("/nonexistent-dir/x/state.db", 100, &err) == NULL);
    CHECK(err.status == 500);
}

int main(void)
{
    if (fx_dir_make("tg-purger")) return 1;
    RUN(queued_once_waits_then_leaves_a_live_database_alone);
    RUN(due_purge_of_a_gone_database_is_dropped);
    RUN(start_queues_deleted_unpurged_databases);
    RUN(purge_claims_exclude_each_other);
    RUN(purge_never_flushes_a_live_databases_slot);
    RUN(start_fails_on_an_unopenable_state_file);
    if (fx_dir_remove()) return 1;
    TEST_MAIN_END();
}
