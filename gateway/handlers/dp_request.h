/*
 * dp_request.h - the data plane's per-worker and per-request state, shared
 * by its two files: dataplane.c (the flow: authenticate, parse, admit,
 * submit, complete) and dp_answer.c (encoding the replies, and the bytes a
 * request holds). Private to gateway/handlers/.
 *
 * A dp_request lives in its request's arena (tg_request.app) and is
 * touched only by the worker thread that owns the request.
 */
#ifndef TG_DP_REQUEST_H
#define TG_DP_REQUEST_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "billing/meter.h"
#include "billing/quota.h"
#include "common/config.h"
#include "common/ev.h"
#include "gateway/handlers/quota_remote.h"
#include "gateway/handlers/walk.h"
#include "gateway/http/request.h"
#include "gateway/policy/keyspace.h"
#include "gateway/policy/policy.h"
#include "gateway/protocol/argv.h"
#include "gateway/protocol/sync_token.h"
#include "gateway/redis/backend.h"
#include "gateway/redis/pool.h"

struct dp_worker {
    const tg_config *cfg;
    auth_ctx *auth;
    redis_pool *pool;
    policy_scripts *approved;    /* approved_scripts, parsed */
    quota *q;                    /* the process's quotas; NULL: off */
    quota_remote *qr;            /* quota_store = redis: the shared store; NULL: local */
    struct pubsub *hub;          /* the worker's streams (pubsub.h) */
    quota_local *ql;             /* this worker's settlements (quota.h); NULL: off */
    ev_watch auth_watch;         /* token lookups completed (auth_ctx_fd) */
    struct ctl_worker *ctl;      /* control-plane jobs' port (ctl.h) */
};

typedef enum { RESP_JSON, RESP_JSON_BASE64, RESP_RESP2 } resp_format;

/* One command of the request, as parsed, and what became of it. */
typedef struct dp_cmd {
    tg_cmd *cmd;
    const char *refused;         /* a pipeline entry refused: its error */
    int sent;                    /* index among the commands sent, or -1 */
    const char *override;        /* answer this string instead of Redis's
                                    (SCRIPT LOAD's SHA); NULL */
    uint8_t reply_fix;           /* CMD_REPLY_*: key names to unprefix */
    const char *asked;           /* its name as the client sent it */
    size_t asked_len;            /* (metering), before any rewriting */
} dp_cmd;

/* A data-plane request's state, in the request's arena (tg_request.app). */
typedef struct dp_request {
    struct dp_worker *dw;
    resp_format format;
    meter_kind kind;
    tg_cmdlist cmds;
    dp_cmd *per;                 /* cmds.n entries */
    backend_cmd *send;           /* nsent entries, in order */
    int nsent;
    redisReply **replies;        /* nreplies: nsent + 2 (a transaction's MULTI,
                                    EXEC), as submitted */
    int nreplies;
    keyspace ks;                 /* ks.len 0 for a dedicated database */
    walk_run *walks;             /* its keyspace walks (walk.h), or NULL */
    backend *be;
    const backend_info *binfo;
    auth_scope scope;
    const char *cmd_allow, *cmd_deny; /* token's command rules, or NULL */
    bool server_shared;          /* shared_scripts binds (auth_grant) */
    bool owns_server;            /* isolation server (auth_grant) */
    const char *db_user;         /* whose ACL user runs the commands: a shared
                                    or server database's id; NULL: the
                                    restricted user (backend_submit) */
    long long rate_limit;        /* the token's signed commands/s, 0: none */
    const char *tenant_id, *database_id, *jti;   /* arena copies */
    sync_token *sync;            /* the database's, once authenticated */
    /* Authentication runs on the headers (dp_headers); a token the cache
     * misses is looked up off this thread and the request waits. */
    enum { DP_AUTH_NONE, DP_AUTH_WAITING, DP_AUTH_READY } auth;
    auth_wait wait;
    bool handler_waiting;        /* the handler ran: resume on the answer */
    route_result (*resume)(tg_request *r);
    unsigned fail_status;        /* a refusal found while the body was */
    const char *fail_msg;        /* read, answered by the handler; or NULL */
    bool inflight;
    bool is_write;
    uint64_t reply_floor;        /* policy_check_sizes' running sum */
    uint64_t inflight_charge;    /* charge_inflight's, until answered */
    /* Quotas (billing/quota.h): what the request asks, and the verdict. */
    int64_t largest_record;      /* largest argument of a write command */
    bool grows;                  /* runs a command that may grow the data */
    bool quota_checked;
    bool quota_waiting;          /* on the shared store's verdict (quota_remote) */
    bool transaction;            /* /multi-exec: sent as MULTI/EXEC */
    quota_verdict qv;
    uint32_t billable;
    uint32_t free_sent;          /* housekeeping commands sent (DP_FREE_MAX) */
    uint64_t submit_us;
    uint32_t backend_us;
    meter_outcome outcome;
    struct ps_stream *ps;        /* a streamed answer's state (pubsub.c), or NULL */
} dp_request;

/* Housekeeping commands (PING, ECHO, COMMAND...) are free, but only so
 * many per request: a pipeline of 500 COMMAND costs Redis real work, so
 * past this many each bills as one command (issue 10, finding 13). */
#define DP_FREE_MAX 8

static inline dp_request *dp_of(tg_request *r)
{
    return r->app;
}

/* ==== dataplane.c ==== */

/* Answers r (with the database's sync token and rate-limit headers). */
void dp_respond(tg_request *r, unsigned status, struct MHD_Response *resp);
void dp_error(tg_request *r, unsigned status, const char *msg);
void dp_free_replies(dp_request *d);

/* A handler's start (authenticate on the headers or now), then resume,
 * at once or when the token's lookup answers. For every data-plane
 * handler, the streaming ones (pubsub.c) included. */
route_result dp_start(tg_request *r, meter_kind kind, route_result (*resume)(tg_request *r));

/* ==== dp_answer.c ==== */

/* Encodes the replies (or the refusals) and answers r: sized first, and
 * refused (400 over max_response_bytes, 503 over the worker's budget,
 * 413 over the plan's response_bytes) rather than built too large. */
void dp_answer(tg_request *r);

/* Charges r's worker for the commands parsed and sent, until answered. */
void dp_charge_inflight(tg_request *r, dp_request *d);

#endif
