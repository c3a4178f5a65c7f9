/* dataplane.c - see dataplane.h. */
#include "gateway/handlers/dataplane.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>

#include "auth/auth.h"
#include "billing/meter.h"
#include "billing/quota.h"
#include "common/clock.h"
#include "common/ev.h"
#include "common/mem.h"
#include "gateway/handlers/accounting.h"
#include "gateway/handlers/quota_gate.h"
#include "gateway/handlers/walk.h"
#include "gateway/http/request.h"
#include "gateway/http/respond.h"
#include "gateway/policy/keyspace.h"
#include "gateway/policy/policy.h"
#include "gateway/protocol/argv.h"
#include "gateway/protocol/reply.h"
#include "gateway/protocol/script_flags.h"
#include "gateway/protocol/sync_token.h"
#include "gateway/redis/backend.h"
#include "gateway/redis/pool.h"

struct dp_worker {
    const tg_config *cfg;
    auth_ctx *auth;
    redis_pool *pool;
    policy_scripts *approved;    /* approved_scripts, parsed */
    quota *q;                    /* the process's quotas; NULL: off */
    ev_watch auth_watch;         /* token lookups completed (auth_ctx_fd) */
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
    dp_worker *dw;
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
    quota_verdict qv;
    uint32_t billable;
    uint32_t free_sent;          /* housekeeping commands sent (DP_FREE_MAX) */
    uint64_t submit_us;
    uint32_t backend_us;
    meter_outcome outcome;
} dp_request;

/* Housekeeping commands (PING, ECHO, COMMAND...) are free, but only so
 * many per request: a pipeline of 500 COMMAND costs Redis real work, so
 * past this many each bills as one command (issue 10, finding 13). */
#define DP_FREE_MAX 8

static dp_request *dp_of(tg_request *r)
{
    return r->app;
}

/* ==== Worker state ==== */

static void on_auth_ready(ev_watch *self, uint32_t events);

void *dp_worker_new(void *shared, const tg_config *cfg, int epfd, tg_err *err)
{
    const dp_shared *sh = shared;
    const auth_keyring *const *ring = sh->ring;
    dp_worker *dw = xcalloc(1, sizeof *dw);
    dw->cfg = cfg;
    dw->q = sh->q;
    dw->approved = policy_scripts_load(cfg->approved_scripts, err);
    dw->auth = dw->approved ? auth_ctx_new(ring,
                                           cfg->jwt_leeway_s, cfg->sqlite_path,
                                           (size_t)cfg->token_cache_size, err) : NULL;
    if (!dw->auth) {
        policy_scripts_free(dw->approved);
        free(dw);
        return NULL;
    }
    dw->auth_watch.on_event = on_auth_ready;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &dw->auth_watch};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, auth_ctx_fd(dw->auth), &ev)) {
        tg_fail(err, 500, "epoll_ctl: cannot watch token lookups");
        auth_ctx_free(dw->auth);
        policy_scripts_free(dw->approved);
        free(dw);
        return NULL;
    }
    backend_opts o = {epfd, (int)cfg->redis_connect_timeout_ms,
                      (int)cfg->redis_command_timeout_ms, (uint64_t)cfg->max_reply_bytes};
    dw->pool = pool_new(&o);
    return dw;
}

static void dp_auth_done(void *cookie, int rc, const auth_grant *g, const tg_err *err);

void dp_worker_drain(void *w)
{
    auth_ctx_abandon(((dp_worker *)w)->auth, dp_auth_done);
    pool_close_all(((dp_worker *)w)->pool);
}

void dp_worker_free(void *w)
{
    dp_worker *dw = w;
    if (!dw) return;
    pool_free(dw->pool);
    auth_ctx_free(dw->auth);
    policy_scripts_free(dw->approved);
    free(dw);
}

uint64_t dp_worker_deadline(void *w)
{
    uint64_t d = pool_deadline(((dp_worker *)w)->pool), wd = walk_deadline();
    return wd < d ? wd : d;
}

void dp_worker_check_timeouts(void *w, uint64_t now_ms)
{
    pool_check_timeouts(((dp_worker *)w)->pool, now_ms);
    walk_poll(now_ms);
}

