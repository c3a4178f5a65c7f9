/* observe.c - see observe.h. */
#include "gateway/handlers/observe.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/period.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/json_out.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/metrics.h"

#define ERROR_LINES_PER_S 10
#define ACCESS_FLUSH_BYTES 32768 /* a thread's buffered lines written at once past it */

/* This thread's access lines not yet written (observe_flush). */
static _Thread_local buf *acc;
static pthread_key_t acc_key;
static pthread_once_t acc_once = PTHREAD_ONCE_INIT;

static void acc_write(buf *b)
{
    if (b->len) log_access(b->data, b->len);
    buf_reset(b);
}

/* At thread exit: what is left is written, the buffer freed. */
static void acc_end(void *p)
{
    buf *b = p;
    acc_write(b);
    buf_release(b);
    free(b);
}

static void acc_key_make(void)
{
    pthread_key_create(&acc_key, acc_end);
}

static buf *acc_get(void)
{
    if (acc) return acc;
    pthread_once(&acc_once, acc_key_make);
    acc = xcalloc(1, sizeof *acc);
    buf_init(acc);
    pthread_setspecific(acc_key, acc);
    return acc;
}

void observe_flush(void)
{
    if (acc && acc->len) acc_write(acc);
}

void observe_thread_end(void)
{
    if (!acc) return;
    pthread_setspecific(acc_key, NULL);
    acc_end(acc);
    acc = NULL;
}

static const route *routes;      /* observe_set_routes */
static size_t nroutes;

void observe_set_routes(const route *table, size_t n)
{
    routes = table;
    nroutes = n;
}

static const char *const outcome_names[] = {
    "ok", "redis_error", "bad_request", "auth_failure", "forbidden", "backend_unavailable",
    "quota_rejected", "metering_backlog", "sent_unanswered", "rate_limited",
};
#define NOUTCOMES (sizeof outcome_names / sizeof outcome_names[0])

const char *observe_outcome_name(unsigned outcome)
{
    return outcome < NOUTCOMES ? outcome_names[outcome] : "other";
}

const char *observe_route_label(size_t i, char *out, size_t cap)
{
    if (i >= nroutes || i >= METRICS_ROUTES - 1) {
        snprintf(out, cap, "none");
        return out;
    }
    const route *rt = &routes[i];
    size_t n = strlen(rt->path);
    bool slash = n && rt->path[n - 1] == '/';
    if (rt->match == MATCH_PREFIX) snprintf(out, cap, "%s%s{rest}", rt->path, slash ? "" : "/");
    else snprintf(out, cap, "%s", rt->path);
    return out;
}

/* The route table row r ran (or would have: a request answered before
 * dispatch), METRICS_ROUTES - 1 for none. */
static unsigned route_index(const tg_request *r)
{
    const route *rt = r->route;
    if (!rt || rt < routes || rt >= routes + nroutes) {
        unsigned allowed;
        rt = route_find(routes, nroutes, r->path, r->method, &allowed);
    }
    if (!rt) return METRICS_ROUTES - 1;
    size_t i = (size_t)(rt - routes);
    return i < METRICS_ROUTES - 1 ? (unsigned)i : METRICS_ROUTES - 1;
}

/* ,"name": then a JSON string or null. name is a literal (no escaping). */
static void put_field(buf *b, const char *name, const char *v)
{
    buf_puts(b, ",\"");
    buf_puts(b, name);
    buf_puts(b, "\":");
    if (v) json_out_string(b, v, strlen(v));
    else buf_puts(b, "null");
}

static void put_u64(buf *b, const char *name, uint64_t v)
{
    buf_puts(b, ",\"");
    buf_puts(b, name);
    buf_puts(b, "\":");
    buf_put_i64(b, (long long)v);
}

/* ,"name":N.NNN from microseconds (no floating point). */
static void put_ms(buf *b, const char *name, uint64_t us)
{
    char frac[8];
    put_u64(b, name, us / 1000);
    snprintf(frac, sizeof frac, ".%03u", (unsigned)(us % 1000));
    buf_puts(b, frac);
}

/* "2026-12-02T05:46:02" of a second (billing/period's calendar, no
 * time-zone lock), remembered per thread: formatted once a second, not
 * per line. */
