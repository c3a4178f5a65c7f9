/*
 * dataplane.c - the command endpoints of docs/protocol.md: POST / (JSON), the
 * path form, /pipeline, /multi-exec, and /healthz.
 *
 * Every command handler runs the same steps: response format headers,
 * token, backend, parse, policy per command, submit; the reply callback
 * then encodes the answer. Commands refused by policy inside a pipeline
 * become per-entry errors and are not sent; in a single command or a
 * transaction they refuse the whole request.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway/redis/backend.h"
#include "gateway/policy/keyspace.h"
#include "common/mem.h"
#include "gateway/protocol/reply.h"
#include "gateway/http/respond.h"
#include "gateway/protocol/script_flags.h"
#include "gateway/http/route.h"

/* ==== Request preparation ==== */

static int read_format(tg_request *r)
{
    const char *enc = request_header(r, "Upstash-Encoding");
    const char *fmt = request_header(r, "Upstash-Response-Format");
    bool b64 = enc && !strcasecmp(enc, "base64");
    r->format = b64 ? RESP_JSON_BASE64 : RESP_JSON;
    if (!fmt || !strcasecmp(fmt, "json")) return 0;
    if (strcasecmp(fmt, "resp2") != 0) {
        request_error(r, 400, "ERR Upstash-Response-Format must be 'json' or 'resp2'");
        return -1;
    }
    if (b64) {
        request_error(r, 400, "ERR Upstash-Response-Format resp2 cannot be combined "
                      "with Upstash-Encoding base64");
        return -1;
    }
    r->format = RESP_RESP2;
    return 0;
}

/* The token: `Authorization: Bearer <jwt>`, else `?_token=<jwt>`. */
static int token_of(tg_request *r, const char **tok, size_t *len)
{
    const char *h = request_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    *tok = NULL;
    *len = 0;
    if (h) {
        while (*h == ' ') h++;
        if (strncasecmp(h, "Bearer ", 7) != 0) return 0;
        h += 7;
        while (*h == ' ') h++;
        size_t n = strlen(h);
        while (n > 0 && h[n - 1] == ' ') n--;
        *tok = h;
        *len = n;
        return 0;
    }
    const char *q = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "_token");
    if (!q) return 0;
    char *dec;
    tg_err err;
    if (argv_pct_decode(&r->arena, q, strlen(q), true, &dec, len, &err)) return -1;
    *tok = dec;
    return 0;
}

/* A shared database: its prefix, and its ACL user in place on the backend
 * (made sure of once per cached token and backend user generation). */
static int shared_prepare(tg_request *r, const auth_grant *g, tg_err *err)
{
    if (!r->binfo->caps.scripts_contained)
        return tg_fail(err, 503, "ERR shared databases need ACL users, which this "
                       "backend refused");
    uint32_t gen = backend_users_gen(r->binfo);
    if (*g->users_seen != gen) {
        if (backend_db_user_ensure(r->binfo, g->database_id, g->key_prefix,
                                   (int)r->w->cfg->redis_connect_timeout_ms, err))
            return -1;
        *g->users_seen = gen;
    }
    size_t n = strlen(g->key_prefix);
    r->ks.prefix = arena_strndup(&r->arena, g->key_prefix, n);
    r->ks.len = n;
    return 0;
}

