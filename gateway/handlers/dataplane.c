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
#include "gateway/handlers/observe.h"
#include "gateway/handlers/ctl.h"
#include "gateway/handlers/dp_request.h"
#include "gateway/handlers/pubsub.h"
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
    dw->hub = pubsub_new(cfg, epfd);
    pool_set_idle_timeout(dw->pool, (uint64_t)cfg->redis_idle_timeout_s * 1000);
    if (sh->ctl && !(dw->ctl = ctl_worker_new(sh->ctl, epfd, err))) {
        dp_worker_free(dw);
        return NULL;
    }
    if (dw->q) dw->ql = quota_local_new(dw->q);
    if (dw->q && cfg->quota_store == CFG_QUOTA_STORE_REDIS &&
        !(dw->qr = quota_remote_new(cfg, epfd, err))) {
        dp_worker_free(dw);
        return NULL;
    }
    return dw;
}

static void dp_auth_done(void *cookie, int rc, const auth_grant *g, const tg_err *err);

void dp_worker_drain(void *w)
{
    auth_ctx_abandon(((dp_worker *)w)->auth, dp_auth_done);
    quota_remote_drain(((dp_worker *)w)->qr);
    pool_close_all(((dp_worker *)w)->pool);
    ctl_worker_drain(((dp_worker *)w)->ctl);
}

ctl_worker *ctl_worker_of(tg_request *r)
{
    return ((dp_worker *)request_worker_app(r))->ctl;
}

void dp_worker_free(void *w)
{
    dp_worker *dw = w;
    if (!dw) return;
    ctl_worker_free(dw->ctl);
    quota_remote_free(dw->qr);
    pubsub_free(dw->hub);
    quota_local_free(dw->ql);
    pool_free(dw->pool);
    auth_ctx_free(dw->auth);
    policy_scripts_free(dw->approved);
    free(dw);
}

uint64_t dp_worker_deadline(void *w)
{
    dp_worker *dw = w;
    uint64_t d = pool_deadline(dw->pool), wd = walk_deadline();
    uint64_t qd = dw->qr ? quota_remote_deadline(dw->qr) : UINT64_MAX;
    if (qd < d) d = qd;
    uint64_t pd = pubsub_deadline(dw->hub);
    if (pd < d) d = pd;
    return wd < d ? wd : d;
}

void dp_worker_check_timeouts(void *w, uint64_t now_ms)
{
    pool_check_timeouts(((dp_worker *)w)->pool, now_ms);
    if (((dp_worker *)w)->qr) quota_remote_check_timeouts(((dp_worker *)w)->qr, now_ms);
    walk_poll(now_ms);
    pubsub_check_timeouts(((dp_worker *)w)->hub, now_ms);
}

void dp_worker_flush(void *w)
{
    pool_flush(((dp_worker *)w)->pool);
    pubsub_flush(((dp_worker *)w)->hub);
    if (((dp_worker *)w)->qr) quota_remote_flush(((dp_worker *)w)->qr);
    observe_flush();   /* this turn's access lines */
    quota_local_flush(((dp_worker *)w)->ql);
}

/* ==== Answers ==== */

/* Every answer of an authenticated request carries its database's sync
 * token; nothing else does. */
void dp_respond(tg_request *r, unsigned status, struct MHD_Response *resp)
{
    dp_request *d = dp_of(r);
    if (d->sync) {
        char tok[24];
        snprintf(tok, sizeof tok, "%llu", (unsigned long long)sync_token_current(d->sync));
        MHD_add_response_header(resp, "upstash-sync-token", tok);
    }
    if (d->quota_checked && d->qv.allowed && request_config(r)->quota_headers)
        quota_gate_headers(&d->qv, resp);
    request_respond(r, status, resp);
}

void dp_error(tg_request *r, unsigned status, const char *msg)
{
    struct MHD_Response *resp = respond_error(request_config(r), request_header(r, "Origin"), msg);
    if (status == 405) /* a write on HEAD (policy_check_head) */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, POST, PUT, OPTIONS");
    dp_respond(r, status, resp);
}

/* Frees the replies (at the answer, once encoded: an answer not yet read
 * by a slow client holds its encoding only; or at completion). */
