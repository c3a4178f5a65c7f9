/* migrate.c - see migrate.h. */
#include "migrations/migrate.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/mem.h"

static void mkdir_parent(const char *path)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; *p; p++)
            if (*p == '/') {
                *p = '\0';
                mkdir(dir, 0755);
                *p = '/';
            }
        mkdir(dir, 0755);
    }
    free(dir);
}

sqlite3 *migrate_open(const char *path, tg_err *err)
{
    sqlite3 *db = NULL;
    mkdir_parent(path);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        tg_fail(err, 500, "sqlite %s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     " PRAGMA foreign_keys=ON;", NULL, NULL, &msg) != SQLITE_OK) {
        tg_fail(err, 500, "sqlite %s: %s", path, msg ? msg : "pragma failed");
        sqlite3_free(msg);
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static int current_version(sqlite3 *db, int *version, tg_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                     " applied_at INTEGER NOT NULL)", NULL, NULL, &msg) != SQLITE_OK) {
        tg_fail(err, 500, "schema_migrations: %s", msg);
        sqlite3_free(msg);
        return -1;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version),0) FROM schema_migrations",
                           -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "schema_migrations: %s", sqlite3_errmsg(db));
    *version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return 0;
}

/* -1 with err if any row references a missing parent. */
static int foreign_keys_broken(sqlite3 *db, tg_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "migrate: %s", sqlite3_errmsg(db));
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = tg_fail(err, 500, "migrate: a row of %s references a missing %s row",
                     (const char *)sqlite3_column_text(st, 0),
                     (const char *)sqlite3_column_text(st, 2));
    sqlite3_finalize(st);
    return rc;
}

int migrate_apply(sqlite3 *db, int *applied, tg_err *err)
{
    int version = 0, n = 0;
    if (applied) *applied = 0;
    /* Foreign keys off while migrating (a no-op inside a transaction, so
     * before it): a migration may rebuild a table others reference, which
     * SQLite does by copy, drop and rename (0013). They are checked whole
     * before committing instead, and back on after. */
    sqlite3_exec(db, "PRAGMA foreign_keys=OFF", NULL, NULL, NULL);
    /* BEGIN IMMEDIATE serialises concurrent migrators (two nodes starting). */
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        tg_fail(err, 500, "migrate: %s", sqlite3_errmsg(db));
        sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
        return -1;
    }
    if (current_version(db, &version, err)) goto out_rollback;
    for (int i = 0; i < tg_migrations_count; i++) {
        const tg_migration *m = &tg_migrations[i];
        if (m->version <= version) continue;
        char *msg = NULL;
        if (sqlite3_exec(db, m->sql, NULL, NULL, &msg) != SQLITE_OK) {
            tg_fail(err, 500, "migration %04d_%s: %s", m->version, m->name, msg);
            sqlite3_free(msg);
            goto out_rollback;
        }
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "INSERT INTO schema_migrations VALUES (?,?,?)",
                               -1, &st, NULL) != SQLITE_OK) {
            tg_fail(err, 500, "migrate: %s", sqlite3_errmsg(db));
            goto out_rollback;
        }
        sqlite3_bind_int(st, 1, m->version);
        sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            tg_fail(err, 500, "migrate: %s", sqlite3_errmsg(db));
            goto out_rollback;
        }
        n++;
    }
    if (n && foreign_keys_broken(db, err)) goto out_rollback;
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        tg_fail(err, 500, "migrate: %s", sqlite3_errmsg(db));
        goto out_rollback;
    }
    sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    if (applied) *applied = n;
    return 0;

out_rollback:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    return -1;
}
