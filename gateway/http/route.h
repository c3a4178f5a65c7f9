/*
 * route.h - the route table: which handler answers which method and path.
 *
 * Routes are data (route.c: routes[]); a handler either answers at once
 * (returns ROUTE_DONE after request_respond/request_error) or has queued
 * work and will answer later (ROUTE_PENDING: the request waits).
 */
#ifndef TG_ROUTE_H
#define TG_ROUTE_H

#include "gateway/http/request.h"

typedef enum { ROUTE_DONE = 0, ROUTE_PENDING = 1 } route_result;

typedef route_result (*route_handler)(tg_request *r);

/* Finds the route for r->path and r->method and runs it; answers 404/405
 * itself. */
route_result route_dispatch(tg_request *r);

/* The data-plane handlers (dataplane.c). */
route_result dp_single_json(tg_request *r);
route_result dp_single_path(tg_request *r);
route_result dp_pipeline(tg_request *r);
route_result dp_multi_exec(tg_request *r);
route_result dp_health(tg_request *r);

#endif
