/*
 * quota_remote.h - the shared quota store (quota_store = redis): the rate
 * limits and the daily/monthly counts of a database decided for every
 * gateway node at once in a counter Redis (quota_redis_url, the
 * operator's, never a tenant's).
 *
 * One Lua call per request (EVALSHA, the script loaded by an EVAL the
 * first time Redis answers NOSCRIPT) covers every shared limit: GCRA on
 * the Redis clock (TIME) for commands and requests per second, INCRBY with
 * an expiry for the UTC day's and the billing month's counts; all or
 * nothing, so a count is never taken for a refused request. Keys:
 * tollgate:q:<database>:{cps,rps,d:<unix day>,m:<period month>}.
 *
 * Where it runs: on the worker's own loop, through a non-blocking backend
 * connection (gateway/redis/backend.h) per worker: the request waits
 * (ROUTE_PENDING) until the verdict comes back, and nothing blocks.
 *
 * A refusal is remembered per worker ("refused until t", t at most one
 * second ahead so a raised limit applies within a second): until then the
 * database's requests are refused without a round trip.
 *
 * The counter Redis unreachable: quota_fail open allows (counted in
 * quota_remote_failed_open, logged once a minute), closed refuses (503).
 *
 * Thread-safety: a quota_remote belongs to one worker thread.
 */
#ifndef TG_QUOTA_REMOTE_H
#define TG_QUOTA_REMOTE_H

#include <stdint.h>

#include "billing/quota.h"
#include "common/config.h"
#include "common/err.h"

typedef struct quota_remote quota_remote;

/* What quota_remote_check decided. */
typedef enum {
    QR_ALLOWED,     /* go on: v as quota_check left it (headers updated) */
    QR_REFUSED,     /* v refused (the shared store said so, or its cache) */
    QR_UNAVAILABLE, /* the store is unreachable and quota_fail is closed */
    QR_PENDING      /* asked: done(ctx, outcome) is called later */
} qr_outcome;

typedef void (*quota_remote_done_fn)(void *ctx, qr_outcome outcome);

/* cfg: quota_redis_url, quota_fail, timeouts; epfd: the worker's loop.
 * NULL + err when the URL does not parse. */
quota_remote *quota_remote_new(const tg_config *cfg, int epfd, tg_err *err);
void quota_remote_free(quota_remote *qr);          /* fails what waits; NULL ok */
void quota_remote_drain(quota_remote *qr);         /* fails what waits */

/* v: allowed by quota_check for a. Decides the shared limits: now (from
 * the cache, or nothing shared), or later through done(ctx, ...) with v
 * updated; v and ctx must stay valid until then or quota_remote_cancel. */
qr_outcome quota_remote_check(quota_remote *qr, const quota_ask *a, quota_verdict *v,
                              quota_remote_done_fn done, void *ctx);

/* Forgets ctx's call (its request went away): done is not called. */
void quota_remote_cancel(quota_remote *qr, void *ctx);

/* The worker loop's hooks (as the pool's). */
uint64_t quota_remote_deadline(const quota_remote *qr);
void quota_remote_check_timeouts(quota_remote *qr, uint64_t now_ms);
void quota_remote_flush(quota_remote *qr);

/* Requests let through by quota_fail = open, since start (every worker). */
uint64_t quota_remote_failed_open(void);

#endif
