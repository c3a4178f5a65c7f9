/*
 * ops_server.h - the operations listener (`metrics_listen`): a small
 * HTTP server of its own (libmicrohttpd, one internal thread) on another
 * address than the data plane, serving GET /metrics
 * (gateway/handlers/metrics_page.h), /healthz and /readyz
 * (gateway/handlers/health.h) to whoever reaches it, without a token:
 * bind it where only the monitoring can. Everything else is 404. It
 * shares nothing with the workers but the counters it reads.
 */
#ifndef TG_OPS_SERVER_H
#define TG_OPS_SERVER_H

#include "common/err.h"

typedef struct ops_server ops_server;

/* listen: "host:port" or "[v6]:port" (numeric host; port 0: any free).
 * NULL + err when it cannot bind. */
ops_server *ops_server_start(const char *listen, tg_err *err);
int ops_server_port(const ops_server *s);
void ops_server_stop(ops_server *s);

#endif