void dp_worker_flush(void *w)
{
    pool_flush(((dp_worker *)w)->pool);
}

/* ==== Answers ==== */

/* Every answer of an authenticated request carries its database's sync
 * token; nothing else does. */
static void dp_respond(tg_request *r, unsigned status, struct MHD_Response *resp)
{
    dp_request *d = dp_of(r);
    if (d->sync) {
        char tok[24];
        snprintf(tok, sizeof tok, "%llu", (unsigned long long)sync_token_current(d->sync));
        MHD_add_response_header(resp, "upstash-sync-token", tok);
    }
    if (d->quota_checked && d->qv.allowed) quota_gate_headers(&d->qv, resp);
    request_respond(r, status, resp);
}

static void dp_error(tg_request *r, unsigned status, const char *msg)
{
    struct MHD_Response *resp = respond_error(request_config(r), request_header(r, "Origin"), msg);
    if (status == 405) /* a write on HEAD (policy_check_head) */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, POST, PUT, OPTIONS");
    dp_respond(r, status, resp);
}

/* Frees the replies (at the answer, once encoded: an answer not yet read
 * by a slow client holds its encoding only; or at completion). */
static void free_replies(dp_request *d)
{
    if (!d->replies) return;
    for (int i = 0; i < d->nreplies; i++)
        if (d->replies[i]) freeReplyObject(d->replies[i]);
    free(d->replies);
    d->replies = NULL;
}

/* The completion hook: forgets the request on its backend if the client
 * left first, meters it, frees the replies. */
static void dp_done(tg_request *r, bool aborted)
{
    dp_request *d = dp_of(r);
    (void)aborted;
    if (d->wait.lookup) auth_cancel(d->dw->auth, &d->wait);
    if (d->inflight && d->be) backend_cancel(d->be, r);
    walk_run_end(d->walks);
    /* Metered when answered, and also when the client left after its
     * commands were sent (they ran in Redis: status 499). */
    if (r->status || d->nsent) {
        meter_event e = {
            .tenant_id = d->tenant_id,
            .database_id = d->database_id,
            .jti = d->jti,
            .kind = d->kind,
            .commands = (uint32_t)d->nsent,
            .billable_commands = walk_run_billable(d->walks, d->billable),
            .outcome = d->outcome,
            .backend_us = d->backend_us,
        };
        for (int i = 0; i < d->cmds.n; i++)
            if (d->per && d->per[i].sent >= 0)
                meter_event_add_command(&e, d->per[i].asked, d->per[i].asked_len);
        accounting_record(r, &e);
        if (d->dw->q && d->database_id) /* settled against what was metered */
            quota_record(d->dw->q, d->database_id, d->quota_checked ? &d->qv : NULL,
                         &(quota_usage){e.outcome, e.billable_commands, (int64_t)e.bytes_in,
                                        (int64_t)e.bytes_out, quota_now_ns()});
    } else if (d->dw->q && d->database_id && d->quota_checked) {
        quota_record(d->dw->q, d->database_id, &d->qv,
                     &(quota_usage){d->outcome, 0, 0, 0, quota_now_ns()});
    }
    quota_leave(&d->qv);
    free_replies(d);
}

/* The request's data-plane state, and its completion hook. */
static dp_request *dp_begin(tg_request *r, meter_kind kind)
{
    dp_request *d = arena_alloc(&r->arena, sizeof *d);
    memset(d, 0, sizeof *d);
    d->dw = request_worker_app(r);
    d->kind = kind;
    r->app = d;
    r->done = dp_done;
    return d;
}

/* ==== Request preparation ==== */

static int read_format(tg_request *r, dp_request *d)
{
    const char *enc = request_header(r, "Upstash-Encoding");
    const char *fmt = request_header(r, "Upstash-Response-Format");
    bool b64 = enc && !strcasecmp(enc, "base64");
    d->format = b64 ? RESP_JSON_BASE64 : RESP_JSON;
    if (!fmt || !strcasecmp(fmt, "json")) return 0;
    if (strcasecmp(fmt, "resp2") != 0) {
        dp_error(r, 400, "ERR Upstash-Response-Format must be 'json' or 'resp2'");
        return -1;
    }
    if (b64) {
        dp_error(r, 400, "ERR Upstash-Response-Format resp2 cannot be combined "
                 "with Upstash-Encoding base64");
        return -1;
    }
    d->format = RESP_RESP2;
    return 0;
}

