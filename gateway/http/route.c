/* route.c - see route.h: route table dispatch. */
#include "gateway/http/route.h"

#include <stdio.h>
#include <string.h>

void route_allow_header(unsigned m, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (unsigned bit = 1; bit < M_OPTIONS; bit <<= 1)
        if (m & bit)
            len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s",
                                    len ? ", " : "", request_method_name(bit));
    if (len < cap) snprintf(out + len, cap - len, "%sOPTIONS", len ? ", " : "");
}

route_result route_dispatch(const route *table, size_t n, tg_request *r)
{
    bool path_known = false;
    unsigned allowed = 0;
    for (size_t i = 0; i < n; i++) {
        const route *rt = &table[i];
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
    route_allow_header(allowed, allow, sizeof allow);
    MHD_add_response_header(r->response, MHD_HTTP_HEADER_ALLOW, allow);
    return ROUTE_DONE;
}