static const char *second_text(uint64_t secs)
{
    static _Thread_local uint64_t last = UINT64_MAX;
    static _Thread_local char text[24];
    if (secs != last) {
        period_iso8601((int64_t)secs, text);
        text[19] = '\0';   /* the caller adds the milliseconds and the Z */
        last = secs;
    }
    return text;
}

static void access_line(const tg_request *r, const meter_event *e, const char *label,
                        uint64_t latency_us)
{
    char shown[128], names[160], ms[8];
    meter_names_format(&e->names, names, sizeof names);
    snprintf(ms, sizeof ms, ".%03uZ", (unsigned)(r->start_ms % 1000));
    buf *b = acc_get();
    buf_puts(b, "{\"ts\":\"");
    buf_puts(b, second_text(r->start_ms / 1000));
    buf_puts(b, ms);
    buf_putc(b, '"');
    put_field(b, "request_id", r->request_id);
    put_u64(b, "event_id", r->id);
    put_field(b, "method", route_method_name(r->method));
    put_field(b, "route", label);
    put_field(b, "path", request_log_path(r->path, shown, sizeof shown));
    put_u64(b, "status", (uint64_t)e->http_status);
    put_field(b, "outcome", observe_outcome_name((unsigned)e->outcome));
    put_field(b, "tenant", e->tenant_id);
    put_field(b, "database", e->database_id);
    put_field(b, "jti", e->jti);
    put_field(b, "commands", names);
    put_u64(b, "ncommands", e->commands);
    put_u64(b, "bytes_in", e->bytes_in);
    put_u64(b, "bytes_out", e->bytes_out);
    put_ms(b, "latency_ms", latency_us);
    put_ms(b, "backend_ms", e->backend_us);
    buf_puts(b, "}\n");
    if (b->len >= ACCESS_FLUSH_BYTES) acc_write(b);
}

/* A 5xx, for the operator: which request, whose, what it became. At most
 * ERROR_LINES_PER_S a second per thread, the rest counted in the next. */
static void error_line(const tg_request *r, const meter_event *e, const char *label)
{
    static _Thread_local uint64_t window_s, lines, suppressed;
    uint64_t now_s = clock_mono_ms() / 1000;
    if (now_s != window_s) {
        window_s = now_s;
        lines = 0;
    }
    if (lines++ >= ERROR_LINES_PER_S) {
        suppressed++;
        return;
    }
    char shown[128];
    log_at(LOG_ERROR, "request %s %s %s (route %s) answered %d, outcome %s; tenant %s, "
           "database %s%s", r->request_id, route_method_name(r->method),
           request_log_path(r->path, shown, sizeof shown), label, e->http_status,
           observe_outcome_name((unsigned)e->outcome), e->tenant_id ? e->tenant_id : "-",
           e->database_id ? e->database_id : "-", suppressed ? " (and earlier ones not shown)" : "");
    suppressed = 0;
}

void observe_request(const tg_request *r, const meter_event *e)
{
    uint64_t latency_us = clock_mono_us() - r->start_us;
    unsigned ri = route_index(r);
    unsigned oi = (unsigned)e->outcome < METRICS_OUTCOMES - 1 ? (unsigned)e->outcome
                                                               : METRICS_OUTCOMES - 1;
    unsigned si = metrics_status_index((unsigned)e->http_status);
    metrics_add(MS_HTTP_REQUESTS + (ri * METRICS_STATUSES + si) * METRICS_OUTCOMES + oi, 1);
    metrics_observe(MS_HTTP_DURATION + ri * METRICS_HIST_SLOTS(METRICS_LAT_BUCKETS),
                    metrics_lat_bounds_us, METRICS_LAT_BUCKETS, latency_us);
    if (e->commands)
        metrics_observe(MS_BACKEND_DURATION, metrics_lat_bounds_us, METRICS_LAT_BUCKETS,
                        e->backend_us);
    bool log_req = request_config(r)->log_requests;
    if (!log_req && e->http_status < 500) return;
    char label[64];
    observe_route_label(ri, label, sizeof label);
    if (log_req) access_line(r, e, label, latency_us);
    if (e->http_status >= 500 && log_enabled(LOG_ERROR))
        error_line(r, e, label);
}
