/*
 * backend.h - one pipelined, non-blocking connection to a Redis backend.
 *
 * Each worker thread owns its backend connections (one per backend URL and
 * logical DB) and drives them from its event loop; nothing here is shared
 * between threads or locked. Requests append their commands to the output
 * buffer and the worker writes it once per loop turn, so commands from many
 * concurrent HTTP requests reach Redis as one pipeline.
 *
 * Connection life: connect (non-blocking, bounded by the connect timeout),
 * handshake (AUTH, SELECT, then AUTH as the restricted ACL user of
 * backend_setup.h; user commands are held back until it succeeds, so they
 * can never run on the wrong logical DB or with more rights), ready. Any error - a
 * refused connect, a reply that does not parse, a command timeout - fails
 * every pending operation with 503 and discards the connection; the next
 * submission reconnects after a short back-off.
 *
 * Ownership: replies handed to an operation's done callback belong to the
 * operation's owner (free with freeReplyObject).
 */
#ifndef TG_BACKEND_H
#define TG_BACKEND_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>

#include "gateway/protocol/argv.h"
#include "gateway/redis/setup.h"
#include "common/err.h"
#include "common/ev.h"

typedef struct backend backend;

typedef struct backend_opts {
    int epfd;                  /* the owning worker's epoll instance; the
                                  socket's data.ptr is an ev_watch
                                  (common/ev.h) */
    int connect_timeout_ms;
    int command_timeout_ms;
    uint64_t max_reply_bytes;  /* a larger reply is dropped (resp_scan.h);
                                  0: no limit */
} backend_opts;

/* Called once per operation: err NULL when all replies arrived (in
 * replies[0..n)), else the operation failed and replies must be ignored
 * (those that did arrive are freed by the backend). sent: some of its
 * commands were written to Redis, so they may have run (billable, whatever
 * the answer); always true on success. */
typedef void (*backend_done_fn)(void *ctx, const tg_err *err, bool sent);

/* One command to send, and whose ACL user runs it (see backend_submit). */
typedef struct backend_cmd {
    tg_cmd cmd;
    bool as_gateway;           /* run as the restricted user, not db_user */
    bool as_url;               /* run as the URL's own user (a command the
                                  policy checked whole, which the ACL users
                                  may not run: COPY); never in a transaction */
} backend_cmd;

/* bi: the backend's set-up (its restricted user's password, if any, and
 * the per-database users); NULL to stay as the URL's user. */
backend *backend_new(const char *url, int db_index, const backend_info *bi,
                     const backend_opts *o, tg_err *err);
void backend_free(backend *b);       /* fails pending operations; NULL ok */

const char *backend_url(const backend *b);
int backend_db(const backend *b);

/* Queues cmds[0..n) as one operation. With transaction, they are wrapped
 * in MULTI/EXEC and replies gets n + 2 entries (MULTI, QUEUED..., EXEC);
 * otherwise n. replies must stay valid until done is called. Returns 0, or
 * -1 with a 503 err if the backend is unavailable (done is not called).
 *
 * db_user (the id of a shared database or of one that owns its server, or
 * NULL) runs the commands as that
 * database's ACL user, except those with as_gateway set, which run as the
 * restricted user, and those with as_url as the URL's own user. The
 * connection remembers whom it runs
 * as and puts `AUTH` in the pipeline only when that changes, so requests
 * of many databases still share one pipeline. A refused AUTH fails every
 * pending operation. In a transaction every command runs as one user. */
int backend_submit(backend *b, const backend_cmd *cmds, int n, bool transaction,
                   const char *db_user, redisReply **replies, backend_done_fn done,
                   void *ctx, tg_err *err);

/* Queues, ahead of whatever is submitted next, the (re)creation of a
 * database's ACL user (database_id, its key prefix; NULL for a database
 * that owns the server: setup.h) on this
 * connection: AUTH as the URL's user and ACL SETUSER, in the pipeline, so
 * nothing waits on the worker thread. A refusal fails the connection
 * closed (everything pending gets 503), as a refused AUTH does. 0, or -1
 * with a 503 err (the backend is down and backing off, or has no ACL
 * users). */
int backend_ensure_db_user(backend *b, const char *database_id, const char *prefix,
                           tg_err *err);

/* Forgets ctx: its operation still completes on the wire, but its replies
 * are freed and done is not called (the HTTP client went away). */
void backend_cancel(backend *b, void *ctx);

void backend_flush(backend *b);                       /* write queued output */
bool backend_has_output(const backend *b);

/* Earliest deadline in ms (monotonic), or UINT64_MAX. */
uint64_t backend_deadline(const backend *b);
void backend_check_timeouts(backend *b, uint64_t now_ms);
int backend_pending(const backend *b);

#endif