static int prepare(tg_request *r)
{
    tg_err err;
    const char *tok;
    size_t len;
    if (!meter_admit()) {
        r->outcome = METER_BACKLOG;
        request_error(r, 503, "ERR metering backlog full");
        return -1;
    }
    if (read_format(r)) return -1;
    if (token_of(r, &tok, &len) || !tok || len == 0) {
        request_error(r, 401, "WRONGPASS invalid or missing auth token");
        return -1;
    }
    auth_grant g;
    if (auth_authenticate(r->w->auth, tok, len, time(NULL), &g, &err)) {
        request_error(r, err.status, err.msg);
        return -1;
    }
    /* Grant strings belong to the auth cache, which other requests on this
     * thread may evict before this one completes: keep copies. */
    r->tenant_id = arena_strndup(&r->arena, g.tenant_id, strlen(g.tenant_id));
    r->database_id = arena_strndup(&r->arena, g.database_id, strlen(g.database_id));
    r->jti = arena_strndup(&r->arena, g.jti, strlen(g.jti));
    r->scope = g.scope;
    r->cmd_allow = g.cmd_allow;
    r->cmd_deny = g.cmd_deny;
    if (worker_backend(r->w, g.redis_url, g.db_index, &r->be, &r->binfo, &err)) {
        request_error(r, err.status, err.msg);
        return -1;
    }
    if (g.key_prefix && shared_prepare(r, &g, &err)) {
        request_error(r, err.status, err.msg);
        return -1;
    }
    return 0;
}

/* ==== Encoding the answer ==== */

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void entry_error(tg_request *r, buf *out, const char *msg)
{
    if (r->format == RESP_RESP2) {
        buf_putc(out, '-');
        buf_puts(out, msg);
        buf_append(out, "\r\n", 2);
    } else {
        reply_json_error(out, msg, strlen(msg));
    }
}

/* One command's answer; override (may be NULL) replaces a string reply;
 * fix (CMD_REPLY_*) says which key names a shared database strips. */
static void entry_reply(tg_request *r, buf *out, redisReply *rep,
                        const char *override, uint8_t fix)
{
    if (r->ks.len) keyspace_unprefix(&r->ks, fix, rep);
    if (rep->type == REDIS_REPLY_ERROR) r->outcome = METER_REDIS_ERROR;
    redisReply swapped;
    if (override && rep->type == REDIS_REPLY_STRING) {
        swapped = *rep;
        swapped.str = (char *)override;
        swapped.len = strlen(override);
        rep = &swapped;
    }
    if (r->format == RESP_RESP2) reply_resp2(out, rep);
    else reply_json_entry(out, rep, r->format == RESP_JSON_BASE64);
}

/* Pipeline: one entry per command, refusals and replies in order. */
static void encode_pipeline(tg_request *r, buf *out)
{
    bool json = r->format != RESP_RESP2;
    int k = 0;
    if (json) buf_putc(out, '[');
    for (int i = 0; i < r->cmds.n; i++) {
        if (json && i) buf_putc(out, ',');
        if (r->local_err[i]) entry_error(r, out, r->local_err[i]);
        else {
            entry_reply(r, out, r->replies[k], r->override[k], r->reply_fix[k]);
            k++;
        }
    }
    if (json) buf_putc(out, ']');
}

/* Returns the HTTP status. */
static unsigned encode_answer(tg_request *r, buf *out)
{
    bool json = r->format != RESP_RESP2;
    if (r->kind == METER_PIPELINE) {
        encode_pipeline(r, out);
        return 200;
    }
    if (r->kind == METER_MULTI_EXEC) {
        redisReply *exec = r->replies[r->nsent + 1];
        if (exec->type == REDIS_REPLY_ERROR) {
            /* Discarded as a whole: name the command that caused it. */
            r->outcome = METER_REDIS_ERROR;
            redisReply *why = NULL;
            for (int i = 1; i <= r->nsent && !why; i++)
                if (r->replies[i]->type == REDIS_REPLY_ERROR) why = r->replies[i];
            if (r->ks.len) {
                keyspace_unprefix(&r->ks, CMD_REPLY_PLAIN, exec);
                if (why) keyspace_unprefix(&r->ks, CMD_REPLY_PLAIN, why);
            }
            if (json) {
                char msg[512];
                snprintf(msg, sizeof msg, "%.*s%s%.*s", (int)exec->len, exec->str,
                         why ? " Cause: " : "", why ? (int)why->len : 0,
                         why ? why->str : "");
                reply_json_error(out, msg, strlen(msg));
            } else {
                reply_resp2(out, exec);
            }
            return 400;
        }
        if (exec->type != REDIS_REPLY_ARRAY) {
            entry_error(r, out, "ERR transaction aborted");
            return 400;
        }
        if (!json) {
            for (size_t i = 0; r->ks.len && i < exec->elements && (int)i < r->nsent; i++)
                keyspace_unprefix(&r->ks, r->reply_fix[i], exec->element[i]);
            reply_resp2(out, exec);
            return 200;
        }
        buf_putc(out, '[');
        for (size_t i = 0; i < exec->elements; i++) {
            if (i) buf_putc(out, ',');
            bool ours = (int)i < r->nsent;
            entry_reply(r, out, exec->element[i], ours ? r->override[i] : NULL,
                        ours ? r->reply_fix[i] : CMD_REPLY_PLAIN);
        }
        buf_putc(out, ']');
        return 200;
    }
    redisReply *rep = r->replies[0];
    entry_reply(r, out, rep, r->override[0], r->reply_fix[0]);
    return rep->type == REDIS_REPLY_ERROR ? 400 : 200;
}