/* The token: `Authorization: Bearer <jwt>`, else `?_token=<jwt>`. */
static int token_of(tg_request *r, const char **tok, size_t *len)
{
    if (request_bearer(r, tok, len)) return 0;
    const char *q = request_query(r, "_token");
    if (!q) return 0;
    char *dec;
    tg_err err;
    if (argv_pct_decode(&r->arena, q, strlen(q), true, &dec, len, &err)) return -1;
    *tok = dec;
    return 0;
}

/* A shared database: its prefix, and its ACL user in place on the backend
 * (made sure of once per cached token and backend user generation, by an
 * ACL SETUSER queued in the connection's pipeline: nothing blocks here). */
static int shared_prepare(tg_request *r, dp_request *d, const auth_grant *g, tg_err *err)
{
    if (!d->binfo->caps.scripts_contained)
        return tg_fail(err, 503, "ERR shared databases need ACL users, which this "
                       "backend refused");
    uint32_t gen = backend_users_gen(d->binfo);
    if (*g->users_seen != gen) {
        if (backend_ensure_db_user(d->be, g->database_id, g->key_prefix, err)) return -1;
        *g->users_seen = gen;
    }
    size_t n = strlen(g->key_prefix);
    d->ks.prefix = arena_strndup(&r->arena, g->key_prefix, n);
    d->ks.len = n;
    return 0;
}

/* The rest of preparing, once the token is known: copies of the grant,
 * the database's sync token, its backend. 0, or -1 with err. */
static int prepare_grant(tg_request *r, dp_request *d, const auth_grant *g, tg_err *err)
{
    /* Grant strings belong to the auth cache, which other requests on this
     * thread may evict before this one completes: keep copies. */
    d->tenant_id = arena_strndup(&r->arena, g->tenant_id, strlen(g->tenant_id));
    d->database_id = arena_strndup(&r->arena, g->database_id, strlen(g->database_id));
    d->jti = arena_strndup(&r->arena, g->jti, strlen(g->jti));
    /* The database's sync token, looked up once per cached token. */
    if (!*g->app_data) *g->app_data = sync_token_for(d->database_id);
    d->sync = *g->app_data;
    d->scope = g->scope;
    d->cmd_allow = g->cmd_allow;
    d->cmd_deny = g->cmd_deny;
    d->rate_limit = g->rate_limit;
    d->server_shared = g->server_shared;
    if (pool_get(d->dw->pool, g->redis_url, g->db_index, &d->be, &d->binfo, err)) return -1;
    if (g->key_prefix && shared_prepare(r, d, g, err)) return -1;
    d->auth = DP_AUTH_READY;
    return 0;
}

/* On the headers: metering backlog, format headers, the token. Answers a
 * refusal (then r->response is set), or leaves the request ready or
 * waiting on a token lookup (dp_auth_done). One authentication per
 * request: the handler uses what this found. */
static void prepare(tg_request *r, dp_request *d)
{
    tg_err err;
    const char *tok;
    size_t len;
    if (!meter_admit()) {
        d->outcome = METER_BACKLOG;
        dp_error(r, 503, "ERR metering backlog full");
        return;
    }
    if (read_format(r, d)) return;
    if (token_of(r, &tok, &len) || !tok || len == 0) {
        if (request_limit_anonymous(r)) return;
        dp_error(r, 401, "WRONGPASS invalid or missing auth token");
        return;
    }
    auth_grant g;
    d->wait.cookie = r;
    int rc = auth_authenticate(d->dw->auth, tok, len, time(NULL), &d->wait, &g, &err);
    if (rc == AUTH_PENDING) {
        d->auth = DP_AUTH_WAITING;
        return;
    }
    if (rc && request_limit_anonymous(r)) return; /* an invalid token: 429 over the rate */
    if (rc || prepare_grant(r, d, &g, &err)) dp_error(r, (unsigned)err.status, err.msg);
}

