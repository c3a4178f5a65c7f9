/*
 * metrics_page.h - the /metrics page: every counter of common/metrics.h,
 * the meter's totals and queue, in the Prometheus text format (0.0.4),
 * and the route that serves it on the main listener.
 *
 * Names follow Prometheus conventions: a `tollgate_` prefix, counters end
 * in `_total`, times are `_seconds`, each family has HELP and TYPE lines,
 * histograms have cumulative `_bucket{le=...}` series ending at +Inf,
 * `_sum` and `_count`. Label values are escaped (backslash, quote,
 * newline). The page names no tenant, database or token.
 *
 * On the main listener, GET /metrics needs an admin token (as /admin/usage);
 * the operations listener (`metrics_listen`, gateway/ops_server.c) serves
 * the same page to whoever reaches its address.
 */
#ifndef TG_METRICS_PAGE_H
#define TG_METRICS_PAGE_H

#include "common/buf.h"
#include "gateway/http/route.h"

/* Appends the whole page to out. */
void metrics_page_render(buf *out);

/* GET /metrics with an admin bearer token. */
route_result metrics_page(tg_request *r);

#endif
