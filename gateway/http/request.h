/*
 * request.h - one HTTP request from first byte to its completion hook.
 *
 * libmicrohttpd calls request_access() several times per request: first
 * with the headers, then once per body chunk, then once with no data; the
 * request is routed and answered on that last call (answering earlier
 * would make libmicrohttpd close a keep-alive connection). A handler that
 * hands work elsewhere (Redis) returns ROUTE_PENDING: the connection stays
 * idle, not suspended, since suspension costs two epoll_ctl calls per
 * request, and request_respond() answers it later from the same thread.
 *
 * Everything a request allocates hangs off its tg_request (its arena, and
 * whatever a handler hangs on `app`) and is released when libmicrohttpd
 * reports the request complete: first the request's completion hook runs
 * (`done`, set by the handler, else the server's default: metering,
 * releasing the handler's state), then the struct is recycled.
 *
 * This layer knows HTTP only: no Redis, no endpoint, no billing.
 */
#ifndef TG_REQUEST_H
#define TG_REQUEST_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/config.h"
#include "gateway/http/app.h"

struct http_worker;

/* An incoming X-Request-Id is kept when it is 1..REQUEST_ID_MAX bytes of
 * [A-Za-z0-9._:-]; any other is replaced by the request's own id. Every
 * answer carries the header. */
#define REQUEST_ID_MAX 64
bool request_id_well_formed(const char *s);

struct tg_request {
    struct http_worker *w;
    struct MHD_Connection *conn;
    const char *path;            /* owned by libmicrohttpd; no query string */
    unsigned method;             /* M_* */
    uint64_t body_seen;          /* bytes received, kept or not */
    bool too_large;
    bool busy;                   /* refused at its head: its worker was over
                                    max_inflight_bytes (the body is read away) */
    uint64_t charged;            /* bytes it holds (request_charge) */
    uint64_t start_ms;           /* wall clock, at the headers */
    uint64_t start_us;           /* monotonic, at the headers (latency) */
    const struct route *route;   /* the route run, NULL before dispatch */
    uint64_t id;                 /* this request's unique id (app's, see app.h) */
    char request_id[REQUEST_ID_MAX + 1]; /* X-Request-Id: the client's, or id */

    /* Answer, once known. */
    struct MHD_Response *response;
    unsigned status;             /* 0 until answered */
    bool waiting;                /* a handler answers later */
    uint64_t bytes_out;          /* body bytes of the answer */

    /* The handler's. */
    void *app;                   /* its per-request state, or NULL */
    request_done_fn done;        /* NULL: the server's default hook */
    struct http_stream *stream;  /* a streamed answer (stream.h), or NULL; */
    void (*stream_release)(tg_request *r);  /* then its release, after done */

    /* Kept across reuse (requests are recycled per worker): everything
     * above is zeroed for each request. */
    struct tg_request *next_free;
    buf body;
    arena arena;
};

enum MHD_Result request_access(void *cls, struct MHD_Connection *conn,
                               const char *url, const char *method,
                               const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls);

void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                       enum MHD_RequestTerminationCode toe);

/* Sets the answer. Inside a handler it is queued on return; for a waiting
 * request it is queued at once and the worker told to run libmicrohttpd.
 * Takes ownership of resp. */
void request_respond(tg_request *r, unsigned status, struct MHD_Response *resp);

/* A JSON {"error": msg} answer with the given status. */
void request_error(tg_request *r, unsigned status, const char *msg);

/* ==== Memory ====
 *
 * Each worker counts the bytes its requests hold: bodies as they arrive,
 * what handlers charge for the work in flight (parsed commands, replies
 * awaited) and their answers until sent; a request's charge is released
 * when it completes. Over max_inflight_bytes, a worker takes no new
 * request (503 with Retry-After: 1, respond_busy; the body is read away
 * unparsed) until it drains, and handlers ask before holding a large
 * answer. */

/* Adds bytes (negative: gives back) to what r holds. */
void request_charge(tg_request *r, int64_t bytes);

/* May r hold an answer of `bytes` more? When r is all the worker holds,
 * yes (one answer is always possible: its size is capped by the caller).
 * Otherwise a large answer (1 MB or more) must fit, beside what is held,
 * in three quarters of max_inflight_bytes, so a worker full of large
 * answers keeps serving others; a small one in five quarters of it, so a
 * request admitted (below the budget) is practically always answered.
 * What the worker holds thus stays under 1.25 x max_inflight_bytes, plus
 * the one request admitted last. */
bool request_may_hold(const tg_request *r, uint64_t bytes);

/* Request header value (case-insensitive name), or NULL. */
const char *request_header(const tg_request *r, const char *name);

/* Query argument value, or NULL (still percent-encoded). */
const char *request_query(const tg_request *r, const char *name);

/* The token of `Authorization: Bearer <token>`, surrounding blanks
 * trimmed. True when the request has an Authorization header: then tok
 * and len are set, or tok is NULL if it is not a bearer token. False
 * (tok NULL) without the header. */
bool request_bearer(const tg_request *r, const char **tok, size_t *len);

/* Unauthenticated requests' per-address limit (gateway/http/peers.h):
 * takes one from the client address's bucket. 0 when within the limit;
 * -1 when over it, r then answered 429 with Retry-After. Call it only
 * for requests refused for want of a valid token (so a client holding
 * one is never limited by it). */
int request_limit_anonymous(tg_request *r);

/* The settings in force, and the worker's application state (the
 * http_app's worker_new result) of the thread serving r. */
const tg_config *request_config(const tg_request *r);
void *request_worker_app(const tg_request *r);

/* What the request log shows of a path: its first segment (the route or
 * command name, percent-decoded, control bytes escaped as \xNN) and how
 * many segments follow, never their values: "/set/<2 args>". Writes into
 * out (cap bytes) and returns it. */
const char *request_log_path(const char *path, char *out, size_t cap);

/* Frees a worker's recycled requests (at worker exit). */
void request_pool_free(struct http_worker *w);

#endif