/* A token lookup answered (on this worker's loop, auth_ctx_complete). */
static void dp_auth_done(void *cookie, int rc, const auth_grant *g, const tg_err *err)
{
    tg_request *r = cookie;
    dp_request *d = dp_of(r);
    tg_err mine;
    if (rc == 0 && prepare_grant(r, d, g, &mine) == 0) {
        if (d->handler_waiting) {
            d->handler_waiting = false;
            d->resume(r);   /* answers, or waits on Redis */
        }
        return;
    }
    if (rc == 0) err = &mine;
    d->auth = DP_AUTH_READY;
    if (d->handler_waiting) {
        d->handler_waiting = false;
        dp_error(r, (unsigned)err->status, err->msg);
        return;
    }
    /* The body is still being read: the handler answers this. */
    d->fail_status = (unsigned)err->status;
    d->fail_msg = arena_strndup(&r->arena, err->msg, strlen(err->msg));
}

static void on_auth_ready(ev_watch *self, uint32_t events)
{
    dp_worker *dw = (dp_worker *)((char *)self - offsetof(dp_worker, auth_watch));
    (void)events;
    auth_ctx_complete(dw->auth, time(NULL), dp_auth_done);
}

static meter_kind kind_of_path(const char *path)
{
    if (!strcmp(path, "/pipeline")) return METER_PIPELINE;
    if (!strcmp(path, "/multi-exec")) return METER_MULTI_EXEC;
    return METER_SINGLE;
}

void dp_headers(tg_request *r)
{
    prepare(r, dp_begin(r, kind_of_path(r->path)));
}

/* A handler's start: the request authenticated on its headers (or now, if
 * no headers hook ran); then resume runs at once, or when the token's
 * lookup answers (the request waits meanwhile). */
static route_result start(tg_request *r, meter_kind kind, route_result (*resume)(tg_request *r))
{
    dp_request *d = dp_of(r);
    if (!d) {
        d = dp_begin(r, kind);
        prepare(r, d);
        if (r->response) return ROUTE_DONE;
    }
    d->kind = kind;
    if (d->fail_msg) {
        dp_error(r, d->fail_status, d->fail_msg);
        return ROUTE_DONE;
    }
    if (d->auth == DP_AUTH_WAITING) {
        d->resume = resume;
        d->handler_waiting = true;
        return ROUTE_PENDING;
    }
    return resume(r);
}

/* ==== Encoding the answer ==== */


static void entry_error(const dp_request *d, buf *out, const char *msg)
{
    if (d->format == RESP_RESP2) reply_resp2_error(out, msg, strlen(msg));
    else reply_json_error(out, msg, strlen(msg));
}

/* One command's answer; c (may be NULL: not one of ours) says what
 * replaces a string reply and which key names a shared database strips. */
static void entry_reply(dp_request *d, buf *out, redisReply *rep, const dp_cmd *c)
{
    if (d->ks.len) keyspace_unprefix(&d->ks, c ? c->reply_fix : CMD_REPLY_PLAIN, rep);
    if (rep->type == REDIS_REPLY_ERROR) d->outcome = METER_REDIS_ERROR;
    redisReply swapped;
    if (c && c->override && rep->type == REDIS_REPLY_STRING) {
        swapped = *rep;
        swapped.str = (char *)c->override;
        swapped.len = strlen(c->override);
        rep = &swapped;
    }
    if (d->format == RESP_RESP2) reply_resp2(out, rep);
    else reply_json_entry(out, rep, d->format == RESP_JSON_BASE64);
}

/* Pipeline: one entry per command, refusals and replies in order. */
static void encode_pipeline(dp_request *d, buf *out)
{
    bool json = d->format != RESP_RESP2;
    if (json) buf_putc(out, '[');
    for (int i = 0; i < d->cmds.n; i++) {
        const dp_cmd *c = &d->per[i];
        if (json && i) buf_putc(out, ',');
        if (c->refused) entry_error(d, out, c->refused);
        else entry_reply(d, out, d->replies[c->sent], c);
    }
    if (json) buf_putc(out, ']');
}

/* A transaction Redis discarded as a whole: name the command that caused
 * it. Returns the HTTP status. */