void dp_free_replies(dp_request *d)
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
    if (d->quota_waiting) quota_remote_cancel(d->dw->qr, r);
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
            .quota_limit = d->quota_checked && !d->qv.allowed ? (uint8_t)d->qv.refused : 0,
        };
        for (int i = 0; i < d->cmds.n; i++)
            if (d->per && d->per[i].sent >= 0)
                meter_event_add_command(&e, d->per[i].asked, d->per[i].asked_len);
        accounting_record(r, &e);
        if (d->dw->q && d->database_id) /* settled against what was metered */
            quota_record_local(d->dw->ql, d->database_id, d->quota_checked ? &d->qv : NULL,
                               &(quota_usage){e.outcome, e.billable_commands,
                                              (int64_t)e.bytes_in, (int64_t)e.bytes_out,
                                              quota_now_ns()});
    } else if (d->dw->q && d->database_id && d->quota_checked) {
        quota_record(d->dw->q, d->database_id, &d->qv,
                     &(quota_usage){d->outcome, 0, 0, 0, quota_now_ns()});
    }
    quota_leave(&d->qv);
    dp_free_replies(d);
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

/* A shared database, or one that owns its server: its ACL user in place on
 * the backend (made sure of once per cached token and backend user
 * generation, by an ACL SETUSER queued in the connection's pipeline:
 * nothing blocks here), and a shared one's prefix. */
static int shared_prepare(tg_request *r, dp_request *d, const auth_grant *g, tg_err *err)
{
    if (!d->binfo->caps.scripts_contained)
        return tg_fail(err, 503, "ERR %s databases need ACL users, which this "
                       "backend refused", g->key_prefix ? "shared" : "server-isolated");
    uint32_t gen = backend_users_gen(d->binfo);
    if (*g->users_seen != gen) {
        if (backend_ensure_db_user(d->be, g->database_id, g->key_prefix, err)) return -1;
        *g->users_seen = gen;
    }
    d->db_user = d->database_id;
    if (!g->key_prefix) return 0;
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
    d->owns_server = g->owns_server;
    if (pool_get(d->dw->pool, g->redis_url, g->db_index, &d->be, &d->binfo, err)) return -1;
    if ((g->key_prefix || g->owns_server) && shared_prepare(r, d, g, err)) return -1;
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
route_result dp_start(tg_request *r, meter_kind kind, route_result (*resume)(tg_request *r))
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
    dp_answer(r);
}

/* ==== Running commands ==== */

/* Policy for one command: 0 and it may be sent (possibly rewritten), or
 * -1 with err. */
static int admit(dp_request *d, arena *a, bool transaction, bool head, tg_cmd *c,
                 cmd_verdict *v, keyspace_out *ko, tg_err *err)
{
    if (policy_check(d->binfo->cmds, d->scope, d->owns_server, &d->binfo->caps, c->argc,
                     c->argv, c->lens, v, err) ||
        (head && policy_check_head(v, err)) ||
        policy_check_rules(v->info, c->argv[0], c->lens[0], d->cmd_allow, d->cmd_deny, err) ||
        policy_check_sizes(v->info, c->argc, c->argv, c->lens,
                           (uint64_t)d->dw->cfg->max_reply_bytes, &d->reply_floor, err))
        return -1;
    if (v->as_url && transaction)
        return tg_fail(err, 400, "ERR command '%s' cannot run inside /multi-exec here "
                       "(use /pipeline)", v->info->name);
    if (v->argc) { /* a replacement (INFO's safe sections) */
        c->argc = v->argc;
        c->argv = v->argv;
        c->lens = v->lens;
    }
    /* Scripts follow the server, whatever the database's isolation. */
    if (d->server_shared &&
        policy_check_shared_scripts(d->dw->cfg->shared_scripts, d->dw->approved, v->info,
                                    c->argc, c->argv, c->lens, err))
        return -1;
    if (!d->ks.len) {
        keyspace_dedicated_channel(a, backend_db(d->be), v->info, c);
        return 0;
    }
    if (keyspace_rewrite(a, &d->ks, v->info, transaction, c, ko, err)) return -1;
    if (!ko->walk) return 0;
    if (!d->walks) d->walks = walk_run_new(a, d->dw->cfg->max_reply_bytes);
    return walk_run_add(d->walks, d->nsent, ko->walk, err);
}

