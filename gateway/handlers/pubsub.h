/*
 * pubsub.h - the streaming endpoints of docs/protocol.md: POST
 * /subscribe/<ch>[/<ch>...], /psubscribe/<pattern>[/...] and /monitor,
 * answered as server-sent events (gateway/http/stream.h).
 *
 * Streams are multiplexed: per worker, one subscriber connection per
 * backend URL (gateway/redis/subconn.h) carries every stream's channels,
 * each channel or pattern subscribed once in Redis however many streams
 * want it (reference-counted: SUBSCRIBE on the first, UNSUBSCRIBE when the
 * last leaves), and each message is fanned out to every stream that
 * asked for it. Likewise one MONITOR connection per backend serves every
 * /monitor stream of the worker, open while one is.
 *
 * Confinement: a stream's channels live in its database's namespace on
 * the Redis server, which pub/sub shares across logical DBs: a shared
 * database's key prefix, a dedicated database's `db<N>:` (PUBLISH through
 * the gateway gets the same namespace, gateway/policy/keyspace.h). Events
 * show the names as the client wrote them. A monitor stream sees only the
 * lines of its own database (gateway/policy/monitor.h).
 *
 * Bounds: a stream buffers at most sse_buffer_bytes not yet read by its
 * client; past that it is cut off (a slow reader, counted and logged). An
 * SSE comment line goes out every sse_heartbeat_s. A stream holds one of
 * its database's concurrent_requests, and is metered when it ends (kind
 * stream: one command for the subscription plus one per message
 * delivered, and the bytes sent).
 *
 * Everything runs on the owning worker's thread.
 */
#ifndef TG_PUBSUB_H
#define TG_PUBSUB_H

#include <stdint.h>

#include "common/config.h"
#include "gateway/http/route.h"

typedef struct pubsub pubsub;

/* A worker's hub, on its epoll instance. */
pubsub *pubsub_new(const tg_config *cfg, int epfd);
void pubsub_free(pubsub *p);           /* closes its connections; NULL ok */
uint64_t pubsub_deadline(const pubsub *p);
void pubsub_check_timeouts(pubsub *p, uint64_t now_ms);   /* heartbeats, connects */
void pubsub_flush(pubsub *p);

/* Streams cut off for reading too slowly, by every worker (atomic). */
uint64_t pubsub_slow_disconnects(void);

route_result ps_subscribe(tg_request *r);
route_result ps_psubscribe(tg_request *r);
route_result ps_monitor(tg_request *r);

#endif