static unsigned encode_discarded(dp_request *d, buf *out, redisReply *exec)
{
    d->outcome = METER_REDIS_ERROR;
    redisReply *why = NULL;
    for (int i = 1; i <= d->nsent && !why; i++)
        if (d->replies[i]->type == REDIS_REPLY_ERROR) why = d->replies[i];
    if (d->ks.len) {
        keyspace_unprefix(&d->ks, CMD_REPLY_PLAIN, exec);
        if (why) keyspace_unprefix(&d->ks, CMD_REPLY_PLAIN, why);
    }
    if (d->format != RESP_RESP2) {
        char msg[512];
        snprintf(msg, sizeof msg, "%.*s%s%.*s", (int)exec->len, exec->str,
                 why ? " Cause: " : "", why ? (int)why->len : 0, why ? why->str : "");
        reply_json_error(out, msg, strlen(msg));
    } else {
        reply_resp2(out, exec);
    }
    return 400;
}

/* A transaction: every command was sent, in order (a refusal refuses the
 * whole request), so command i's reply is EXEC's element i. */
static unsigned encode_transaction(dp_request *d, buf *out)
{
    bool json = d->format != RESP_RESP2;
    redisReply *exec = d->replies[d->nsent + 1];
    if (exec->type == REDIS_REPLY_ERROR) return encode_discarded(d, out, exec);
    if (exec->type != REDIS_REPLY_ARRAY) {
        entry_error(d, out, "ERR transaction aborted");
        return 400;
    }
    if (!json) {
        for (size_t i = 0; d->ks.len && i < exec->elements && (int)i < d->nsent; i++)
            keyspace_unprefix(&d->ks, d->per[i].reply_fix, exec->element[i]);
        reply_resp2(out, exec);
        return 200;
    }
    buf_putc(out, '[');
    for (size_t i = 0; i < exec->elements; i++) {
        if (i) buf_putc(out, ',');
        entry_reply(d, out, exec->element[i], (int)i < d->nsent ? &d->per[i] : NULL);
    }
    buf_putc(out, ']');
    return 200;
}

/* Returns the HTTP status. */
static unsigned encode_answer(dp_request *d, buf *out)
{
    if (d->kind == METER_PIPELINE) {
        encode_pipeline(d, out);
        return 200;
    }
    if (d->kind == METER_MULTI_EXEC) return encode_transaction(d, out);
    redisReply *rep = d->replies[0];
    entry_reply(d, out, rep, &d->per[0]);
    return rep->type == REDIS_REPLY_ERROR ? 400 : 200;
}

/* ==== Memory of a request ==== */

/* A reply byte's worst JSON expansion: a control byte becomes \u00XX. */
#define JSON_WORST_FACTOR 6
/* What a command in flight holds beside its body (which the HTTP layer
 * counts): its argument vector and strings in the arena, its RESP form in
 * the backend's output buffer, its dp_cmd and backend_cmd, a reply object
 * and its slot. Measured: a 20,000 INCR pipeline (262 KB of body) adds
 * about 5 MB of RSS while in flight. */
#define CMD_INFLIGHT_BYTES 220
#define ARG_INFLIGHT_BYTES 24

static uint64_t response_cap(const tg_config *cfg)
{
    return cfg->max_response_bytes ? (uint64_t)cfg->max_response_bytes
                                   : JSON_WORST_FACTOR * (uint64_t)cfg->max_reply_bytes;
}

/* Charges r's worker for the commands parsed and sent (issue 11 finding
 * 5), until they are answered (answer). */
static void charge_inflight(tg_request *r, dp_request *d)
{
    uint64_t n = 0;
    for (int i = 0; i < d->cmds.n; i++) {
        const tg_cmd *c = &d->cmds.cmds[i];
        n += CMD_INFLIGHT_BYTES + (uint64_t)c->argc * ARG_INFLIGHT_BYTES;
        for (int j = 0; j < c->argc; j++) n += 2 * (uint64_t)c->lens[j];
    }
    d->inflight_charge = n;
    request_charge(r, (int64_t)n);
}

/* At least the bytes encode_answer will write, computed without writing
 * them (reply.h's *_size): a refusal is bounded by its worst escaping, a
 * top-level array's elements may each become an entry ({"result":...}),
 * and a discarded transaction's message is at most ~520 bytes. */
