/*
 * dataplane.h - the command endpoints of docs/protocol.md: POST / (JSON),
 * the path form, /pipeline and /multi-exec.
 *
 * Every command handler runs the same steps: response format headers,
 * token (auth/), backend (gateway/redis/pool.h), parse
 * (gateway/protocol/argv.h), policy per command (gateway/redis/policy.h,
 * gateway/policy/keyspace.h), submit; the reply callback then encodes the
 * answer (gateway/protocol/reply.h) on the same worker thread. Commands
 * refused by policy inside a pipeline become per-entry errors and are not
 * sent; in a single command or a transaction they refuse the whole
 * request. Every request is metered when it completes
 * (gateway/handlers/accounting.h).
 *
 * Per worker, the data plane keeps a dp_worker: the token cache and the
 * Redis connections of that thread. Its functions have the shapes of the
 * http_app hooks (gateway/http/server.h) and are wired there by the
 * composition root (gateway/gateway.c).
 */
#ifndef TG_DATAPLANE_H
#define TG_DATAPLANE_H

#include <stdint.h>

#include "auth/keys.h"
#include "common/config.h"
#include "common/err.h"
#include "gateway/http/route.h"

typedef struct dp_worker dp_worker;

/* What every worker shares (the http_app's ctx). */
typedef struct dp_shared {
    const auth_keyring *const *ring; /* the keyring in force (swapped on
                                        SIGHUP), read by the token caches */
    struct quota *q;                 /* the quotas (billing/quota.h); NULL: off */
    struct workq *ctl;               /* the control threads (ctl.h) */
} dp_shared;

/* shared: a dp_shared that outlives the worker. NULL + err on failure. */
void *dp_worker_new(void *shared, const tg_config *cfg, int epfd, tg_err *err);
void dp_worker_drain(void *w);       /* fails what waits on Redis or a token lookup (503) */
void dp_worker_free(void *w);        /* NULL ok */
uint64_t dp_worker_deadline(void *w);
void dp_worker_check_timeouts(void *w, uint64_t now_ms);
void dp_worker_flush(void *w);

/* The http_app's on_headers hook (routes flagged RT_HEADERS): authenticates
 * the request on its headers, before its body is read; a refusal is
 * answered there (and the body never read). */
void dp_headers(tg_request *r);

route_result dp_single_json(tg_request *r);
route_result dp_single_path(tg_request *r);
route_result dp_pipeline(tg_request *r);
route_result dp_multi_exec(tg_request *r);

#endif