static void answer(tg_request *r)
{
    buf out;
    buf_init(&out);
    unsigned status = encode_answer(r, &out);
    r->bytes_out = out.len;
    const char *ct = r->format == RESP_RESP2 ? "application/octet-stream"
                                              : "application/json";
    request_respond(r, status, respond_body(r->w->cfg, request_header(r, "Origin"),
                                            &out, ct));
}

static void on_replies(void *ctx, const tg_err *err)
{
    tg_request *r = ctx;
    r->inflight = false;
    r->w->inflight--;
    r->backend_us = (uint32_t)(mono_us() - r->submit_us);
    if (err) {
        request_error(r, (unsigned)err->status, err->msg);
        return;
    }
    if (r->is_write) sync_token_bump();
    answer(r);
}

/* ==== Running commands ==== */

/* shared_scripts: a script that wrote and then loops can be neither killed
 * nor waited out, and keeps a shared Redis BUSY for every tenant; with
 * read-only, only scripts Redis itself keeps from writing run. */
static int shared_scripts_check(const tg_config *cfg, const cmd_info *c, tg_err *err)
{
    if (!c || !(c->categories & CMD_CAT_SCRIPTING) || !strcmp(cfg->shared_scripts, "all"))
        return 0;
    bool harmless = (c->flags & CMD_READONLY) || !strcmp(c->name, "script|load") ||
                    !strcmp(c->name, "script|exists");
    if (!strcmp(cfg->shared_scripts, "read-only") && harmless) return 0;
    return tg_fail(err, 400, "ERR command '%s' is not allowed on a shared database here "
                   "(shared_scripts = %s)%s", c->name, cfg->shared_scripts,
                   strcmp(cfg->shared_scripts, "off") ? ": use EVAL_RO / EVALSHA_RO" : "");
}

