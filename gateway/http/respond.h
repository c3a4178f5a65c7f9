/*
 * respond.h - builds HTTP responses: JSON bodies, the error shape, and the
 * headers every response carries (content type, CORS).
 *
 * Functions take ownership of the body buf's storage (it moves into the
 * libmicrohttpd response, freed by it). The returned response is the
 * caller's to queue and destroy.
 */
#ifndef TG_RESPOND_H
#define TG_RESPOND_H

#include <microhttpd.h>

#include "common/buf.h"
#include "common/config.h"

/* Response from body (moved) with content type; adds common headers.
 * origin is the request's Origin header (may be NULL). */
struct MHD_Response *respond_body(const tg_config *cfg, const char *origin,
                                  buf *body, const char *content_type);

/* The headers of a streamed answer (stream.h): content type, no caching
 * by proxies, CORS. */
void respond_stream_headers(const tg_config *cfg, const char *origin,
                            struct MHD_Response *resp, const char *content_type);

/* {"error": msg} with common headers. */
struct MHD_Response *respond_error(const tg_config *cfg, const char *origin,
                                   const char *msg);

/* 503 {"error": msg} with Retry-After: 1: the worker is over its memory
 * budget (max_inflight_bytes) and will take work again once it drains. */
struct MHD_Response *respond_busy(const tg_config *cfg, const char *origin,
                                  const char *msg);

/* 204 answer to a CORS preflight. req_headers is the request's
 * Access-Control-Request-Headers (may be NULL). */
struct MHD_Response *respond_preflight(const tg_config *cfg, const char *origin,
                                       const char *req_headers);

#endif
