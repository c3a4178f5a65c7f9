/*
 * request.h - one HTTP request from first byte to the metering record.
 *
 * libmicrohttpd calls request_access() several times per request: first
 * with the headers, then once per body chunk, then once with no data; the
 * request is routed and answered on that last call (answering earlier
 * would make libmicrohttpd close a keep-alive connection). A request that
 * waits for Redis returns without an answer - the connection stays idle,
 * not suspended, since suspension costs two epoll_ctl calls per request -
 * and request_respond() answers it from the backend callback.
 *
 * Everything a request allocates hangs off its tg_request and is freed in
 * request_completed(), which also emits the request's meter_event.
 */
#ifndef TG_REQUEST_H
#define TG_REQUEST_H

#include <hiredis/hiredis.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "billing/meter.h"
#include "common/arena.h"
#include "gateway/protocol/argv.h"
#include "common/buf.h"
#include "gateway/policy/keyspace.h"
#include "gateway/http/server.h"

enum { M_GET = 1, M_HEAD = 2, M_POST = 4, M_PUT = 8, M_OPTIONS = 16, M_OTHER = 32 };

typedef enum { RESP_JSON, RESP_JSON_BASE64, RESP_RESP2 } resp_format;

typedef struct tg_request {
    worker *w;
    struct MHD_Connection *conn;
    const char *path;            /* owned by libmicrohttpd; no query string */
    unsigned method;
    uint64_t body_seen;          /* bytes received, kept or not */
    bool too_large;

    /* Answer, once known. */
    struct MHD_Response *response;
    unsigned status;
    bool waiting;                /* handed to Redis, no answer yet */

    /* Data plane state (dataplane.c). */
    resp_format format;
    meter_kind kind;
    tg_cmdlist cmds;             /* as parsed */
    char **local_err;            /* per command: refusal text, or NULL */
    tg_cmd *sent;                /* the commands sent, in order */
    int nsent;
    const char **override;       /* per sent command: answer this string
                                    instead of Redis's (SCRIPT LOAD's SHA) */
    redisReply **replies;
    /* Shared (key-prefix) database: keyspace.h. */
    keyspace ks;                 /* ks.len 0 for a dedicated database */
    uint8_t *reply_fix;          /* per sent command: CMD_REPLY_* */
    bool *as_gateway;            /* per sent command: run as gateway user */
    const char **asked;          /* per sent command: its name as the client */
    size_t *asked_len;           /* sent it (metering), before rewriting */
    backend *be;
    const backend_info *binfo;
    auth_scope scope;
    const char *cmd_allow, *cmd_deny; /* token's command rules, or NULL */
    bool inflight;
    bool is_write;
    uint32_t billable;
    uint64_t submit_us;

    /* Metering. */
    uint64_t start_ms;
    const char *tenant_id, *database_id, *jti;   /* arena copies */
    meter_outcome outcome;
    uint32_t backend_us;
    uint64_t bytes_out;

    /* Kept across reuse (request_new recycles finished requests per
     * worker): everything above is zeroed for each request. */
    struct tg_request *next_free;
    buf body;
    arena arena;
} tg_request;

enum MHD_Result request_access(void *cls, struct MHD_Connection *conn,
                               const char *url, const char *method,
                               const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls);

void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                       enum MHD_RequestTerminationCode toe);

/* Sets the answer. Inside request_access it is queued on return; for a
 * waiting request (answered from a backend callback) it is queued at once
 * and the worker told to run libmicrohttpd. Takes ownership of resp. */
void request_respond(tg_request *r, unsigned status, struct MHD_Response *resp);

/* Frees the worker's recycled requests (at worker exit). */
void request_pool_free(worker *w);

/* Convenience: a JSON {"error": msg} answer with the given status. */
void request_error(tg_request *r, unsigned status, const char *msg);

/* Request header value (case-insensitive name), or NULL. */
const char *request_header(const tg_request *r, const char *name);

#endif
