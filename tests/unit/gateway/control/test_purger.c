/* test_purger.c - gateway/control/purger.h: a purge waits for its due
 * time, is queued once however often scheduled, never touches a database
 * that is not deleted, and stop runs what is queued. (A deleted database's
 * data removal on a real backend: tests/e2e/test_control_plane.sh.) */
#include <stdlib.h>
#include <unistd.h>

#include "common/clock.h"
#include "gateway/control/purger.h"
#include "migrations/migrate.h"
#include "tests/unit/testhelp.h"

static char dir[] = "/tmp/tg-purger-XXXXXX";
static char path[128];

static sqlite3 *fixture(void)
{
    tg_err err;
    snprintf(path, sizeof path, "%s/state.db", dir);
    sqlite3 *db = migrate_open(path, &err);
    if (!db || migrate_apply(db, NULL, &err)) fprintf(stderr, "  migrate: %s\n", err.msg);
    char *msg = NULL;
    if (sqlite3_exec(db,
            "INSERT INTO tenants (id, name, created_at) VALUES ('tn_a','a',0);"
            "INSERT INTO databases (id, tenant_id, name, redis_url, db_index, created_at)"
            " VALUES ('db_live','tn_a','a','redis://127.0.0.1:1',1,0);",
            NULL, NULL, &msg) != SQLITE_OK)
        fprintf(stderr, "  setup: %s\n", msg);
    sqlite3_free(msg);
    return db;
}

static int purged(sqlite3 *db, const char *id)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(db, "SELECT purged_at IS NOT NULL FROM databases WHERE id = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

TEST(queued_once_waits_then_leaves_a_live_database_alone)
{
    sqlite3 *db = fixture();
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
    CHECK(purged(db, "db_live") == 0);         /* not deleted: untouched */
    sqlite3_close(db);
}

TEST(due_purge_of_a_gone_database_is_dropped)
{
    tg_err err;
    purger *p = purger_start(path, 100, &err);
    CHECK(p != NULL);
    if (!p) return;
    purger_schedule(p, "db_unknown", 0);
    for (int i = 0; i < 5000 && purger_pending(p); i++) usleep(1000);
    CHECK(purger_pending(p) == 0);
    purger_stop(p);
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
    if (!mkdtemp(dir)) return 1;
    RUN(queued_once_waits_then_leaves_a_live_database_alone);
    RUN(due_purge_of_a_gone_database_is_dropped);
    RUN(start_fails_on_an_unopenable_state_file);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    TEST_MAIN_END();
}
