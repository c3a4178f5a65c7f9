/*
 * detail.h - the usage detail rollups the dashboard API reads (migration
 * 0011): per database, token, hour and outcome (meter_token_rollups);
 * backend latency per database, hour and log-scale bucket (meter_latency);
 * commands per database, hour and name (meter_command_rollups).
 *
 * The metering writer (writer.c) owns one meter_detail: it adds each event
 * it actually inserted (meter_detail_add), then writes the sums in the same
 * batch transaction as the rows and rollups (meter_detail_write), so the
 * detail counts every event exactly once, as the rollups do; after a
 * commit or a rollback it resets the sums. Statements are prepared on the
 * writer's connection (meter_detail_open) and finalized with it
 * (meter_detail_close). One thread at a time.
 *
 * Latency buckets: b < 4 holds b us exactly; above, four buckets per power
 * of two, so a bucket's upper bound is at most 25% above its lower one.
 * The bucket functions are pure and thread-safe.
 */
#ifndef TG_DETAIL_H
#define TG_DETAIL_H

#include <sqlite3.h>
#include <stdint.h>

#include "common/err.h"
#include "billing/queue.h"

#define DETAIL_BUCKETS 128       /* every uint32_t latency has a bucket below */
#define DETAIL_OTHER "(other)"   /* commands past an event's distinct names */

typedef struct meter_detail meter_detail;

meter_detail *meter_detail_new(void);
void meter_detail_free(meter_detail *d);

/* Prepares the upserts on db: 0, or -1 with err. */
int meter_detail_open(meter_detail *d, sqlite3 *db, tg_err *err);
void meter_detail_close(meter_detail *d);

/* Adds an inserted event; r must stay valid until write or reset. */
void meter_detail_add(meter_detail *d, const meter_row *r);

/* Upserts the sums (inside the caller's transaction): 0, or -1 (the
 * connection's error message tells). */
int meter_detail_write(meter_detail *d);

/* Forgets the sums (after a commit or a rollback). */
void meter_detail_reset(meter_detail *d);

/* The bucket of a latency, and the largest latency in a bucket. */
int detail_bucket(uint32_t us);
uint64_t detail_bucket_max(int bucket);

#endif