static route_result execute(tg_request *r, bool transaction)
{
    int n = r->cmds.n;
    tg_err err;
    r->local_err = arena_alloc(&r->arena, (size_t)n * sizeof *r->local_err);
    r->sent = arena_alloc(&r->arena, (size_t)n * sizeof *r->sent);
    r->override = arena_alloc(&r->arena, (size_t)n * sizeof *r->override);
    r->reply_fix = arena_alloc(&r->arena, (size_t)n * sizeof *r->reply_fix);
    r->as_gateway = arena_alloc(&r->arena, (size_t)n * sizeof *r->as_gateway);
    r->asked = arena_alloc(&r->arena, (size_t)n * sizeof *r->asked);
    r->asked_len = arena_alloc(&r->arena, (size_t)n * sizeof *r->asked_len);
    for (int i = 0; i < n; i++) {
        tg_cmd *c = &r->cmds.cmds[i];
        cmd_verdict v;
        keyspace_out ko = {CMD_REPLY_PLAIN, false};
        const char *asked = c->argv[0];
        size_t asked_len = c->lens[0];
        r->local_err[i] = NULL;
        if (policy_check(r->binfo->cmds, r->scope, &r->binfo->caps, c->argc,
                         c->argv, c->lens, &v, &err) ||
            policy_check_rules(v.info, c->argv[0], c->lens[0], r->cmd_allow, r->cmd_deny,
                               &err) ||
            (r->ks.len && (shared_scripts_check(r->w->cfg, v.info, &err) ||
                           keyspace_rewrite(&r->arena, &r->ks, v.info, transaction, c, &ko,
                                            &err)))) {
            if (r->kind != METER_PIPELINE) {
                request_error(r, (unsigned)err.status, err.msg);
                return ROUTE_DONE;
            }
            r->local_err[i] = arena_strndup(&r->arena, err.msg, strlen(err.msg));
            r->outcome = err.status == 403 ? METER_FORBIDDEN : METER_BAD_REQUEST;
            continue;
        }
        script_flags_rewrite(&r->arena, c, &r->override[r->nsent]);
        r->reply_fix[r->nsent] = ko.reply;
        r->as_gateway[r->nsent] = ko.as_gateway;
        r->asked[r->nsent] = asked;
        r->asked_len[r->nsent] = asked_len;
        r->sent[r->nsent++] = *c;
        if (v.is_write) r->is_write = true;
        if (!v.is_free) r->billable++;
    }
    if (r->nsent == 0) { /* a pipeline whose every command was refused */
        answer(r);
        return ROUTE_DONE;
    }
    r->replies = xcalloc((size_t)r->nsent + 2, sizeof *r->replies);
    r->submit_us = mono_us();
    if (backend_submit(r->be, r->sent, r->nsent, transaction,
                       r->ks.len ? r->database_id : NULL, r->as_gateway, r->replies,
                       on_replies, r, &err)) {
        request_error(r, (unsigned)err.status, err.msg);
        return ROUTE_DONE;
    }
    r->inflight = true;
    r->w->inflight++;
    return ROUTE_PENDING;
}

static route_result run_json(tg_request *r, meter_kind kind)
{
    tg_err err;
    r->kind = kind;
    if (prepare(r)) return ROUTE_DONE;
    if (argv_parse_json(&r->arena, r->body.data, r->body.len, kind != METER_SINGLE,
                        &r->cmds, &err)) {
        request_error(r, (unsigned)err.status, err.msg);
        return ROUTE_DONE;
    }
    return execute(r, kind == METER_MULTI_EXEC);
}

route_result dp_single_json(tg_request *r)
{
    return run_json(r, METER_SINGLE);
}

route_result dp_pipeline(tg_request *r)
{
    return run_json(r, METER_PIPELINE);
}

route_result dp_multi_exec(tg_request *r)
{
    return run_json(r, METER_MULTI_EXEC);
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

route_result dp_single_path(tg_request *r)
{
    tg_err err;
    r->kind = METER_SINGLE;
    if (prepare(r)) return ROUTE_DONE;
    query_acc q = {&r->arena, NULL, 0, 0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_query, &q);
    r->cmds.cmds = arena_alloc(&r->arena, sizeof *r->cmds.cmds);
    r->cmds.n = 1;
    if (argv_parse_path(&r->arena, r->path, r->body.data, r->body.len, q.args, q.n,
                        &r->cmds.cmds[0], &err)) {
        request_error(r, (unsigned)err.status, err.msg);
        return ROUTE_DONE;
    }
    return execute(r, false);
}

route_result dp_health(tg_request *r)
{
    buf out;
    buf_init(&out);
    buf_puts(&out, "{\"status\":\"ok\"}");
    request_respond(r, 200, respond_body(r->w->cfg, request_header(r, "Origin"), &out,
                                         "application/json"));
    return ROUTE_DONE;
}