static uint64_t answer_bound(const dp_request *d)
{
    bool json = d->format != RESP_RESP2, b64 = d->format == RESP_JSON_BASE64;
    uint64_t n = 2 + (uint64_t)d->cmds.n + 600;
    for (int i = 0; d->per && i < d->cmds.n; i++)
        if (d->per[i].refused) n += 16 + JSON_WORST_FACTOR * strlen(d->per[i].refused);
    for (int i = 0; d->replies && i < d->nsent + 2; i++) {
        const redisReply *rep = d->replies[i];
        if (!rep) continue;
        if (!json) {
            n += reply_resp2_size(rep);
            continue;
        }
        n += reply_json_entry_size(rep, b64);
        if (rep->type == REDIS_REPLY_ARRAY) n += 11 * (uint64_t)rep->elements;
    }
    return n;
}

/* A floor of the bytes encode_answer will write, found cheaply: its replies'
 * string bytes. */
static uint64_t answer_floor(const dp_request *d)
{
    uint64_t n = 0;
    for (int i = 0; d->replies && i < d->nsent + 2; i++)
        if (d->replies[i]) n += reply_payload_size(d->replies[i]);
    return n;
}

/* An answer too large to build or to hold now: its commands ran (they
 * bill), their replies are dropped. 0 when it may be built, after
 * charging its size; else -1, answered. */
static int hold_answer(tg_request *r, dp_request *d, uint64_t size)
{
    const tg_config *cfg = request_config(r);
    uint64_t cap = response_cap(cfg);
    char msg[256];
    if (size > cap) {
        snprintf(msg, sizeof msg, "ERR response too large: the encoded answer would be "
                 "about %llu bytes, over max_response_bytes (%llu); the commands ran",
                 (unsigned long long)size, (unsigned long long)cap);
        d->outcome = METER_SENT_UNANSWERED;
        free_replies(d);
        dp_error(r, 400, msg);
        return -1;
    }
    if (!request_may_hold(r, size)) {
        snprintf(msg, sizeof msg, "ERR server busy: an answer of about %llu bytes does not "
                 "fit in this worker's max_inflight_bytes now; the commands ran; retry "
                 "later", (unsigned long long)size);
        d->outcome = METER_SENT_UNANSWERED;
        free_replies(d);
        dp_respond(r, 503, respond_busy(cfg, request_header(r, "Origin"), msg));
        return -1;
    }
    request_charge(r, (int64_t)size);
    return 0;
}

static void answer(tg_request *r)
{
    dp_request *d = dp_of(r);
    /* Answered: what was charged for the work in flight becomes the
     * answer's charge (the replies are freed once encoded). */
    request_charge(r, -(int64_t)d->inflight_charge);
    d->inflight_charge = 0;
    /* The floor first: a reply far too large is refused unscanned. */
    uint64_t floor = answer_floor(d);
    if ((floor > response_cap(request_config(r)) || !request_may_hold(r, floor)) &&
        hold_answer(r, d, floor))
        return;
    uint64_t size = answer_bound(d);
    if (hold_answer(r, d, size)) return;
    buf out;
    buf_init(&out);
    buf_reserve(&out, (size_t)size); /* one allocation, no doubling */
    unsigned status = encode_answer(d, &out);
    free_replies(d);
    if (d->quota_checked && d->qv.response_bytes_max >= 0 &&
        (int64_t)out.len > d->qv.response_bytes_max) { /* the plan's response_bytes */
        quota_verdict_refuse(&d->qv, QUOTA_RESPONSE_BYTES, d->qv.response_bytes_max,
                             (int64_t)out.len);
        buf_release(&out);
        d->outcome = METER_SENT_UNANSWERED; /* the commands ran: they bill */
        dp_respond(r, (unsigned)d->qv.http_status,
                   quota_gate_refusal(request_config(r), request_header(r, "Origin"), &d->qv));
        return;
    }
    r->bytes_out = out.len;
    const char *ct = d->format == RESP_RESP2 ? "application/octet-stream"
                                              : "application/json";
    dp_respond(r, status, respond_body(request_config(r), request_header(r, "Origin"),
                                       &out, ct));
}

/* None of the request's commands reached Redis: none is metered as sent
 * (the metering rule: only commands written to Redis count). */
