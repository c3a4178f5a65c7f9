/*
 * observe.h - what an operator sees of each finished request: its counts
 * in the metrics (common/metrics.h) and its access log line.
 *
 * observe_request is called once per request by accounting_record, with
 * the request's meter event complete (tenant, database, token id, command
 * names, outcome, bytes, backend time). It counts the request by route,
 * status and outcome, its latency (HTTP and backend), and, with
 * log_requests on, adds one JSON line to the access log (common/log.h):
 *
 *   {"ts":"2026-12-02T05:46:02.123Z","request_id":"...","event_id":N,
 *    "method":"GET","route":"/{rest}","path":"/get/<1 arg>","status":200,
 *    "outcome":"ok","tenant":"...","database":"...","jti":"...",
 *    "commands":"GET","ncommands":1,"bytes_in":N,"bytes_out":N,
 *    "latency_ms":0.412,"backend_ms":0.103}
 *
 * Never a token, a key, a value or a password: the path shows only its
 * first segment and how many follow (request_log_path); tenant, database
 * and jti are the ids the meter stores. A request answered 5xx is logged
 * at level error (at most ERROR_LINES_PER_S a second per thread) with the
 * same ids, whether or not the access log is on.
 */
#ifndef TG_OBSERVE_H
#define TG_OBSERVE_H

#include "billing/meter_event.h"
#include "gateway/http/request.h"

void observe_request(const tg_request *r, const meter_event *e);

/* The route table requests are counted against (gw_routes; set once at
 * start-up, before the workers). */
void observe_set_routes(const route *table, size_t n);

/* Access lines are buffered per thread and written (one write(2) for
 * many lines) by observe_flush, which the worker loop calls every turn
 * (dp_worker_flush), past 32 KB, and at thread exit. observe_thread_end
 * writes and frees the calling thread's buffer now (the main thread, after
 * the server has stopped: requests complete there at shutdown). */
void observe_flush(void);
void observe_thread_end(void);

/* The name of a meter outcome code ("ok", "quota_rejected"...; "other"). */
const char *observe_outcome_name(unsigned outcome);

/* The route label of route table row i ("/pipeline"; "/{rest}" for the prefix
 * route); i past the table: "none". */
const char *observe_route_label(size_t i, char *out, size_t cap);

#endif
