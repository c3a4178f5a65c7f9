/* dashboard.c - see dashboard.h. */
#include "gateway/handlers/dashboard.h"

#include <string.h>

#include "gateway/http/request.h"

#define PAGE "/dashboard/index.html"

/* The page loads only what this origin serves and talks only to it. */
static const char CSP[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

static const struct {
    const char *name, *value;
} security_headers[] = {
    {"Content-Security-Policy", CSP},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Frame-Options", "DENY"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
    {"Cache-Control", "no-cache"},
};

const dash_asset *dashboard_find(const char *path)
{
    if (!strcmp(path, "/dashboard") || !strcmp(path, "/dashboard/")) path = PAGE;
    for (size_t i = 0; i < dash_nassets; i++)
        if (!strcmp(dash_assets[i].path, path)) return &dash_assets[i];
    return NULL;
}

route_result dashboard_serve(tg_request *r)
{
    const dash_asset *a = dashboard_find(r->path);
    if (!a) {
        request_error(r, 404, "no such dashboard file");
        return ROUTE_DONE;
    }
    const char *inm = request_header(r, "If-None-Match");
    bool fresh = inm && strstr(inm, a->etag);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        fresh ? 0 : a->len, fresh ? (void *)"" : (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!fresh) MHD_add_response_header(resp, "Content-Type", a->content_type);
    MHD_add_response_header(resp, "ETag", a->etag);
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++)
        MHD_add_response_header(resp, security_headers[i].name, security_headers[i].value);
    request_respond(r, fresh ? 304 : 200, resp);
    return ROUTE_DONE;
}
