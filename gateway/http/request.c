/* request.c - see request.h: request lifecycle around libmicrohttpd. */
#include "gateway/http/request.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/hex.h"
#include "common/mem.h"
#include "common/redact.h"
#include "gateway/http/conn.h"
#include "gateway/http/respond.h"
#include "gateway/http/route.h"
#include "gateway/http/worker.h"

const char *request_header(const tg_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *request_query(const tg_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool request_bearer(const tg_request *r, const char **tok, size_t *len)
{
    const char *h = request_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    *tok = NULL;
    *len = 0;
    if (!h) return false;
    while (*h == ' ') h++;
    if (strncasecmp(h, "Bearer ", 7) != 0) return true; /* present, not a bearer */
    h += 7;
    while (*h == ' ') h++;
    size_t n = strlen(h);
    while (n > 0 && h[n - 1] == ' ') n--;
    *tok = h;
    *len = n;
    return true;
}

const tg_config *request_config(const tg_request *r)
{
    return r->w->cfg;
}

void *request_worker_app(const tg_request *r)
{
    return r->w->state;
}

int request_limit_anonymous(tg_request *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    unsigned retry_s;
    if (!ci || peers_take_anon(r->w->peers, ci->client_addr, clock_mono_ms(), &retry_s))
        return 0;
    char secs[16];
    snprintf(secs, sizeof secs, "%u", retry_s);
    request_error(r, MHD_HTTP_TOO_MANY_REQUESTS,
                  "ERR too many unauthenticated requests from this address");
    MHD_add_response_header(r->response, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    return -1;
}

bool request_id_well_formed(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= REQUEST_ID_MAX) return false;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return n > 0;
}

/* The request's id (the client's well-formed X-Request-Id, else its own). */
static void set_request_id(tg_request *r)
{
    http_worker *w = r->w;
    r->id = w->app->new_request_id ? w->app->new_request_id(r->start_ms)
                                   : ((uint64_t)w->id << 48) + ++w->requests;
    const char *in = request_header(r, "X-Request-Id");
    if (in && request_id_well_formed(in)) snprintf(r->request_id, sizeof r->request_id, "%s", in);
    else snprintf(r->request_id, sizeof r->request_id, "%llu", (unsigned long long)r->id);
}

/* Shutting down: the answer closes its connection, so no next request is
 * read that could not be served. Every answer says which request it was. */
static void finish_answer(tg_request *r)
{
    MHD_add_response_header(r->response, "X-Request-Id", r->request_id);
    if (r->w->draining)
        MHD_add_response_header(r->response, MHD_HTTP_HEADER_CONNECTION, "close");
}

void request_respond(tg_request *r, unsigned status, struct MHD_Response *resp)
{
    if (r->response) MHD_destroy_response(r->response);
    r->response = resp;
    r->status = status;
    if (r->waiting) {
        /* Answered after the handler returned: fine in external-loop mode,
         * on the connection's own thread. The worker runs libmicrohttpd
         * again to send it. */
        r->waiting = false;
        r->w->waiting--;
        r->w->answered = true;
        finish_answer(r);
        if (MHD_queue_response(r->conn, r->status, r->response) != MHD_YES)
            fprintf(stderr, "tollgate: could not queue a response; closing\n");
        MHD_destroy_response(r->response);
        r->response = NULL;
    }
}

void request_error(tg_request *r, unsigned status, const char *msg)
{
    request_respond(r, status, respond_error(r->w->cfg, request_header(r, "Origin"), msg));
}

/* ==== Memory ==== */

#define LARGE_ANSWER_BYTES (1u << 20)   /* see request_may_hold */

void request_charge(tg_request *r, int64_t bytes)
{
    http_worker *w = r->w;
    if (bytes < 0 && (uint64_t)-bytes > r->charged) bytes = -(int64_t)r->charged;
    r->charged += (uint64_t)bytes;
    w->held += (uint64_t)bytes;
    if (w->held > w->held_peak) w->held_peak = w->held;
}

static bool worker_over_budget(const http_worker *w)
{
    return w->held > (uint64_t)w->cfg->max_inflight_bytes;
}

bool request_may_hold(const tg_request *r, uint64_t bytes)
{
    const http_worker *w = r->w;
    uint64_t budget = (uint64_t)w->cfg->max_inflight_bytes;
    if (w->held == r->charged) return true;
    uint64_t limit = bytes >= LARGE_ANSWER_BYTES ? budget - budget / 4 : budget + budget / 4;
    return w->held + bytes <= limit;
}

static const char busy_msg[] =
    "ERR server busy: this worker holds more than max_inflight_bytes for requests "
    "in flight and unsent answers; retry later";

/* ==== Logging ==== */

const char *request_log_path(const char *path, char *out, size_t cap)
{
    char first[48];
    size_t n = 0, segs = 0;
    const char *p = path;
    while (*p == '/') p++;
    /* The first segment, percent-decoded: the route or command name. */
    for (; *p && *p != '/' && n < sizeof first; p++) {
        int hi, lo;
        if (*p == '%' && (hi = hex_value(p[1])) >= 0 && (lo = hex_value(p[2])) >= 0) {
            first[n++] = (char)(hi << 4 | lo);
            p += 2;
        } else {
            first[n++] = *p;
        }
    }
    while (*p && *p != '/') p++;  /* a name longer than first[] is cut */
    for (; *p; p++)
        if (*p == '/' && p[1]) segs++;
    char name[sizeof first * 4 + 1];
    redact_escape(first, n, name, sizeof name);
    if (segs) snprintf(out, cap, "/%s/<%zu arg%s>", name, segs, segs > 1 ? "s" : "");
    else snprintf(out, cap, "/%s", name);
    return out;
}

#define FREE_REQUESTS_MAX 256    /* recycled per worker */
#define BODY_KEEP_MAX 65536      /* a recycled body buffer keeps this much */

static tg_request *request_new(http_worker *w, struct MHD_Connection *conn,
                               const char *url, const char *method)
{
    tg_request *r = w->free_requests;
    if (r) {
        w->free_requests = r->next_free;
        w->nfree--;
        memset(r, 0, offsetof(tg_request, next_free));
    } else {
        r = xcalloc(1, sizeof *r);
        buf_init(&r->body);
        arena_init(&r->arena);
    }
    r->next_free = NULL;
    r->w = w;
    r->conn = conn;
    r->path = url;
    r->method = route_method_bit(method);
    r->start_ms = clock_wall_ms();
    r->start_us = clock_mono_us();
    set_request_id(r);
    return r;
}

static enum MHD_Result queue_answer(tg_request *r)
{
    finish_answer(r);
    enum MHD_Result ok = MHD_queue_response(r->conn, r->status, r->response);
    MHD_destroy_response(r->response);
    r->response = NULL;
    return ok;
}

static enum MHD_Result answer_busy(tg_request *r)
{
    request_respond(r, MHD_HTTP_SERVICE_UNAVAILABLE,
                    respond_busy(r->w->cfg, request_header(r, "Origin"), busy_msg));
    return queue_answer(r);
}

static enum MHD_Result answer_too_large(tg_request *r)
{
    char msg[160];
    snprintf(msg, sizeof msg, "ERR max request size exceeded. Limit: %ld bytes, "
             "Actual: %llu bytes", r->w->cfg->max_request_bytes,
             (unsigned long long)r->body_seen);
    request_error(r, MHD_HTTP_CONTENT_TOO_LARGE, msg);
    return queue_answer(r);
}

/* Bodies over max_request_bytes are read and thrown away up to this much
 * more, then answered 413 on a connection still in step; past it the
 * connection is closed. Answering at once and closing would reset the
 * connection under a client still sending (Node's fetch then reports
 * ECONNRESET, never the 413). */
#define DISCARD_MAX_BYTES (8ULL << 20)

static uint64_t discard_limit(const http_worker *w)
{
    return (uint64_t)w->cfg->max_request_bytes + DISCARD_MAX_BYTES;
}

typedef struct framing {
    int lengths;                 /* Content-Length headers */
    bool lengths_differ;
    const char *length;          /* the first one's value */
    int encodings;               /* Transfer-Encoding headers */
    bool chunked;                /* ... the one there is says exactly chunked */
} framing;

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind,
                                      const char *key, const char *value)
{
    framing *f = cls;
    (void)kind;
    if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
        if (f->lengths++ && strcmp(f->length, value)) f->lengths_differ = true;
        if (f->lengths == 1) f->length = value;
    } else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        f->encodings++;
        f->chunked = !strcasecmp(value, "chunked");
    }
    return MHD_YES;
}

