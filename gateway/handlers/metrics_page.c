/* metrics_page.c - see metrics_page.h. */
#include "gateway/handlers/metrics_page.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/admin_token.h"
#include "billing/meter.h"
#include "billing/quota.h"
#include "common/metrics.h"
#include "gateway/handlers/observe.h"
#include "gateway/http/request.h"
#include "gateway/http/respond.h"

#define PREFIX "tollgate_"

static void family(buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name, help, name, type);
}

static void sample(buf *b, const char *name, long long v)
{
    buf_printf(b, PREFIX "%s %lld\n", name, v);
}

/* A label value, escaped as the text format wants. */
static void label_value(buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') buf_putc(b, '\\');
        if (*v == '\n') {
            buf_puts(b, "\\n");
            continue;
        }
        buf_putc(b, *v);
    }
}

static void counter(buf *b, const int64_t *v, const char *name, unsigned slot, const char *help)
{
    family(b, name, "counter", help);
    sample(b, name, v[slot]);
}

static void gauge(buf *b, const char *name, long long value, const char *help)
{
    family(b, name, "gauge", help);
    sample(b, name, value);
}

/* One histogram series at base (bounds in microseconds when seconds, else
 * plain numbers); labels: `name="value"` pairs or NULL. */
static void hist_series(buf *b, const int64_t *v, const char *name, unsigned base,
                        const uint64_t *bounds, unsigned nb, bool seconds, const char *labels)
{
    int64_t cum = 0;
    const char *sep = labels ? "," : "";
    labels = labels ? labels : "";
    for (unsigned i = 0; i <= nb; i++) {
        cum += v[base + i];
        buf_printf(b, PREFIX "%s_bucket{%s%sle=\"", name, labels, sep);
        if (i == nb) buf_puts(b, "+Inf");
        else if (seconds) buf_printf(b, "%g", (double)bounds[i] / 1e6);
        else buf_printf(b, "%llu", (unsigned long long)bounds[i]);
        buf_printf(b, "\"} %lld\n", (long long)cum);
    }
    const char *open = *labels ? "{" : "", *close = *labels ? "}" : "";
    if (seconds)
        buf_printf(b, PREFIX "%s_sum%s%s%s %.6f\n", name, open, labels, close,
                   (double)v[base + nb + 1] / 1e6);
    else
        buf_printf(b, PREFIX "%s_sum%s%s%s %lld\n", name, open, labels, close,
                   (long long)v[base + nb + 1]);
    buf_printf(b, PREFIX "%s_count%s%s%s %lld\n", name, open, labels, close, (long long)cum);
}

static void requests(buf *b, const int64_t *v)
{
    family(b, "http_requests_total", "counter",
           "HTTP requests answered, by route (the route table's pattern), status and outcome "
           "(as metered)");
    char label[64];
    for (unsigned ri = 0; ri < METRICS_ROUTES; ri++) {
        observe_route_label(ri, label, sizeof label);
        for (unsigned si = 0; si < METRICS_STATUSES; si++)
            for (unsigned oi = 0; oi < METRICS_OUTCOMES; oi++) {
                int64_t n = v[MS_HTTP_REQUESTS + (ri * METRICS_STATUSES + si) * METRICS_OUTCOMES + oi];
                if (!n) continue;
                unsigned st = metrics_status_of(si);
                buf_puts(b, PREFIX "http_requests_total{route=\"");
                label_value(b, label);
                if (st) buf_printf(b, "\",status=\"%u\",outcome=\"", st);
                else buf_puts(b, "\",status=\"other\",outcome=\"");
                label_value(b, observe_outcome_name(oi));
                buf_printf(b, "\"} %lld\n", (long long)n);
            }
    }
    family(b, "http_request_duration_seconds", "histogram",
           "time from a request's headers to its completion (answer sent), by route");
    for (unsigned ri = 0; ri < METRICS_ROUTES; ri++) {
        unsigned base = MS_HTTP_DURATION + ri * METRICS_HIST_SLOTS(METRICS_LAT_BUCKETS);
        int64_t count = 0;
        for (unsigned i = 0; i <= METRICS_LAT_BUCKETS; i++) count += v[base + i];
        if (!count) continue;
        buf lab;
        buf_init(&lab);
        buf_puts(&lab, "route=\"");
        label_value(&lab, observe_route_label(ri, label, sizeof label));
        buf_putc(&lab, '"');
        buf_putc(&lab, '\0');
        hist_series(b, v, "http_request_duration_seconds", base, metrics_lat_bounds_us,
                    METRICS_LAT_BUCKETS, true, lab.data);
        buf_release(&lab);
    }
}

