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

#include <stdbool.h>
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

/* The same in two steps, so privileges can be dropped in between
 * (`serve --user`): http_server_bind binds the listening sockets (threads
 * resolved; NULL + err, nothing left open); http_server_start starts the
 * daemons with cfg (listen, port and threads as bound). 0, or -1 with err:
 * the caller then stops the server (http_server_stop(s, 0)). */
http_server *http_server_bind(const tg_config *cfg, tg_err *err);
int http_server_start(http_server *s, const tg_config *cfg, const http_app *app,
                      const char *cert, const char *key, tg_err *err);

/* Publishes new settings (SIGHUP): each worker copies *cfg at its next
 * loop turn and its requests read them from then on. Only the settings
 * a worker reads per request change anything (CORS origins, body and
 * memory limits, log_requests, admin secret...); the rest were used at
 * start. threads is kept as resolved. cfg and its strings must outlive
 * the server (or the next call and one loop turn). Any thread. */
void http_server_configure(http_server *s, const tg_config *cfg);

/* Replaces the HTTPS certificate and key (PEM text): new handshakes use
 * them, established connections keep theirs (tls.h). 0, or -1 with err
 * (the pair in force stays), also when the server serves plain HTTP. */
int http_server_set_tls(http_server *s, const char *cert, const char *key, tg_err *err);
bool http_server_tls(const http_server *s);

int http_server_port(const http_server *s);
int http_server_threads(const http_server *s);

/* Starts the worker threads. 0, or -1 with err. */
int http_server_run(http_server *s, tg_err *err);

/* Stops accepting, lets waiting requests finish (up to drain_ms), fails
 * what remains through worker_drain, joins the threads and frees
 * everything. NULL ok. */
void http_server_stop(http_server *s, int drain_ms);

#endif
