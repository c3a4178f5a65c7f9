/* route.c - see route.h: the route table. */
#include "gateway/http/route.h"

#include <stdio.h>
#include <string.h>

#include "gateway/handlers/admin.h"

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

/* "GET, HEAD" for an Allow header. */
static void method_names(unsigned m, char *out, size_t cap)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{M_GET, "GET"}, {M_HEAD, "HEAD"}, {M_POST, "POST"}, {M_PUT, "PUT"}};
    out[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (m & names[i].bit)
            snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? ", " : "",
                     names[i].name);
    snprintf(out + strlen(out), cap - strlen(out), "%sOPTIONS", out[0] ? ", " : "");
}

route_result route_dispatch(tg_request *r)
{
    bool path_known = false;
    unsigned allowed = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const route *rt = &routes[i];
        bool hit = rt->match == MATCH_EXACT
                       ? !strcmp(r->path, rt->path)
                       : !strncmp(r->path, rt->path, strlen(rt->path));
        if (!hit) continue;
        path_known = true;
        if (rt->methods & r->method) return rt->handler(r);
        allowed |= rt->methods;
        if (rt->flags & RT_EXCLUSIVE) break;
    }
    if (!path_known) {
        request_error(r, MHD_HTTP_NOT_FOUND, "ERR not found");
        return ROUTE_DONE;
    }
    request_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "ERR method not allowed");
    char allow[64];
    method_names(allowed, allow, sizeof allow);
    MHD_add_response_header(r->response, MHD_HTTP_HEADER_ALLOW, allow);
    return ROUTE_DONE;
}
