/* ctl.c - see ctl.h: dispatch, tokens, bodies, the offload and answers. */
#include "gateway/handlers/ctl.h"

#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "common/clock.h"
#include "common/ev.h"
#include "common/mem.h"
#include "gateway/handlers/accounting.h"
#include "gateway/http/respond.h"

/* ==== Problems ==== */

#define PROBLEM_BASE "urn:tollgate:problem:"

static const struct {
    unsigned status;
    const char *slug, *title;
} problem_types[] = {
    {400, "invalid-request", "Invalid request"},
    {401, "unauthorized", "Missing or invalid token"},
    {403, "forbidden", "Not allowed for this token"},
    {404, "not-found", "Not found"},
    {405, "method-not-allowed", "Method not allowed"},
    {409, "conflict", "Conflict"},
    {413, "too-large", "Request too large"},
    {503, "unavailable", "Temporarily unavailable"},
    {500, "internal", "Internal error"},
};

static void problem_of(unsigned status, const char *slug, const char **type_slug,
                       const char **title)
{
    size_t n = sizeof problem_types / sizeof problem_types[0];
    for (size_t i = 0; i < n; i++)
        if (problem_types[i].status == status || i == n - 1) {
            *type_slug = slug ? slug : problem_types[i].slug;
            *title = problem_types[i].title;
            return;
        }
}

/* The answer, with one more header (hname: hvalue) unless hname is NULL. */
static void answer_json(tg_request *r, unsigned status, cJSON *o, const char *ctype,
                        const char *hname, const char *hvalue)
{
    char *text = cJSON_PrintUnformatted(o);
    buf b;
    buf_init(&b);
    buf_puts(&b, text);
    free(text);
    r->bytes_out = b.len;
    struct MHD_Response *resp = respond_body(request_config(r), request_header(r, "Origin"),
                                             &b, ctype);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (hname) MHD_add_response_header(resp, hname, hvalue);
    request_respond(r, status, resp);
}

static void problem_with(tg_request *r, unsigned status, const char *slug, const char *detail,
                         const char *hname, const char *hvalue)
{
    const char *type, *title;
    problem_of(status, slug, &type, &title);
    char uri[96];
    snprintf(uri, sizeof uri, PROBLEM_BASE "%s", type);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", uri);
    cJSON_AddStringToObject(o, "title", title);
    cJSON_AddNumberToObject(o, "status", status);
    /* The detail never repeats a token: messages come from our checks. */
    const char *d = detail;
    if (!strncmp(d, "ERR ", 4)) d += 4;
    cJSON_AddStringToObject(o, "detail", d);
    answer_json(r, status, o, "application/problem+json", hname, hvalue);
    cJSON_Delete(o);
}

static void problem(tg_request *r, unsigned status, const char *slug, const char *detail,
                    const char *allow)
{
    problem_with(r, status, slug, detail, allow ? MHD_HTTP_HEADER_ALLOW : NULL, allow);
}

int ctl_bad(ctl_job *j, const char *field, const char *what)
{
    j->problem = "invalid-field";
    return tg_fail(&j->err, 400, "%s: %s", field, what);
}

/* ==== Threads ==== */

