/* test_meter_dict.c - billing/meter_dict.h: ids for repeated text tuples,
 * cached, on a real in-memory SQLite table. */
#include "billing/meter_dict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/testhelp.h"

static const char *const COLS[] = {"a", "b", "c"};

static sqlite3 *open_db(void)
{
    sqlite3 *db = NULL;
    sqlite3_open(":memory:", &db);
    sqlite3_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT, c TEXT,"
                     " UNIQUE (a, b, c))", NULL, NULL, NULL);
    return db;
}

static int64_t rows(sqlite3 *db)
{
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, NULL);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

/* The same tuple keeps its id, cached or not; different tuples differ,
 * including ones that would join to the same text without a separator. */
TEST(ids_stable_and_distinct)
{
    sqlite3 *db = open_db();
    meter_dict *d = meter_dict_new("t", COLS, 3);
    tg_err err;
    CHECK(meter_dict_open(d, db, &err) == 0);
    const char *x[] = {"ten", "db", "jti"}, *y[] = {"te", "ndb", "jti"}, *z[] = {"ten", "db", "jt"};
    int64_t a = 0, b = 0, c = 0, a2 = 0, a3 = 0;
    CHECK(meter_dict_id(d, x, &a) == 0);
    CHECK(meter_dict_id(d, y, &b) == 0);
    CHECK(meter_dict_id(d, z, &c) == 0);
    CHECK(meter_dict_id(d, x, &a2) == 0);   /* not the last hit: the hash table */
    CHECK(meter_dict_id(d, x, &a3) == 0);   /* the last one */
    CHECK(a > 0 && b > 0 && c > 0);
    CHECK(a != b && a != c && b != c);
    CHECK(a == a2 && a == a3);
    CHECK(rows(db) == 3);
    /* Forgotten (as after a rollback): read back from the table. */
    meter_dict_forget(d);
    int64_t a4 = 0;
    CHECK(meter_dict_id(d, x, &a4) == 0);
    CHECK(a4 == a);
    CHECK(rows(db) == 3);
    meter_dict_free(d);
    sqlite3_close(db);
}

/* Many tuples (more than the cache holds, so it starts over) and tuples
 * too long to cache: every id matches the table's. */
TEST(many_and_long_tuples)
{
    sqlite3 *db = open_db();
    meter_dict *d = meter_dict_new("t", COLS, 3);
    tg_err err;
    CHECK(meter_dict_open(d, db, &err) == 0);
    char t[32], k[32];
    int bad = 0;
    int64_t first = 0;
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 40000; i++) {
            snprintf(t, sizeof t, "tenant%d", i % 97);
            snprintf(k, sizeof k, "tok%d", i);
            const char *v[] = {t, "db", k};
            int64_t id = 0;
            if (meter_dict_id(d, v, &id)) bad++;
            if (id != (int64_t)i + 1) bad++;   /* inserted in order: rowid i+1 */
            if (i == 0) first = id;
        }
    CHECK(bad == 0);
    CHECK(first == 1);
    CHECK(rows(db) == 40000);
    char *longv = malloc(600);
    memset(longv, 'x', 599);
    longv[599] = '\0';
    const char *v[] = {longv, "db", "j"};
    int64_t l1 = 0, l2 = 0;
    CHECK(meter_dict_id(d, v, &l1) == 0);
    CHECK(meter_dict_id(d, v, &l2) == 0);
    CHECK(l1 == 40001 && l2 == l1);
    free(longv);
    meter_dict_free(d);
    sqlite3_close(db);
}

int main(void)
{
    RUN(ids_stable_and_distinct);
    RUN(many_and_long_tuples);
    TEST_MAIN_END();
}