static route_result send_commands(tg_request *r);

/* Answers the refusal in d->qv (nothing sent, nothing billed). */
static void quota_answer(tg_request *r, dp_request *d)
{
    unsend(d);
    d->outcome = METER_QUOTA_REJECTED;
    dp_respond(r, (unsigned)d->qv.http_status,
               quota_gate_refusal(request_config(r), request_header(r, "Origin"), &d->qv));
}

/* The shared store's verdict (quota_remote.h), on this worker's loop. */
static void on_quota_verdict(void *ctx, qr_outcome out)
{
    tg_request *r = ctx;
    dp_request *d = dp_of(r);
    d->quota_waiting = false;
    if (out == QR_ALLOWED) send_commands(r);   /* answers, or waits on Redis */
    else if (out == QR_REFUSED) quota_answer(r, d);
    else {
        unsend(d);
        dp_error(r, 503, "ERR quota store unavailable");
    }
}

/* The database's limits, asked once every command is admitted and before
 * anything is sent: a pipeline is refused whole or runs whole. ROUTE_DONE
 * when refused (answered; nothing sent, nothing billed), ROUTE_PENDING
 * while the shared store decides (on_quota_verdict goes on), else -1. */
static int quota_refuses(tg_request *r, dp_request *d)
{
    if (!d->dw->q) return -1;
    quota_ask ask = {
        .database_id = d->database_id, .token_id = d->jti, .token_rate = d->rate_limit,
        .commands = walk_run_billable(d->walks, d->billable),
        .bytes_in = (int64_t)(r->body_seen + strlen(r->path)),
        .largest_record = d->largest_record, .writes = d->grows, .now_ns = quota_now_ns(),
    };
    d->quota_checked = true;
    if (quota_check(d->dw->q, &ask, &d->qv)) {
        if (!d->dw->qr) return -1;
        switch (quota_remote_check(d->dw->qr, &ask, &d->qv, on_quota_verdict, r)) {
        case QR_ALLOWED: return -1;
        case QR_PENDING: d->quota_waiting = true; return ROUTE_PENDING;
        case QR_REFUSED: break;
        case QR_UNAVAILABLE:
            unsend(d);
            dp_error(r, 503, "ERR quota store unavailable");
            return ROUTE_DONE;
        }
    }
    quota_answer(r, d);
    return ROUTE_DONE;
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
        d->send[d->nsent++] = (backend_cmd){*c, ko.as_gateway, v.as_url};
        if (v.is_write) {
            d->is_write = true;
            for (int j = 1; j < c->argc; j++)
                if ((int64_t)c->lens[j] > d->largest_record) d->largest_record = (int64_t)c->lens[j];
        }
        if (v.info && (v.info->flags & CMD_DENYOOM)) d->grows = true;
        if (!v.is_free || ++d->free_sent > DP_FREE_MAX) d->billable++;
    }
    if (d->nsent == 0) { /* a pipeline whose every command was refused */
        dp_answer(r);
        return ROUTE_DONE;
    }
    d->transaction = transaction;
    int q = quota_refuses(r, d);
    return q >= 0 ? (route_result)q : send_commands(r);
}

/* Submits the admitted commands (execute's end, or the shared store's
 * verdict's). */
static route_result send_commands(tg_request *r)
{
    dp_request *d = dp_of(r);
    bool transaction = d->transaction;
    tg_err err;
    d->nreplies = d->nsent + 2;
    d->replies = xcalloc((size_t)d->nreplies, sizeof *d->replies);
    dp_charge_inflight(r, d);
    d->submit_us = clock_mono_us();
    int rc = d->walks ? walk_run_submit(d->walks, d->be, d->send, d->nsent, d->database_id,
                                        d->replies, on_replies, r, &err)
                      : backend_submit(d->be, d->send, d->nsent, transaction,
                                       d->db_user, d->replies,
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
    return dp_start(r, METER_SINGLE, run_json);
}

route_result dp_pipeline(tg_request *r)
{
    return dp_start(r, METER_PIPELINE, run_json);
}

route_result dp_multi_exec(tg_request *r)
{
    return dp_start(r, METER_MULTI_EXEC, run_json);
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
    return dp_start(r, METER_SINGLE, run_path);
}