static void *thread_init(void *arg, tg_err *err)
{
    const ctl_shared *sh = arg;
    const tg_config *cfg = __atomic_load_n(sh->now, __ATOMIC_ACQUIRE)->cfg;
    ctl_thread *t = xcalloc(1, sizeof *t);
    if (sqlite3_open_v2(cfg->sqlite_path, &t->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        tg_fail(err, 500, "control: %s: %s", cfg->sqlite_path,
                t->db ? sqlite3_errmsg(t->db) : "cannot open");
        sqlite3_close(t->db);
        free(t);
        return NULL;
    }
    sqlite3_busy_timeout(t->db, 5000);
    t->sh = sh;
    t->q = sh->q;
    t->purger = sh->purger;
    return t;
}

static void thread_fini(void *ctx)
{
    ctl_thread *t = ctx;
    if (!t) return;
    sqlite3_close(t->db);
    free(t);
}

workq *ctl_threads_start(const ctl_shared *sh, tg_err *err)
{
    workq *q = workq_start(CTL_THREADS, thread_init, thread_fini, (void *)sh, err);
    if (q) workq_set_limit(q, CTL_QUEUE_MAX);
    return q;
}

static void job_run(workq_job *wj, void *ctx)
{
    ctl_job *j = (ctl_job *)wj;
    ctl_thread *t = ctx;
    const ctl_config *now = __atomic_load_n(t->sh->now, __ATOMIC_ACQUIRE);
    t->cfg = now->cfg;
    t->keys = now->keys;
    j->err.status = 0;
    if (j->op->fn(j, t)) {
        if (!j->err.status) tg_fail(&j->err, 500, "control: failed");
    } else {
        j->err.status = 0;     /* succeeded: whatever was tried before */
    }
}

/* ==== Per worker ==== */

struct ctl_worker {
    ev_watch watch;              /* first */
    workq *pool;
    workq_port *port;
};

static void on_port(ev_watch *self, uint32_t events)
{
    (void)events;
    workq_port_complete(((ctl_worker *)self)->port);
}

ctl_worker *ctl_worker_new(workq *pool, int epfd, tg_err *err)
{
    ctl_worker *cw = xcalloc(1, sizeof *cw);
    cw->pool = pool;
    cw->watch.on_event = on_port;
    if (!(cw->port = workq_port_new(err))) {
        free(cw);
        return NULL;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cw->watch};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, workq_port_fd(cw->port), &ev)) {
        tg_fail(err, 500, "epoll_ctl: cannot watch the control port");
        workq_port_free(cw->port);
        free(cw);
        return NULL;
    }
    return cw;
}

void ctl_worker_drain(ctl_worker *cw)
{
    if (cw) workq_port_drain(cw->port);
}

void ctl_worker_free(ctl_worker *cw)
{
    if (!cw) return;
    workq_port_free(cw->port);
    free(cw);
}

/* ==== Jobs ==== */

static void job_free(ctl_job *j)
{
    cJSON_Delete(j->body);
    cJSON_Delete(j->out);
    buf_release(&j->raw);
    for (int i = 0; i < 2; i++) free(j->ids[i]);
    for (int i = 0; i < CTL_Q_COUNT; i++) free(j->query[i]);
    free(j);
}

static void job_done(workq_job *wj)
{
    ctl_job *j = (ctl_job *)wj;
    tg_request *r = j->r;
    if (r) {
        r->app = NULL;
        if (j->err.status) {
            problem(r, (unsigned)j->err.status, j->problem, j->err.msg, NULL);
        } else if (j->raw_type) {
            r->bytes_out = j->raw.len;
            request_respond(r, j->status ? j->status : j->op->ok_status,
                            respond_body(request_config(r), request_header(r, "Origin"),
                                         &j->raw, j->raw_type));
        } else if (j->out) {
            answer_json(r, j->status ? j->status : j->op->ok_status, j->out,
                        "application/json", NULL, NULL);
        } else {
            buf b;
            buf_init(&b);
            request_respond(r, 204, respond_body(request_config(r), NULL, &b,
                                                 "application/json"));
        }
    }
    job_free(j);
}

/* The request's completion hook: a job still out forgets it, and is
 * skipped if it has not started (its client left). */
static void ctl_request_done(tg_request *r, bool aborted)
{
    ctl_job *j = r->app;
    if (j) {
        j->r = NULL;
        workq_job_cancel(&j->wq);
    }
    r->app = NULL;
    accounting_done(r, aborted);
}

/* ==== Matching ==== */

static const char *const query_names[CTL_Q_COUNT] = {
    [CTL_Q_LIMIT] = "limit", [CTL_Q_CURSOR] = "cursor", [CTL_Q_TENANT] = "tenant_id",
    [CTL_Q_FROM] = "from",   [CTL_Q_TO] = "to",         [CTL_Q_STEP] = "step",
    [CTL_Q_PERIOD] = "period", [CTL_Q_FORMAT] = "format",
};

