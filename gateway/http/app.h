/*
 * app.h - what the HTTP server serves: the application's side of the
 * contract between gateway/http/ and the layers above it.
 *
 * The server knows HTTP only. What the requests are for comes in an
 * http_app: the route table, a per-worker state the handlers use (created
 * on the worker's epoll instance, so it can register its own sockets
 * there through common/ev.h), the deadlines and output of that state, and
 * the default completion hook of a request. The composition root
 * (gateway/gateway.c) fills one.
 */
#ifndef TG_APP_H
#define TG_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "gateway/http/route.h"

/* Called once when a request is over (answered and sent, or the client
 * went away: aborted). It must release what it hung on the request. */
typedef void (*request_done_fn)(tg_request *r, bool aborted);

typedef struct http_app {
    void *ctx;                        /* passed to worker_new */
    const route *routes;
    size_t nroutes;
    /* One per worker, on its thread's epoll fd; NULL + err to fail start. */
    void *(*worker_new)(void *ctx, const tg_config *cfg, int epfd, tg_err *err);
    /* Shutdown: fail (answer) whatever still waits on the state. */
    void (*worker_drain)(void *state);
    void (*worker_free)(void *state);
    /* Earliest deadline (monotonic ms, UINT64_MAX for none); called every
     * loop turn, so cheap. */
    uint64_t (*deadline)(void *state);
    /* Every loop turn: before libmicrohttpd runs, act on deadlines passed
     * (now, monotonic ms); after it, send what handlers queued. */
    void (*check_timeouts)(void *state, uint64_t now_ms);
    void (*flush)(void *state);
    request_done_fn request_done;     /* for requests that set no hook */
    /* Optional: sees a request with a body, of a route flagged RT_HEADERS,
     * as soon as its headers are in, before its body is read. An answer
     * it sets (request_respond) is sent at once, the body is not read and
     * the connection closes. Requests without a body go straight to their
     * handler, which must then do the same work. */
    void (*on_headers)(tg_request *r);
    /* Optional: a new unique request id for a request starting at time_ms
     * (wall clock); it becomes the request's X-Request-Id when the client
     * sent none well-formed. Without it, ids count per worker. */
    uint64_t (*new_request_id)(uint64_t time_ms);
} http_app;

#endif
