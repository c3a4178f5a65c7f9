/*
 * walk.h - running a request's keyspace walks (gateway/policy/keywalk.h)
 * on its backend, slice by slice, in order with its other commands.
 *
 * A data-plane request whose commands include walks (a shared database's
 * DBSIZE, FLUSHDB, FLUSHALL, KEYS, RANDOMKEY, SCAN) is sent in segments:
 * the plain commands before a walk as one submission, then the walk one
 * slice per submission - each slice's reply, in its callback, submits the
 * next on the same backend - then the commands after it. So the request's
 * commands still run in their order, a walk never holds Redis for more
 * than one bounded call, and other tenants' commands run between slices.
 *
 * Limits:
 *   per request   at most WALK_FULL_MAX walks of the whole keyspace
 *                 (DBSIZE, FLUSHDB, FLUSHALL, KEYS) and WALK_ALL_MAX walks
 *                 in all (RANDOMKEY, which stops at the first page with a
 *                 key, and SCAN, at most KEYWALK_SCAN_ROUNDS slices); more
 *                 are refused, 400, one pipeline entry each;
 *   per database  one request walking at a time per process: the others
 *                 wait, nothing sent, and start in turn (their worker
 *                 checks every WALK_POLL_MS: walk_poll); one that waited
 *                 WALK_WAIT_MS gets 429 (nothing ran, nothing is billed).
 *                 SCAN is exempt: each call is bounded, and clients
 *                 iterate in parallel. Slices run one after another, so a
 *                 database has at most one walking slice queued in Redis
 *                 per process, besides its SCANs.
 * Metering: each slice is a Redis call; a walk is billed as one command
 * per slice (walk_run_billable).
 *
 * Everything lives in the request's arena; walk_run_end releases what
 * the walks malloc'd, cancels a slice in flight and frees the database's
 * slot: call it once, when the request completes. A run is used by its
 * worker thread only; the per-database slots are process-wide (locked).
 */
#ifndef TG_WALK_H
#define TG_WALK_H

#include <stdint.h>

#include "common/arena.h"
#include "common/err.h"
#include "gateway/policy/keywalk.h"
#include "gateway/redis/backend.h"

#define WALK_FULL_MAX 4    /* whole-keyspace walks per request */
#define WALK_ALL_MAX 32    /* walks of any kind per request */
#define WALK_WAIT_MS 10000 /* longest wait for the database's slot */
#define WALK_POLL_MS 1     /* how often a waiting run checks it */

typedef struct walk_run walk_run;

/* An empty run; answers (KEYS, SCAN) bounded by max_reply_bytes (0: no
 * limit). Never NULL. */
walk_run *walk_run_new(arena *a, uint64_t max_reply_bytes);

/* Records that the command sent at index runs walk w. 0, or -1 with a
 * 400 err when the request's limits are reached (w is released). Indexes
 * are added in increasing order. */
int walk_run_add(walk_run *run, int index, keywalk *w, tg_err *err);

/* Like backend_submit(b, cmds, n, false, database_id, replies, done,
 * ctx), except that the commands recorded by walk_run_add run as their
 * walks (their cmds entry is ignored) and replies[index] gets each walk's
 * answer. First takes database_id's walk slot, or waits for it. -1 with
 * a 503 err if the backend is unavailable: nothing was sent and done is
 * not called; otherwise done is called once, when every reply is in, on
 * the first failure, or with 429 when the wait was too long. */
int walk_run_submit(walk_run *run, backend *b, const backend_cmd *cmds, int n,
                    const char *database_id, redisReply **replies, backend_done_fn done,
                    void *ctx, tg_err *err);

/* What the request is billed, given billable, its commands billed one
 * each: plus the slices run beyond one per walk; 0 if nothing was sent
 * (it waited for the slot in vain). NULL: billable. */
uint32_t walk_run_billable(const walk_run *run, uint32_t billable);

/* The waiting runs of the calling worker thread: the earliest time
 * walk_poll should run (UINT64_MAX: none wait), and the check itself,
 * which starts those whose slot came free and answers 429 to those that
 * waited too long. Call from the worker's timer tick. */
uint64_t walk_deadline(void);
void walk_poll(uint64_t now_ms);

/* The request completed: see above. NULL ok. */
void walk_run_end(walk_run *run);

#endif