/* Does path match pattern ('*' = one non-empty segment)? Captures into
 * ids (malloc'd) when ids is not NULL. */
static bool pattern_match(const char *pattern, const char *path, char **ids)
{
    int n = 0;
    while (*pattern && *path) {
        if (*pattern == '*') {
            size_t len = strcspn(path, "/");
            if (!len || len >= 128 || n >= 2) return false;
            if (ids) ids[n] = xstrndup(path, len);
            n++;
            path += len;
            pattern++;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return !*pattern && !*path;
}

static const ctl_op *op_find(const char *path, unsigned method, unsigned *allowed)
{
    static const struct { const ctl_op *ops; const size_t *n; } tables[] = {
        {ctl_admin_ops, &ctl_admin_nops}, {ctl_tenant_ops, &ctl_tenant_nops}};
    *allowed = 0;
    for (size_t t = 0; t < 2; t++)
        for (size_t i = 0; i < *tables[t].n; i++) {
            const ctl_op *op = &tables[t].ops[i];
            if (!pattern_match(op->pattern, path, NULL)) continue;
            if (op->methods & method) return op;
            *allowed |= op->methods;
        }
    return NULL;
}

/* Is name in the comma-separated list (NULL: empty)? */
static bool listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list ? list : ""; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && !strncmp(p, name, n)) return true;
        p += len + (p[len] == ',');
    }
    return false;
}

/* Refuses fields not in the op's list; the body must be an object. */
static int body_check(const ctl_op *op, cJSON *body, char *why, size_t cap)
{
    if (!cJSON_IsObject(body)) {
        snprintf(why, cap, "the body must be a JSON object");
        return -1;
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, body)
        if (!listed(op->fields, f->string)) {
            snprintf(why, cap, "%.64s: unknown field", f->string);
            return -1;
        }
    return 0;
}

typedef struct query_seen {
    const ctl_op *op;
    char why[128];
} query_seen;

static enum MHD_Result query_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    query_seen *q = cls;
    (void)kind;
    (void)value;
    if (listed(q->op->query, key)) return MHD_YES;
    snprintf(q->why, sizeof q->why, "%.64s: unknown query parameter", key);
    return MHD_NO;
}

static void base_url(tg_request *r, char *out, size_t cap)
{
    const char *host = request_header(r, "Host");
    bool ok = host && *host && strlen(host) < cap - 10;
    for (const char *p = host; ok && *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".-:[]", *p)) ok = false;
    snprintf(out, cap, "%s://%s", request_config(r)->tls_cert ? "https" : "http",
             ok ? host : "localhost");
}