static void unsend(dp_request *d)
{
    for (int i = 0; i < d->cmds.n; i++)
        if (d->per) d->per[i].sent = -1;
    d->nsent = 0;
    d->billable = 0;
}

static void on_replies(void *ctx, const tg_err *err, bool sent)
{
    tg_request *r = ctx;
    dp_request *d = dp_of(r);
    d->inflight = false;
    d->backend_us = (uint32_t)(clock_mono_us() - d->submit_us);
    if (err) {
        /* Written to Redis, the answer lost (timeout, connection lost):
         * the commands may have run, so they bill (issue 11, finding 4). */
        if (sent) d->outcome = METER_SENT_UNANSWERED;
        else unsend(d);         /* never reached Redis: nothing to bill */
        dp_error(r, (unsigned)err->status, err->msg);
        return;
    }
    if (d->is_write) sync_token_bump(d->sync);
    answer(r);
}

/* ==== Running commands ==== */

/* Policy for one command: 0 and it may be sent (possibly rewritten), or
 * -1 with err. */
static int admit(dp_request *d, arena *a, bool transaction, bool head, tg_cmd *c,
                 cmd_verdict *v, keyspace_out *ko, tg_err *err)
{
    if (policy_check(d->binfo->cmds, d->scope, &d->binfo->caps, c->argc, c->argv,
                     c->lens, v, err) ||
        (head && policy_check_head(v, err)) ||
        policy_check_rules(v->info, c->argv[0], c->lens[0], d->cmd_allow, d->cmd_deny, err) ||
        policy_check_sizes(v->info, c->argc, c->argv, c->lens,
                           (uint64_t)d->dw->cfg->max_reply_bytes, &d->reply_floor, err))
        return -1;
    /* Scripts follow the server, whatever the database's isolation. */
    if (d->server_shared &&
        policy_check_shared_scripts(d->dw->cfg->shared_scripts, d->dw->approved, v->info,
                                    c->argc, c->argv, c->lens, err))
        return -1;
    if (!d->ks.len) return 0;
    if (keyspace_rewrite(a, &d->ks, v->info, transaction, c, ko, err)) return -1;
    if (!ko->walk) return 0;
    if (!d->walks) d->walks = walk_run_new(a, d->dw->cfg->max_reply_bytes);
    return walk_run_add(d->walks, d->nsent, ko->walk, err);
}

/* The database's limits, asked once every command is admitted and before
 * anything is sent: a pipeline is refused whole or runs whole. True when
 * refused (answered; nothing sent, nothing billed). */
static bool quota_refuses(tg_request *r, dp_request *d)
{
    if (!d->dw->q) return false;
    quota_ask ask = {
        .database_id = d->database_id, .token_id = d->jti, .token_rate = d->rate_limit,
        .commands = walk_run_billable(d->walks, d->billable),
        .bytes_in = (int64_t)(r->body_seen + strlen(r->path)),
        .largest_record = d->largest_record, .writes = d->grows, .now_ns = quota_now_ns(),
    };
    d->quota_checked = true;
    if (quota_check(d->dw->q, &ask, &d->qv)) return false;
    unsend(d);
    d->outcome = METER_QUOTA_REJECTED;
    dp_respond(r, (unsigned)d->qv.http_status,
               quota_gate_refusal(request_config(r), request_header(r, "Origin"), &d->qv));
    return true;
}

