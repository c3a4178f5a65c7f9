/*
 * meter_dict.h - small integer ids for strings that repeat in every raw
 * usage event: (tenant, database, token) triples in meter_principals and
 * command-name summaries in meter_command_sets (migrations/0007). A raw
 * event then stores one or two bytes where it stored ~80.
 *
 * A meter_dict is one such table: meter_dict_id() returns the id of a
 * tuple of texts, inserting the tuple the first time, and caches it. Ids
 * inserted inside a transaction that is rolled back do not exist: the
 * caller must meter_dict_forget() after any rollback. The cache holds at
 * most DICT_CACHE_MAX tuples (then starts over).
 *
 * Owned and used by one thread (the metering writer); statements are
 * prepared on the writer's connection by meter_dict_open and finalized by
 * meter_dict_close.
 */
#ifndef TG_METER_DICT_H
#define TG_METER_DICT_H

#include <sqlite3.h>
#include <stdint.h>

#include "common/err.h"

typedef struct meter_dict meter_dict;

/* A dictionary over table(id, cols[0..ncols)), ncols <= 4; the strings
 * are not copied (static). Free with meter_dict_free (NULL accepted). */
meter_dict *meter_dict_new(const char *table, const char *const *cols, int ncols);
void meter_dict_free(meter_dict *d);

/* Prepares the statements on db. 0, or -1 with err. */
int meter_dict_open(meter_dict *d, sqlite3 *db, tg_err *err);

/* Finalizes the statements and forgets the cache. */
void meter_dict_close(meter_dict *d);

/* The id of vals[0..ncols) (texts), inserted if new. 0, or -1 on a
 * database error (sqlite3_errmsg tells). */
int meter_dict_id(meter_dict *d, const char *const *vals, int64_t *id);

/* Empties the cache (after a rollback). */
void meter_dict_forget(meter_dict *d);

#endif
