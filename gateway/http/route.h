/*
 * route.h - routes as data: methods, the route type, and finding the route
 * of a request.
 *
 * The table itself lives with the handlers (gateway/handlers/routes.c) and
 * reaches the server through http_app (app.h). A handler either answers at
 * once (ROUTE_DONE after request_respond or request_error) or has handed
 * the request elsewhere and answers later (ROUTE_PENDING: it waits).
 * Lookup only: request.c answers the 404 / 405 (route.c knows no request
 * beyond its type). Pure; thread-safe.
 */
#ifndef TG_ROUTE_H
#define TG_ROUTE_H

#include <stddef.h>

typedef struct tg_request tg_request;

/* Methods as bits, so a route can list several. */
enum { M_GET = 1, M_HEAD = 2, M_POST = 4, M_PUT = 8, M_OPTIONS = 16, M_OTHER = 32,
       M_DELETE = 64, M_PATCH = 128 };

typedef enum { ROUTE_DONE = 0, ROUTE_PENDING = 1 } route_result;

typedef route_result (*route_handler)(tg_request *r);

typedef enum { MATCH_EXACT, MATCH_PREFIX } route_match;

enum {
    RT_EXCLUSIVE = 1,   /* the path is this route's alone: wrong method is 405 */
    RT_HEADERS = 2,     /* http_app.on_headers sees the request first */
    RT_CONTROL = 4,     /* the control plane's: served on control_listen
                           when that is set, not on the data plane's */
    RT_ANYWHERE = 8,    /* served on every listener (/healthz) */
};

typedef struct route {
    const char *path;
    route_match match;
    unsigned methods;        /* M_* bits */
    route_handler handler;
    unsigned flags;          /* RT_* */
} route;

/* The first route of table[0..n) matching path and method, or NULL; then
 * *allowed is the methods routes with that path accept (0: no route has
 * the path, a 404; else a 405). */
const route *route_find(const route *table, size_t n, const char *path, unsigned method,
                        unsigned *allowed);

/* The one method-name table: M_* bit of a method name (M_OTHER when
 * unknown), and the name of a bit ("-" for others). */
unsigned route_method_bit(const char *name);
const char *route_method_name(unsigned bit);

/* Writes "GET, HEAD, OPTIONS" for the methods in m into out (an Allow
 * header value; OPTIONS is always allowed). */
void route_allow_header(unsigned m, char *out, size_t cap);

#endif