static route_result execute(tg_request *r, bool transaction)
{
    dp_request *d = dp_of(r);
    int n = d->cmds.n;
    tg_err err;
    d->per = arena_alloc(&r->arena, (size_t)n * sizeof *d->per);
    d->send = arena_alloc(&r->arena, (size_t)n * sizeof *d->send);
    for (int i = 0; i < n; i++) {
        tg_cmd *c = &d->cmds.cmds[i];
        d->per[i] = (dp_cmd){.cmd = c, .sent = -1, .asked = c->argv[0], .asked_len = c->lens[0]};
    }
    for (int i = 0; i < n; i++) {
        dp_cmd *pc = &d->per[i];
        tg_cmd *c = pc->cmd;
        cmd_verdict v;
        keyspace_out ko = {CMD_REPLY_PLAIN, false, NULL};
        if (admit(d, &r->arena, transaction, r->method == M_HEAD, c, &v, &ko, &err)) {
            if (d->kind != METER_PIPELINE) { /* nothing is sent: nothing billed */
                unsend(d);
                dp_error(r, (unsigned)err.status, err.msg);
                return ROUTE_DONE;
            }
            pc->refused = arena_strndup(&r->arena, err.msg, strlen(err.msg));
            d->outcome = err.status == 403 ? METER_FORBIDDEN : METER_BAD_REQUEST;
            continue;
        }
        script_flags_rewrite(&r->arena, c, &pc->override);
        pc->reply_fix = ko.reply;
        pc->sent = d->nsent;
        d->send[d->nsent++] = (backend_cmd){*c, ko.as_gateway};
        if (v.is_write) {
            d->is_write = true;
            for (int j = 1; j < c->argc; j++)
                if ((int64_t)c->lens[j] > d->largest_record) d->largest_record = (int64_t)c->lens[j];
        }
        if (v.info && (v.info->flags & CMD_DENYOOM)) d->grows = true;
        if (!v.is_free || ++d->free_sent > DP_FREE_MAX) d->billable++;
    }
    if (d->nsent == 0) { /* a pipeline whose every command was refused */
        answer(r);
        return ROUTE_DONE;
    }
    if (quota_refuses(r, d)) return ROUTE_DONE;
    d->nreplies = d->nsent + 2;
    d->replies = xcalloc((size_t)d->nreplies, sizeof *d->replies);
    charge_inflight(r, d);
    d->submit_us = clock_mono_us();
    int rc = d->walks ? walk_run_submit(d->walks, d->be, d->send, d->nsent, d->database_id,
                                        d->replies, on_replies, r, &err)
                      : backend_submit(d->be, d->send, d->nsent, transaction,
                                       d->ks.len ? d->database_id : NULL, d->replies,
                                       on_replies, r, &err);
    if (rc) {
        unsend(d);
        dp_error(r, (unsigned)err.status, err.msg);
        return ROUTE_DONE;
    }
    d->inflight = true;
    return ROUTE_PENDING;
}

static route_result run_json(tg_request *r)
{
    tg_err err;
    dp_request *d = dp_of(r);
    if (argv_parse_json(&r->arena, r->body.data, r->body.len, d->kind != METER_SINGLE,
                        &d->cmds, &err)) {
        dp_error(r, (unsigned)err.status, err.msg);
        return ROUTE_DONE;
    }
    return execute(r, d->kind == METER_MULTI_EXEC);
}

route_result dp_single_json(tg_request *r)
{
    return start(r, METER_SINGLE, run_json);
}

route_result dp_pipeline(tg_request *r)
{
    return start(r, METER_PIPELINE, run_json);
}

route_result dp_multi_exec(tg_request *r)
{
    return start(r, METER_MULTI_EXEC, run_json);
}

typedef struct query_acc {
    arena *a;
    tg_query_arg *args;
    int n, cap;
} query_acc;

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind,
                                     const char *key, const char *value)
{
    query_acc *q = cls;
    (void)kind;
    if (q->n == q->cap) {
        int cap = q->cap ? q->cap * 2 : 8;
        tg_query_arg *na = arena_alloc(q->a, (size_t)cap * sizeof *na);
        if (q->n) memcpy(na, q->args, (size_t)q->n * sizeof *na);
        q->args = na;
        q->cap = cap;
    }
    q->args[q->n].key = key;
    q->args[q->n].value = value;
    q->n++;
    return MHD_YES;
}

static route_result run_path(tg_request *r)
{
    tg_err err;
    dp_request *d = dp_of(r);
    query_acc q = {&r->arena, NULL, 0, 0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_query, &q);
    d->cmds.cmds = arena_alloc(&r->arena, sizeof *d->cmds.cmds);
    d->cmds.n = 1;
    if (argv_parse_path(&r->arena, r->path, r->body.data, r->body.len, q.args, q.n,
                        &d->cmds.cmds[0], &err)) {
        dp_error(r, (unsigned)err.status, err.msg);
        return ROUTE_DONE;
    }
    return execute(r, false);
}

route_result dp_single_path(tg_request *r)
{
    return start(r, METER_SINGLE, run_path);
}
