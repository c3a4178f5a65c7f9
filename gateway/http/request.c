/* request.c - see request.h: request lifecycle around libmicrohttpd. */
#include "gateway/http/request.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/mem.h"
#include "gateway/http/respond.h"
#include "gateway/http/route.h"

static const struct {
    const char *name;
    unsigned bit;
} methods[] = {
    {"GET", M_GET}, {"HEAD", M_HEAD}, {"POST", M_POST}, {"PUT", M_PUT},
    {"OPTIONS", M_OPTIONS},
};

static unsigned method_bit(const char *m)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (!strcmp(m, methods[i].name)) return methods[i].bit;
    return M_OTHER;
}

static const char *method_name(unsigned bit)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (methods[i].bit == bit) return methods[i].name;
    return "-";
}

const char *request_header(const tg_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

void request_respond(tg_request *r, unsigned status, struct MHD_Response *resp)
{
    if (r->response) MHD_destroy_response(r->response);
    r->response = resp;
    r->status = status;
    if (r->waiting) {
        /* Answered from a backend callback, outside the access handler:
         * fine in external-loop mode, on the connection's own thread. The
         * worker runs libmicrohttpd again to send it. */
        r->waiting = false;
        r->w->answered = true;
        if (MHD_queue_response(r->conn, r->status, r->response) != MHD_YES)
            fprintf(stderr, "tollgate: could not queue a response; closing\n");
        MHD_destroy_response(r->response);
        r->response = NULL;
    }
}

void request_error(tg_request *r, unsigned status, const char *msg)
{
    if (r->outcome == METER_OK) {
        r->outcome = status == 401   ? METER_AUTH_FAILURE
                     : status == 403 ? METER_FORBIDDEN
                     : status >= 500 ? METER_BACKEND_UNAVAILABLE
                                     : METER_BAD_REQUEST;
    }
    request_respond(r, status, respond_error(r->w->cfg, request_header(r, "Origin"), msg));
}

#define FREE_REQUESTS_MAX 256    /* recycled per worker */
#define BODY_KEEP_MAX 65536      /* a recycled body buffer keeps this much */

static tg_request *request_new(worker *w, struct MHD_Connection *conn,
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
    r->method = method_bit(method);
    r->start_ms = clock_wall_ms();
    r->kind = METER_OTHER;
    return r;
}

static enum MHD_Result queue_answer(tg_request *r)
{
    enum MHD_Result ok = MHD_queue_response(r->conn, r->status, r->response);
    MHD_destroy_response(r->response);
    r->response = NULL;
    return ok;
}

static void too_large_msg(tg_request *r, char *msg, size_t cap)
{
    snprintf(msg, cap, "ERR max request size exceeded. Limit: %ld bytes, "
             "Actual: %llu bytes", r->w->cfg->max_request_bytes,
             (unsigned long long)r->body_seen);
}

enum MHD_Result request_access(void *cls, struct MHD_Connection *conn,
                               const char *url, const char *method,
                               const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    worker *w = cls;
    tg_request *r = *con_cls;
    (void)version;
    long limit = w->cfg->max_request_bytes;

    /* libmicrohttpd polls a request that waits for Redis on every run. */
    if (r && r->waiting) return MHD_YES;
    w->progress = true;

    if (!r) {
        r = request_new(w, conn, url, method);
        *con_cls = r;
        /* A declared oversized body is refused before it is read (the
         * connection then closes, which is what a client sending 1 GB
         * wants anyway). */
        const char *cl = request_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            unsigned long long n = strtoull(cl, NULL, 10);
            if (n > (unsigned long long)limit) {
                char msg[160];
                r->body_seen = n;
                too_large_msg(r, msg, sizeof msg);
                request_error(r, MHD_HTTP_CONTENT_TOO_LARGE, msg);
                return queue_answer(r);
            }
        }
        return MHD_YES;
    }

    if (*upload_data_size) {
        r->body_seen += *upload_data_size;
        if (r->body_seen > (uint64_t)limit) {
            r->too_large = true;
            buf_release(&r->body);
            /* Chunked bodies far over the limit are cut short. */
            if (r->body_seen > (uint64_t)limit * 4) {
                char msg[160];
                too_large_msg(r, msg, sizeof msg);
                request_error(r, MHD_HTTP_CONTENT_TOO_LARGE, msg);
                *upload_data_size = 0;
                return queue_answer(r);
            }
        } else {
            buf_append(&r->body, upload_data, *upload_data_size);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }



    if (r->too_large) {
        char msg[160];
        too_large_msg(r, msg, sizeof msg);
        request_error(r, MHD_HTTP_CONTENT_TOO_LARGE, msg);
        return queue_answer(r);
    }
    if (r->method == M_OPTIONS) {
        request_respond(r, MHD_HTTP_NO_CONTENT,
                        respond_preflight(w->cfg, request_header(r, "Origin"),
                                          request_header(r, "Access-Control-Request-Headers")));
        return queue_answer(r);
    }
    if (route_dispatch(r) == ROUTE_PENDING) {
        /* Not MHD_suspend_connection: that costs two epoll_ctl calls per
         * request. The connection just stays quiet until request_respond. */
        r->waiting = true;
        return MHD_YES;
    }
    return queue_answer(r);
}

void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                       enum MHD_RequestTerminationCode toe)
{
    worker *w = cls;
    tg_request *r = *con_cls;
    (void)conn;
    if (!r) return;
    *con_cls = NULL;
    w->progress = true;
    if (r->inflight && r->be) {
        backend_cancel(r->be, r);
        w->inflight--;
    }
    /* Metered when answered, and also when the client left after its
     * commands were sent (they ran in Redis: status 499). */
    if (r->status || r->nsent) {
        meter_event e = {
            .time_ms = r->start_ms,
            .tenant_id = r->tenant_id,
            .database_id = r->database_id,
            .jti = r->jti,
            .kind = r->kind,
            .commands = (uint32_t)r->nsent,
            .billable_commands = r->billable,
            .bytes_in = r->body_seen + strlen(r->path),
            .bytes_out = r->bytes_out,
            .http_status = r->status ? (int)r->status : 499,
            .outcome = r->outcome,
            .backend_us = r->backend_us,
        };
        for (int i = 0; i < r->nsent; i++)
            meter_event_add_command(&e, r->asked[i], r->asked_len[i]);
        meter_record(&e);
    }
    if (w->cfg->log_requests)
        fprintf(stderr, "tollgate: %s %u %s%s %llums\n",
                method_name(r->method),
                r->status, r->path, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)",
                (unsigned long long)(clock_wall_ms() - r->start_ms));
    if (r->replies) {
        for (int i = 0; i < r->nsent + 2; i++)
            if (r->replies[i]) freeReplyObject(r->replies[i]);
        free(r->replies);
    }
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

void request_pool_free(worker *w)
{
    for (tg_request *r = w->free_requests, *next; r; r = next) {
        next = r->next_free;
        buf_release(&r->body);
        free(r);
    }
    w->free_requests = NULL;
    w->nfree = 0;
}
