/*
 * server.h - the HTTP server: worker threads, each an event loop owning
 * one libmicrohttpd daemon (external epoll mode, sharing the listening
 * port through SO_REUSEPORT).
 *
 * The server knows HTTP only; what the requests are for comes in an
 * http_app (app.h).
 *
 * A request never leaves the thread that accepted it. Life cycle:
 * http_server_new (bind, one daemon per worker) -> http_server_run (the
 * threads) -> http_server_stop (stop accepting, let waiting requests
 * finish within a deadline, join, free). Not thread-safe itself: call it
 * from one thread.
 */
#ifndef TG_SERVER_H
#define TG_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "gateway/http/app.h"


typedef struct http_server http_server;

/* Binds cfg->listen:cfg->port (0: any free port) once per worker and
 * starts their daemons; no thread runs yet. cert/key: PEM text for HTTPS,
 * or NULL. NULL + err on failure (nothing left open). */
http_server *http_server_new(const tg_config *cfg, const http_app *app,
                             const char *cert, const char *key, tg_err *err);

int http_server_port(const http_server *s);
int http_server_threads(const http_server *s);

/* Starts the worker threads. 0, or -1 with err. */
int http_server_run(http_server *s, tg_err *err);

/* Stops accepting, lets waiting requests finish (up to drain_ms), fails
 * what remains through worker_drain, joins the threads and frees
 * everything. NULL ok. */
void http_server_stop(http_server *s, int drain_ms);

#endif