static void quotas(buf *b, const int64_t *v)
{
    family(b, "quota_rejections_total", "counter",
           "requests refused by a quota, by the limit that refused them");
    for (unsigned k = 1; k < QUOTA_KIND_COUNT && k < METRICS_QUOTA_KINDS; k++) {
        buf_puts(b, PREFIX "quota_rejections_total{limit=\"");
        label_value(b, quota_kind_name((quota_kind)k));
        buf_printf(b, "\"} %lld\n", (long long)v[MS_QUOTA_REJECTIONS + k]);
    }
}

static void meter(buf *b, const int64_t *v)
{
    meter_totals t;
    meter_snapshot(&t);
    gauge(b, "meter_queue_depth", (long long)t.queued,
          "usage events queued in memory, not yet committed");
    family(b, "meter_batch_size", "histogram", "usage events per committed batch");
    hist_series(b, v, "meter_batch_size", MS_METER_BATCH, metrics_size_bounds,
                METRICS_SIZE_BUCKETS, false, NULL);
    family(b, "meter_flush_duration_seconds", "histogram",
           "time to commit one batch of usage events to SQLite");
    hist_series(b, v, "meter_flush_duration_seconds", MS_METER_FLUSH, metrics_lat_bounds_us,
                METRICS_LAT_BUCKETS, true, NULL);
    family(b, "meter_events_written_total", "counter",
           "usage events committed to SQLite (rows, and anonymous ones counted per minute)");
    sample(b, "meter_events_written_total", (long long)(t.committed + t.anonymous));
    family(b, "meter_events_spilled_total", "counter",
           "usage events appended to the spill file (queue full or database refusing)");
    sample(b, "meter_events_spilled_total", (long long)t.spilled);
    family(b, "meter_events_lost_total", "counter",
           "usage events with no room in the queue nor the spill file");
    sample(b, "meter_events_lost_total", (long long)t.lost);
    family(b, "meter_backlog_rejections_total", "counter",
           "requests refused 503 because the metering queue was backlogged");
    sample(b, "meter_backlog_rejections_total", (long long)t.rejected);
    family(b, "meter_commit_failures_total", "counter", "usage batch transactions that failed");
    sample(b, "meter_commit_failures_total", (long long)t.commit_failures);
}

void metrics_page_render(buf *out)
{
    int64_t *v = calloc(MS_COUNT, sizeof *v);
    if (!v) return;
    metrics_read_all(v);
    requests(out, v);
    gauge(out, "http_connections", v[MS_HTTP_CONNECTIONS], "client connections open");
    gauge(out, "sse_streams", v[MS_SSE_STREAMS], "server-sent event streams open");
    counter(out, v, "sse_streams_dropped_total", MS_SSE_DROPPED,
            "event streams closed because their reader fell behind");
    family(out, "backend_request_duration_seconds", "histogram",
           "time from sending a request's commands to Redis to its last reply");
    hist_series(out, v, "backend_request_duration_seconds", MS_BACKEND_DURATION,
                metrics_lat_bounds_us, METRICS_LAT_BUCKETS, true, NULL);
    counter(out, v, "backend_errors_total", MS_BACKEND_ERRORS,
            "backend connections that failed (refused, reset, timed out, protocol error)");
    counter(out, v, "backend_connects_total", MS_BACKEND_CONNECTS,
            "backend connections started");
    counter(out, v, "backend_reconnects_total", MS_BACKEND_RECONNECTS,
            "backend connections started again after an earlier one");
    gauge(out, "backend_connections", v[MS_BACKEND_CONNECTIONS],
          "backend connections open or being opened");
    counter(out, v, "token_cache_hits_total", MS_TOKEN_CACHE_HITS,
            "tokens found verified in a worker's cache");
    counter(out, v, "token_cache_misses_total", MS_TOKEN_CACHE_MISSES,
            "tokens verified anew (signature, then the tenancy lookup)");
    quotas(out, v);
    meter(out, v);
    free(v);
}

route_result metrics_page(tg_request *r)
{
    const tg_config *cfg = request_config(r);
    tg_err err;
    size_t len;
    const char *tok;
    request_bearer(r, &tok, &len);
    if (admin_token_verify(cfg->admin_jwt_secret, tok ? tok : "", len, time(NULL),
                           cfg->jwt_leeway_s, &err)) {
        request_error(r, 401, err.msg);
        return ROUTE_DONE;
    }
    buf out;
    buf_init(&out);
    metrics_page_render(&out);
    r->bytes_out = out.len;
    request_respond(r, 200, respond_body(cfg, request_header(r, "Origin"), &out,
                                         "text/plain; version=0.0.4; charset=utf-8"));
    return ROUTE_DONE;
}
