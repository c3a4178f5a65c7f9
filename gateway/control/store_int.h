/*
 * store_int.h - row helpers shared by store.c and store_db.c. Private to
 * gateway/control/.
 *
 * Rows become JSON objects keyed by column name: integers (times, for a
 * column named *_at, as ISO 8601 UTC), text, null. Arguments are bound as
 * text in order (a NULL argument binds NULL).
 */
#ifndef TG_CONTROL_STORE_INT_H
#define TG_CONTROL_STORE_INT_H

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "common/err.h"

cJSON *store_row_json(sqlite3_stmt *st);
/* Every row as an array; NULL + err (503; 409 for a constraint). */
cJSON *store_query(sqlite3 *db, const char *sql, int nargs, const char *const *args,
                   tg_err *err);
/* The first row; none: 404 "no <what> <id>". */
cJSON *store_query_one(sqlite3 *db, const char *sql, int nargs, const char *const *args,
                       const char *what, const char *id, tg_err *err);
/* A page: sql's last two parameters are the cursor (key > ?) and the
 * limit; answers {"items","next_cursor"}. */
cJSON *store_query_page(sqlite3 *db, const char *sql, int nargs, const char *const *args,
                        const struct store_page *pg, const char *key, tg_err *err);
/* Rows changed, or -1 with err. */
int store_exec(sqlite3 *db, const char *sql, int nargs, const char *const *args, tg_err *err);
int store_fail_db(sqlite3 *db, tg_err *err);

#endif
