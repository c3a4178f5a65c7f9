/*
 * writer.h - commits metering events to SQLite: the raw meter_events rows
 * and, in the same transaction, the per-minute meter_rollups and, for
 * requests a quota limit refused, the per-minute, per-limit
 * meter_rejections (migrations/0010).
 *
 * Each inserted event is also added, in the same transaction, to the
 * usage detail rollups (per token, latency, command names: detail.h).
 *
 * Anonymous events (no tenant: the request never authenticated) are not
 * stored one row each: they are summed per minute and cause (outcome,
 * HTTP status, kind) into meter_anonymous, in the same transaction, so a
 * flood of refused requests costs disk in minutes x causes. They are never
 * billed and have no rollups. They carry no id to dedupe by: they are
 * counted once because a batch commits once (all or nothing, a spill
 * file's progress recorded with its rows).
 *
 * Exactly-once: events are inserted with INSERT OR IGNORE on their unique
 * id, and only rows that were actually inserted are added to the rollups,
 * so committing the same rows twice (a retried batch, a spill file
 * replayed after a crash) changes nothing the second time. An id already
 * stored with different content is not a duplicate but a clash (two
 * writers gave one id to two events, which node ids prevent): the event is
 * stored under a fresh id from this process's generator and billed, and
 * the clash is counted (meter_commit_stats.conflicts) for the caller to
 * log. Spill replay
 * also records its progress (file id, offset) in the same transaction as
 * the rows, so a file is replayed once even after its events were pruned.
 *
 * Late events: an event whose month was closed (usage_periods) is billed in
 * the next open month: its rollup row carries that bill_period. The closed
 * set is read inside each batch transaction, which serialises with
 * `usage close` through SQLite's write lock.
 *
 * A meter_writer owns one connection (WAL, a busy handler of at most 5 s,
 * synchronous NORMAL or FULL) and prepared statements; it is used by one
 * thread at a time (but meter_writer_set_deadline may be called from any).
 * A connection that failed (anything but a busy or locked database) is
 * closed and opened again before the next use, so a state file whose disk
 * or permissions were fixed is used again; until it opens, every call
 * fails with the reason.
 */
#ifndef TG_METER_WRITER_H
#define TG_METER_WRITER_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "billing/queue.h"

typedef struct meter_writer meter_writer;

/* What one commit (or replay) did with its rows. */
typedef struct meter_commit_stats {
    uint64_t inserted;           /* new rows, clashes included: billed */
    uint64_t duplicates;         /* already stored, same content: ignored */
    uint64_t conflicts;          /* id stored with other content: re-keyed */
    uint64_t first_conflict_id;  /* for the log line */
    uint64_t anonymous;          /* no tenant: added to meter_anonymous */
} meter_commit_stats;

/* Opens sqlite_path (already migrated). NULL with err on failure, which
 * includes a file this process cannot write ("read-only") and one whose
 * write lock cannot be taken within the busy timeout. Free with
 * meter_writer_free (NULL accepted). */
meter_writer *meter_writer_open(const char *sqlite_path, bool sync_full, tg_err *err);
void meter_writer_free(meter_writer *w);

/* From any thread: from mono_ms (clock_mono_ms) on, waits for another
 * connection's lock give up at once (the gateway is stopping). */
void meter_writer_set_deadline(meter_writer *w, uint64_t mono_ms);

/* Commits every row of the batch list in one transaction. st gets the
 * counts. 0, or -1 with err; on -1 nothing was written and the caller
 * still owns the rows. */
int meter_writer_commit(meter_writer *w, const meter_batch *list, meter_commit_stats *st,
                        tg_err *err);

/* Replays the spill file at path (absent: nothing to do) in transactions
 * of `chunk` rows, then deletes it. *replayed gets the summed counts. */
int meter_writer_replay(meter_writer *w, const char *path, size_t chunk,
                        meter_commit_stats *replayed, tg_err *err);

/* Deletes raw events older than before_ms, at most `limit` of them (0: no
 * limit), oldest first, by id range, and the anonymous counts of the
 * minutes before it; rollups stay. *deleted (may be NULL)
 * gets the count: equal to limit means there may be more. */
int meter_writer_prune(meter_writer *w, uint64_t before_ms, uint64_t limit,
                       uint64_t *deleted, tg_err *err);

/* Deletes the oldest `limit` raw events, whatever their age (the size
 * cap); *deleted gets the count. */
int meter_writer_prune_oldest(meter_writer *w, uint64_t limit, uint64_t *deleted, tg_err *err);

/* Bytes of the state file in use: its pages minus the free ones (pruned
 * rows' pages are reused, so the file stays near this). */
int meter_writer_used_bytes(meter_writer *w, uint64_t *out, tg_err *err);

/* The largest event id stored (0 if none). */
int meter_writer_max_id(meter_writer *w, uint64_t *out, tg_err *err);

/* The current connection (NULL after a failed reopen), for tests that
 * need to break it (PRAGMA max_page_count: a full disk for this
 * connection only). */
sqlite3 *meter_writer_db(meter_writer *w);

#endif
