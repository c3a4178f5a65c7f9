/*
 * subconn.h - a connection to Redis that receives pushed replies: a
 * subscriber (SUBSCRIBE / PSUBSCRIBE) or a MONITOR connection.
 *
 * Unlike backend.h's connections, replies here are not answers to
 * operations: every reply read is handed, in order, to the owner's
 * on_reply. The connection runs as the URL's own user (the gateway
 * confines what it subscribes to, gateway/handlers/pubsub.c), names itself
 * (CLIENT SETNAME, so operators see it in CLIENT LIST) and is
 * non-blocking on the worker's epoll instance (common/ev.h). It connects
 * on the first subconn_send; a failure (refused connect, handshake error,
 * connection lost, a reply over max_reply_bytes) closes it and calls
 * on_down once: whatever it was subscribed to is gone, and the next send
 * reconnects.
 *
 * Owned by one worker thread; nothing is locked. Replies passed to
 * on_reply are freed by the connection after the call.
 */
#ifndef TG_SUBCONN_H
#define TG_SUBCONN_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct subconn subconn;

typedef struct subconn_ops {
    void (*on_reply)(void *ctx, redisReply *r);
    void (*on_down)(void *ctx, const char *why);
} subconn_ops;

/* url: the backend's URL (its user and password are used); name: the
 * CLIENT SETNAME value. NULL with a 503 err when the URL does not parse. */
subconn *subconn_new(const char *url, const char *name, int epfd, int connect_timeout_ms,
                     uint64_t max_reply_bytes, const subconn_ops *ops, void *ctx, tg_err *err);
void subconn_free(subconn *c);      /* closes, no on_down; NULL ok */
/* Closes a connected one as if it broke: on_down(why), a retry later. */
void subconn_fail(subconn *c, const char *why);

/* Starts connecting if down. 0, or -1 with a 503 err (cannot now). */
int subconn_connect(subconn *c, tg_err *err);

/* Queues one command (sent at the next subconn_flush), connecting first
 * if need be. 0, or -1 with a 503 err (cannot connect now). */
int subconn_send(subconn *c, int argc, const char *const *argv, const size_t *lens,
                 tg_err *err);
void subconn_flush(subconn *c);

bool subconn_is_up(const subconn *c);      /* connected or connecting */

/* Connect deadline (monotonic ms, UINT64_MAX for none); past it the
 * connection fails (on_down). */
uint64_t subconn_deadline(const subconn *c);
void subconn_check_timeouts(subconn *c, uint64_t now_ms);

#endif
