/*
 * routes.h - the route table: which handler answers which method and
 * path (gateway/http/route.h dispatches through it). A new endpoint is a
 * handler file in this folder and one row in routes.c.
 */
#ifndef TG_ROUTES_H
#define TG_ROUTES_H

#include <stddef.h>

#include "gateway/http/route.h"

extern const route gw_routes[];
extern const size_t gw_nroutes;

#endif
