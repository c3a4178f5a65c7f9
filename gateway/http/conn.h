/*
 * conn.h - the worker's view of its client connections, beside
 * libmicrohttpd's: deadlines for request heads, and closing idle ones.
 *
 * libmicrohttpd only has an idle timer, which every byte resets: a client
 * sending one byte every few seconds holds a connection for ever. So each
 * connection carries a head deadline: a new connection must deliver a
 * whole request head within header_timeout_s; after an answer, a kept-
 * alive one must deliver its next head within idle_timeout_s, and within
 * header_timeout_s once its request line has come. Past it the connection
 * is closed (with a JSON 408 when a request had begun). While a request
 * is served there is no deadline (the handlers own its time).
 *
 * Private to gateway/http/; everything runs on the worker's thread.
 */
#ifndef TG_CONN_H
#define TG_CONN_H

#include <microhttpd.h>
#include <stdint.h>

struct http_worker;

/* MHD_OPTION_NOTIFY_CONNECTION (cls: the worker): a connection starts
 * (tracked, its first head deadline set) or closes (bytes the client sent
 * and nobody read are drained first, bounded, so the close is a FIN the
 * client can read an answer before, not a reset). */
void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                 enum MHD_ConnectionNotificationCode code);

/* MHD_OPTION_URI_LOG_CALLBACK (cls: the worker): a request line has come.
 * Returns NULL (the request's first context). */
void *conn_request_line(void *cls, const char *uri, struct MHD_Connection *c);

/* The request's head is complete (no deadline while it is served), and
 * the request is over (the next head's deadline starts). */
void conn_head_done(struct MHD_Connection *c);
void conn_request_done(struct http_worker *w, struct MHD_Connection *c);

/* Closes connections past their head deadline. Call every loop turn. */
void conn_check_deadlines(struct http_worker *w, uint64_t now_ms);

/* Shutdown: closes connections waiting for a request with nothing of one
 * received yet; the others are answered with Connection: close. */
void conn_close_idle(struct http_worker *w);

#endif
