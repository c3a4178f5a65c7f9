/* route.c - see route.h: the route table. */
#include "route.h"

#include <string.h>

#include "../billing/admin_api.h"

typedef enum { MATCH_EXACT, MATCH_PREFIX } route_match;

enum {
    RT_EXCLUSIVE = 1,   /* the path is this route's alone: wrong method is 405 */
};

typedef struct route {
    const char *path;
    route_match match;
    unsigned methods;
    route_handler handler;
    unsigned flags;
} route;

/* First match wins. The path form catches every other path, so a Redis
 * command named like a route (there is none) would need the JSON form. */
static const route routes[] = {
    {"/healthz", MATCH_EXACT, M_GET | M_HEAD, dp_health, RT_EXCLUSIVE},
    {"/admin/usage", MATCH_EXACT, M_GET, admin_usage, RT_EXCLUSIVE},
    {"/pipeline", MATCH_EXACT, M_POST, dp_pipeline, RT_EXCLUSIVE},
    {"/multi-exec", MATCH_EXACT, M_POST, dp_multi_exec, RT_EXCLUSIVE},
    {"/", MATCH_EXACT, M_POST, dp_single_json, 0},
    {"/", MATCH_PREFIX, M_GET | M_HEAD | M_POST | M_PUT, dp_single_path, 0},
};

route_result route_dispatch(tg_request *r)
{
    bool path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const route *rt = &routes[i];
        bool hit = rt->match == MATCH_EXACT
                       ? !strcmp(r->path, rt->path)
                       : !strncmp(r->path, rt->path, strlen(rt->path));
        if (!hit) continue;
        path_known = true;
        if (rt->methods & r->method) return rt->handler(r);
        if (rt->flags & RT_EXCLUSIVE) break;
    }
    if (!path_known) {
        request_error(r, MHD_HTTP_NOT_FOUND, "ERR not found");
        return ROUTE_DONE;
    }
    request_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "ERR method not allowed");
    return ROUTE_DONE;
}
