/*
 * meter.h - metering: every data-plane request becomes one usage event,
 * committed to SQLite by a single writer thread.
 *
 * An event without a tenant (the request never authenticated) takes the
 * same path but is stored as a +1 to its minute and cause in
 * meter_anonymous, not as a row (billing/writer.h).
 *
 * Request threads call meter_admit() before billable work (a relaxed atomic
 * load: false means "refuse with 503, the metering backlog is full") and
 * meter_record() when the request completes. meter_record never touches
 * the disk in the normal case: it gives the event a unique time-ordered id
 * and copies it into a bounded in-memory queue (billing/queue.h, one short
 * mutex hold, no allocation). The writer thread (billing/writer.h) commits
 * the queue in batches, one transaction each, at least every flush_ms and
 * whenever a batch fills, updating the per-minute rollups in the same
 * transaction.
 *
 * Overflow: with METER_OVERFLOW_REJECT, meter_admit() turns false once
 * three quarters of the queue are in use, and the last quarter absorbs the
 * requests already admitted. With METER_OVERFLOW_SPILL, events that find
 * the queue full (and batches the database refuses) are appended to the
 * spill file, replayed into SQLite at the next meter_start(); should the
 * spill file fail too (disk full), meter_admit() falls back to refusing
 * like the reject policy. In both modes an event that finds no room
 * anywhere is counted as lost and logged; nothing is dropped quietly.
 *
 * The event itself (meter_event, its names, kinds, outcomes and ids) is
 * billing/meter_event.h, included here for the callers.
 *
 * Lifecycle: meter_start() before the worker threads, meter_stop() after
 * every request has completed; meter_stop drains the queue to SQLite (or
 * the spill file) before returning. Without meter_start (metering = off,
 * unit tests of other modules) meter_record only counts. All functions are
 * thread-safe; meter_start/meter_stop are called from one thread.
 */
#ifndef TG_METER_H
#define TG_METER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "billing/meter_event.h"

typedef enum { METER_OVERFLOW_REJECT, METER_OVERFLOW_SPILL } meter_overflow;

typedef struct meter_options {
    const char *sqlite_path;     /* migrated state file */
    const char *spill_path;      /* NULL or "": sqlite_path + ".meter-spill" */
    size_t queue_events;         /* queue capacity, events */
    size_t batch_events;         /* events per batch (and per buffer) */
    int flush_ms;                /* longest wait before a partial batch commits */
    long retention_days;         /* raw events older than this are pruned */
    long retention_mb;           /* and the oldest while the file holds more (0: no cap) */
    meter_overflow overflow;
    int node_id;                 /* 0..63, preferred: the first free one from it is
                                  * claimed (billing/meter_node.h) */
    bool sync_full;              /* PRAGMA synchronous=FULL (else NORMAL) */
} meter_options;

/* Opens the writer's connection, replays a leftover spill file, seeds the
 * id generator past every stored id and starts the writer thread. Returns
 * 0, or -1 with err (the gateway must not serve unmetered). */
int meter_start(const meter_options *o, tg_err *err);

/* Drains the queue (commit, else spill) and stops the writer. Safe to
 * call when not started. */
void meter_stop(void);

/* False when new billable requests must be refused (reject policy, queue
 * three quarters full). Counts the refusal. Always true when stopped. */
bool meter_admit(void);

/* Queues one event (copies it; e's strings are not kept). */
void meter_record(const meter_event *e);

/* ==== Counters ==== */

typedef struct meter_totals {
    /* Recorded (every meter_record call). */
    uint64_t requests, commands, billable_commands, bytes_in, bytes_out, errors;
    /* Where events went. */
    uint64_t committed;          /* inserted into meter_events */
    uint64_t anonymous;          /* no tenant: counted in meter_anonymous */
    uint64_t duplicates;         /* ignored on insert: already stored, same content */
    uint64_t conflicts;          /* id stored for another event: re-keyed, an error */
    uint64_t spilled;            /* appended to the spill file */
    uint64_t replayed;           /* inserted from a spill file at start */
    uint64_t rejected;           /* requests refused by meter_admit() */
    uint64_t lost;               /* no room in queue nor spill file */
    uint64_t commit_failures;    /* batch transactions that failed */
    uint64_t queued;             /* events now in the queue */
} meter_totals;

void meter_snapshot(meter_totals *out);

/* One line "metering: ..." with the counters, for logs. */
void meter_format_totals(const meter_totals *t, char *out, size_t cap);

#endif