/* A request whose body's extent two parsers could read differently
 * (request smuggling) is refused, and its connection closed: what follows
 * on it cannot be trusted to be the next request. NULL when unambiguous. */
static const char *framing_refusal(struct MHD_Connection *conn)
{
    framing f = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_header, &f);
    if (f.lengths_differ) return "ERR conflicting Content-Length headers";
    if (f.lengths && f.encodings)
        return "ERR Content-Length and Transfer-Encoding together";
    if (f.encodings > 1 || (f.encodings && !f.chunked))
        return "ERR unsupported Transfer-Encoding (only chunked)";
    return NULL;
}

/* The app's look at the headers of a request with a body, on a route that
 * asks for it (RT_HEADERS): a refusal there (e.g. no valid token) is
 * answered before any of the body is read, and the connection closed
 * rather than read through. A request without a body gains nothing from
 * it (libmicrohttpd would close the connection of an answer given this
 * early): its handler does the same work. */
static enum MHD_Result headers_hook(tg_request *r, const char *content_length)
{
    const http_app *app = r->w->app;
    unsigned allowed;
    bool body = (content_length && strcmp(content_length, "0")) ||
                request_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (!app->on_headers || !body) return MHD_YES;
    const route *rt = route_find(app->routes, app->nroutes, r->path, r->method, &allowed);
    if (!rt || !(rt->flags & RT_HEADERS)) return MHD_YES;
    app->on_headers(r);
    if (!r->response) return MHD_YES;
    MHD_add_response_header(r->response, MHD_HTTP_HEADER_CONNECTION, "close");
    return queue_answer(r);
}

