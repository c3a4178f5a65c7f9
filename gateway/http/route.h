/*
 * route.h - dispatching a request through a route table.
 *
 * Routes are data: the table lives with the handlers
 * (gateway/handlers/routes.c) and reaches the server through http_app. A
 * handler either answers at once (ROUTE_DONE after request_respond or
 * request_error) or has handed the request elsewhere and answers later
 * (ROUTE_PENDING: the request waits).
 */
#ifndef TG_ROUTE_H
#define TG_ROUTE_H

#include <stddef.h>

#include "gateway/http/request.h"

typedef enum { ROUTE_DONE = 0, ROUTE_PENDING = 1 } route_result;

typedef route_result (*route_handler)(tg_request *r);

typedef enum { MATCH_EXACT, MATCH_PREFIX } route_match;

enum {
    RT_EXCLUSIVE = 1,   /* the path is this route's alone: wrong method is 405 */
};

typedef struct route {
    const char *path;
    route_match match;
    unsigned methods;        /* M_* bits */
    route_handler handler;
    unsigned flags;          /* RT_* */
} route;

/* Finds the first route of table[0..n) matching r->path and r->method and
 * runs it; answers 404 (no route has the path) or 405 with an Allow
 * header (a route has it, not with this method) itself. */
route_result route_dispatch(const route *table, size_t n, tg_request *r);

/* Writes "GET, HEAD, OPTIONS" for the methods in m into out (an Allow
 * header value; OPTIONS is always allowed). */
void route_allow_header(unsigned m, char *out, size_t cap);

#endif