route_result ctl_dispatch(tg_request *r)
{
    const char *path = !strcmp(r->path, "/admin/usage") ? "/v1/admin/usage" : r->path;
    unsigned allowed;
    const ctl_op *op = op_find(path, r->method, &allowed);
    if (!op) {
        if (!allowed) {
            problem(r, 404, NULL, "no such endpoint", NULL);
        } else {
            char allow[96];
            route_allow_header(allowed, allow, sizeof allow);
            problem(r, 405, NULL, "method not allowed on this endpoint", allow);
        }
        return ROUTE_DONE;
    }
    const tg_config *cfg = request_config(r);
    const char *tok;
    size_t len;
    tg_err err;
    control_principal who;
    request_bearer(r, &tok, &len);
    if (!tok) {
        problem(r, 401, NULL, "Authorization: Bearer <admin or tenant token> required", NULL);
        return ROUTE_DONE;
    }
    if (control_token_verify(cfg->admin_jwt_secret, tok, len, time(NULL), cfg->jwt_leeway_s,
                             &who, &err)) {
        problem(r, 401, NULL, err.msg, NULL);
        return ROUTE_DONE;
    }
    if (who.role != op->role) {
        problem(r, 403, NULL, op->role == CONTROL_ADMIN ? "an admin token is required"
                                                       : "a tenant token is required", NULL);
        return ROUTE_DONE;
    }
    query_seen qs = {op, ""};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_one, &qs);
    if (qs.why[0]) {
        problem(r, 400, "unknown-field", qs.why, NULL);
        return ROUTE_DONE;
    }
    cJSON *body = NULL;
    if (r->body.len) {
        char why[128];
        if (!op->fields) {
            problem(r, 400, "unknown-field", "this endpoint takes no body", NULL);
            return ROUTE_DONE;
        }
        body = cJSON_ParseWithLength(r->body.data, r->body.len);
        if (!body) {
            problem(r, 400, "invalid-json", "the body is not valid JSON", NULL);
            return ROUTE_DONE;
        }
        if (body_check(op, body, why, sizeof why)) {
            cJSON_Delete(body);
            problem(r, 400, "unknown-field", why, NULL);
            return ROUTE_DONE;
        }
    }
    ctl_job *j = xcalloc(1, sizeof *j);
    j->r = r;
    j->op = op;
    j->who = who;
    j->body = body;
    buf_init(&j->raw);
    pattern_match(op->pattern, path, j->ids);
    for (int i = 0; i < CTL_Q_COUNT; i++) {
        const char *v = request_query(r, query_names[i]);
        if (v) j->query[i] = xstrndup(v, strlen(v));
    }
    base_url(r, j->base_url, sizeof j->base_url);
    j->wq.run = job_run;
    j->wq.done = job_done;
    ctl_worker *cw = ctl_worker_of(r);
    if (workq_submit(cw->pool, cw->port, &j->wq)) {
        job_free(j);
        problem_with(r, 503, NULL, "the control plane is busy: retry shortly", "Retry-After",
                     "1");
        return ROUTE_DONE;
    }
    /* Answered on this thread (the port's), so after these are set. */
    r->app = j;
    r->done = ctl_request_done;
    return ROUTE_PENDING;
}

/* ==== Helpers for operations ==== */

int ctl_body_string(ctl_job *j, const char *name, bool required, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j->body, name);
    if (!v) return required ? ctl_bad(j, name, "required") : 0;
    if (!cJSON_IsString(v)) return ctl_bad(j, name, "must be a string");
    *out = v->valuestring;
    return 0;
}

int ctl_body_int(ctl_job *j, const char *name, bool required, int64_t min, int64_t max,
                 int64_t null_value, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j->body, name);
    if (!v) return required ? ctl_bad(j, name, "required") : 0;
    if (cJSON_IsNull(v) && null_value != LLONG_MIN) {
        *out = null_value;
        return 0;
    }
    double d = v->valuedouble;
    /* int64_t's range first (2^63 is exact as a double): converting a
     * double outside it, or NaN, is undefined. */
    bool in_i64 = cJSON_IsNumber(v) && d >= -9223372036854775808.0 && d < 9223372036854775808.0;
    if (!in_i64 || d != (double)(int64_t)d || (int64_t)d < min || (int64_t)d > max) {
        char what[96];
        snprintf(what, sizeof what, "must be an integer from %lld to %lld", (long long)min,
                 (long long)max);
        return ctl_bad(j, name, what);
    }
    *out = (int64_t)d;
    return 0;
}

int ctl_page(ctl_job *j, int *limit, const char **cursor)
{
    *limit = 50;
    *cursor = j->query[CTL_Q_CURSOR];
    const char *s = j->query[CTL_Q_LIMIT];
    if (s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || *end || v < 1 || v > 100) return ctl_bad(j, "limit", "1 to 100");
        *limit = (int)v;
    }
    if (*cursor && (!**cursor || strlen(*cursor) >= 64))
        return ctl_bad(j, "cursor", "not a cursor this API gave");
    return 0;
}

int ctl_time_arg(ctl_job *j, int which, const char *name, int64_t dflt, int64_t *out)
{
    const char *s = j->query[which];
    if (!s) {
        *out = dflt;
        return 0;
    }
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end != s && !*end && v >= 0) {
        *out = v;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end && (!strcmp(end, "Z") || !strcmp(end, "+00:00"))) {
        *out = (int64_t)timegm(&tm);
        return 0;
    }
    return ctl_bad(j, name, "Unix seconds or ISO 8601 UTC (2026-12-02T05:00:00Z)");
}