/* The headers have arrived: a new request. Ambiguous framing is refused
 * and the connection closed; a declared body too large even to read away
 * is refused before it is read (the connection then closes). */
static enum MHD_Result on_headers(http_worker *w, struct MHD_Connection *conn,
                                  const char *url, const char *method, void **con_cls)
{
    tg_request *r = request_new(w, conn, url, method);
    *con_cls = r;
    conn_head_done(conn);
    const char *why = framing_refusal(conn);
    if (why) {
        request_error(r, MHD_HTTP_BAD_REQUEST, why);
        MHD_add_response_header(r->response, MHD_HTTP_HEADER_CONNECTION, "close");
        return queue_answer(r);
    }
    /* Over its memory budget, the worker reads no body in: the request is
     * answered 503 once its body has been read away. */
    r->busy = worker_over_budget(w);
    const char *cl = request_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        unsigned long long n = strtoull(cl, NULL, 10);
        if (r->busy && n > DISCARD_MAX_BYTES) return answer_busy(r);
        if (n > (unsigned long long)w->cfg->max_request_bytes) {
            r->too_large = true;
            if (n > discard_limit(w)) {
                r->body_seen = n;
                return answer_too_large(r);
            }
        }
    }
    return r->too_large ? MHD_YES : headers_hook(r, cl);
}

/* A body chunk: kept up to the limit, then read away; bodies far over it
 * are answered (and their connection closed) before they end. */
