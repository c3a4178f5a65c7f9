/*
 * health.h - GET/HEAD /healthz: the process is up and serving. Cheap,
 * unauthenticated, reveals nothing about tenants.
 */
#ifndef TG_HEALTH_H
#define TG_HEALTH_H

#include "gateway/http/route.h"

route_result health_live(tg_request *r);

#endif
