/*
 * pool.h - a worker's Redis connections: one backend (backend.h) per
 * (backend URL, logical DB), created on first use and kept for the life of
 * the worker.
 *
 * A pool belongs to one worker thread and is driven by its event loop
 * (pool_deadline / pool_check_timeouts / pool_flush each turn); nothing is
 * locked. The backend_info handed out is process-wide and immutable
 * (setup.h). Backends handed out stay valid until pool_close_all or
 * pool_free, or, with an idle timeout, until they have had nothing sent or
 * awaited for that long (pool_set_idle_timeout): a caller keeps a backend
 * only while it has an operation on it, or for less than the connect and
 * command timeouts after pool_get.
 */
#ifndef TG_POOL_H
#define TG_POOL_H

#include <stdint.h>

#include "common/err.h"
#include "gateway/redis/backend.h"
#include "gateway/redis/setup.h"

typedef struct redis_pool redis_pool;

/* o is copied; o->epfd is the owning worker's epoll instance. */
redis_pool *pool_new(const backend_opts *o);
void pool_free(redis_pool *p);            /* fails pending operations; NULL ok */

/* The backend for (url, db), connected lazily, with what setup.h knows of
 * the server. First use of a URL may need a bounded blocking round trip
 * if start-up could not reach it. 0, or -1 with a 503 err. */
int pool_get(redis_pool *p, const char *url, int db, backend **out,
             const backend_info **info, tg_err *err);

/* Backends with no operation (pending or queued) for idle_ms are closed
 * by pool_check_timeouts and reopened on their next pool_get; 0 (the
 * default): never. At least the connect plus the command timeout plus 1 s,
 * whatever is asked (see above). */
void pool_set_idle_timeout(redis_pool *p, uint64_t idle_ms);
uint64_t pool_closed_idle(const redis_pool *p);   /* how many so far */

/* Earliest deadline of any backend (monotonic ms), or UINT64_MAX. */
uint64_t pool_deadline(const redis_pool *p);
void pool_check_timeouts(redis_pool *p, uint64_t now_ms);
void pool_flush(redis_pool *p);           /* writes every queued command */

/* Closes every backend (their pending operations fail with 503) and
 * forgets them; the pool stays usable. For shutdown's drain. */
void pool_close_all(redis_pool *p);

#endif