static enum MHD_Result on_body(tg_request *r, const char *data, size_t *size)
{
    uint64_t limit = (uint64_t)r->w->cfg->max_request_bytes;
    r->body_seen += *size;
    if (r->busy) {
        if (r->body_seen > DISCARD_MAX_BYTES) {
            *size = 0;
            return answer_busy(r);
        }
    } else if (r->too_large || r->body_seen > limit) {
        r->too_large = true;
        request_charge(r, -(int64_t)r->body.len);
        buf_release(&r->body);
        if (r->body_seen > discard_limit(r->w)) {
            *size = 0;
            return answer_too_large(r);
        }
    } else {
        buf_append(&r->body, data, *size);
        request_charge(r, (int64_t)*size);
    }
    *size = 0;
    return MHD_YES;
}

/* Runs the route of r, or answers 404 / 405 (with an Allow header). */
static route_result dispatch(tg_request *r)
{
    unsigned allowed;
    const route *rt = route_find(r->w->app->routes, r->w->app->nroutes, r->path, r->method,
                                 &allowed);
    r->route = rt;
    if (rt) return rt->handler(r);
    if (request_limit_anonymous(r)) return ROUTE_DONE;
    if (!allowed) {
        request_error(r, MHD_HTTP_NOT_FOUND, "ERR not found");
        return ROUTE_DONE;
    }
    request_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "ERR method not allowed");
    char allow[64];
    route_allow_header(allowed, allow, sizeof allow);
    MHD_add_response_header(r->response, MHD_HTTP_HEADER_ALLOW, allow);
    return ROUTE_DONE;
}

enum MHD_Result request_access(void *cls, struct MHD_Connection *conn,
                               const char *url, const char *method,
                               const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    http_worker *w = cls;
    tg_request *r = *con_cls;
    (void)version;

    /* libmicrohttpd polls a request that waits on every run. */
    if (r && r->waiting) return MHD_YES;
    w->progress = true;
    if (!r) return on_headers(w, conn, url, method, con_cls);
    if (*upload_data_size) return on_body(r, upload_data, upload_data_size);

    if (r->too_large) return answer_too_large(r);
    if (r->method == M_OPTIONS) {
        request_respond(r, MHD_HTTP_NO_CONTENT,
                        respond_preflight(w->cfg, request_header(r, "Origin"),
                                          request_header(r, "Access-Control-Request-Headers")));
        return queue_answer(r);
    }
    /* The budget is checked again with the bodies that came meanwhile. */
    if (r->busy || worker_over_budget(w)) return answer_busy(r);
    if (dispatch(r) == ROUTE_PENDING) {
        /* Not MHD_suspend_connection: that costs two epoll_ctl calls per
         * request. The connection just stays quiet until request_respond. */
        if (!r->response) {
            r->waiting = true;
            w->waiting++;
            return MHD_YES;
        }
    }
    return queue_answer(r);
}

void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                       enum MHD_RequestTerminationCode toe)
{
    http_worker *w = cls;
    tg_request *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    conn_request_done(w, conn);
    w->progress = true;
    if (r->waiting) { /* the client left first */
        r->waiting = false;
        w->waiting--;
    }
    bool aborted = toe != MHD_REQUEST_TERMINATED_COMPLETED_OK;
    request_done_fn done = r->done ? r->done : w->app->request_done;
    if (done) done(r, aborted);
    if (r->stream) r->stream_release(r);
    w->held -= r->charged;      /* its answer is sent (or abandoned) */
    if (r->response) MHD_destroy_response(r->response);
    arena_release(&r->arena);
    if (w->nfree < FREE_REQUESTS_MAX && r->body.cap <= BODY_KEEP_MAX) {
        buf_reset(&r->body);
        r->next_free = w->free_requests;
        w->free_requests = r;
        w->nfree++;
        return;
    }
    buf_release(&r->body);
    free(r);
}

void request_pool_free(http_worker *w)
{
    for (tg_request *r = w->free_requests, *next; r; r = next) {
        next = r->next_free;
        buf_release(&r->body);
        free(r);
    }
    w->free_requests = NULL;
    w->nfree = 0;
}
