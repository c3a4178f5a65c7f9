/*
 * health.h - GET/HEAD /healthz: the process is up and serving; GET/HEAD
 * /readyz: it can do its work. Both cheap, unauthenticated, revealing
 * nothing about tenants.
 *
 * /readyz answers the last verdict published by the readiness prober
 * (gateway/ready.c, a thread that checks, at most once a second and never
 * on a request's path, that the state file is writable, the databases'
 * backends answer and the meter is not backlogged): 200 {"status":"ready"}
 * or 503 {"status":"not ready","reasons":[...]}; until the first verdict,
 * 503 "starting". The reasons name no tenant, database or backend address.
 */
#ifndef TG_HEALTH_H
#define TG_HEALTH_H

#include <stdbool.h>

#include "common/buf.h"
#include "gateway/http/route.h"

route_result health_live(tg_request *r);
route_result health_ready(tg_request *r);

/* The prober's verdict: reasons are NUL-separated strings, n of them
 * (0: ready). Thread-safe. */
void health_publish(const char *reasons, size_t len, int n);
/* Forgets the verdict (back to "starting"). */
void health_reset(void);

/* The /readyz body into out; returns its status (200 or 503). */
unsigned health_ready_body(buf *out);
#endif
