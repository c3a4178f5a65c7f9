/*
 * writer.h - commits metering events to SQLite: the raw meter_events rows
 * and, in the same transaction, the per-minute meter_rollups.
 *
 * Exactly-once: events are inserted with INSERT OR IGNORE on their unique
 * id, and only rows that were actually inserted are added to the rollups,
 * so committing the same rows twice (a retried batch, a spill file
 * replayed after a crash) changes nothing the second time. Spill replay
 * also records its progress (file id, offset) in the same transaction as
 * the rows, so a file is replayed once even after its events were pruned.
 *
 * Late events: an event whose month was closed (usage_periods) is billed in
 * the next open month: its rollup row carries that bill_period. The closed
 * set is read inside each batch transaction, which serialises with
 * `usage close` through SQLite's write lock.
 *
 * A meter_writer owns one connection (WAL, busy_timeout, synchronous NORMAL
 * or FULL) and prepared statements; it is used by one thread at a time.
 */
#ifndef TG_METER_WRITER_H
#define TG_METER_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "billing/queue.h"

typedef struct meter_writer meter_writer;

/* Opens sqlite_path (already migrated). NULL with err on failure. Free
 * with meter_writer_free (NULL accepted). */
meter_writer *meter_writer_open(const char *sqlite_path, bool sync_full, tg_err *err);
void meter_writer_free(meter_writer *w);

/* Commits every row of the batch list in one transaction. *inserted (may
 * be NULL) gets the rows that were new. 0, or -1 with err; on -1 nothing
 * was written and the caller still owns the rows. */
int meter_writer_commit(meter_writer *w, const meter_batch *list, uint64_t *inserted,
                        tg_err *err);

/* Replays the spill file at path (absent: nothing to do) in transactions
 * of `chunk` rows, then deletes it. *replayed gets rows newly inserted. */
int meter_writer_replay(meter_writer *w, const char *path, size_t chunk,
                        uint64_t *replayed, tg_err *err);

/* Deletes raw events older than before_ms, at most `limit` of them (0: no
 * limit), oldest first, by id range; rollups stay. *deleted (may be NULL)
 * gets the count: equal to limit means there may be more. */
int meter_writer_prune(meter_writer *w, uint64_t before_ms, uint64_t limit,
                       uint64_t *deleted, tg_err *err);

/* The largest event id stored (0 if none). */
int meter_writer_max_id(meter_writer *w, uint64_t *out, tg_err *err);

#endif
