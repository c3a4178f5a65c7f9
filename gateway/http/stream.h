/*
 * stream.h - long-lived answers written piece by piece (server-sent
 * events), inside the worker's event loop.
 *
 * request_stream() answers a request 200 at once (the headers go out on
 * the next libmicrohttpd run, before any event) with a body of unknown
 * length (chunked). The handler then appends bytes with stream_write(),
 * from any callback on the worker's thread. libmicrohttpd pulls them
 * through a content-reader callback; when the stream has nothing to send
 * its connection is suspended (no polling, no timeout), and a write
 * resumes it. A suspended connection is invisible to libmicrohttpd, so
 * the stream watches the socket itself for the client's hang-up
 * (EPOLLRDHUP on the worker's epoll fd) and ends at once when it comes.
 *
 * Bounds: a stream buffers at most `max_buffered` bytes not yet taken by
 * the client; a write past it fails (the caller ends the stream: a slow
 * reader is cut off, never allowed to grow memory).
 *
 * Ownership: the stream belongs to its request and is freed when the
 * request completes, after the request's completion hook (which must
 * forget every pointer to it). stream_* functions must not be called
 * after that hook. Everything runs on the owning worker's thread.
 *
 * Shutdown: when its worker starts draining, every stream is ended
 * cleanly (the chunked body is terminated) and its hook told first
 * (on_drain), so clients see an orderly end, not a reset.
 */
#ifndef TG_STREAM_H
#define TG_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/http/request.h"

typedef struct http_stream http_stream;

/* Called once when the worker drains (SIGTERM), before the stream is
 * ended; may write a last event. NULL: nothing. */
typedef void (*stream_drain_fn)(http_stream *s, void *ctx);

/* Answers r 200 with content_type and a streamed body (request_respond:
 * r's handler returns ROUTE_DONE after it, or, r waiting, the answer is
 * queued now). The stream is r's (see above). */
http_stream *request_stream(tg_request *r, const char *content_type, size_t max_buffered,
                            stream_drain_fn on_drain, void *ctx);

/* Appends data[0..n) to the bytes to send. 0, or -1 when that would hold
 * more than max_buffered (nothing appended: the caller ends the stream)
 * or the stream has ended. Into an empty buffer any one write fits. */
int stream_write(http_stream *s, const void *data, size_t n);

/* Ends the stream: cleanly (what is buffered is sent, then the body
 * ends) or not (the connection is closed at once). Idempotent. */
void stream_end(http_stream *s, bool clean);

bool stream_ended(const http_stream *s);
size_t stream_buffered(const http_stream *s);
uint64_t stream_bytes_sent(const http_stream *s);   /* taken by libmicrohttpd */

/* Streams the worker serves now (for the bench and the metrics). */
int stream_count(const tg_request *r);

/* ==== For server.c only ==== */

/* Shutdown: ends every stream of worker w (see on_drain). */
void stream_drain_all(struct http_worker *w);

#endif
