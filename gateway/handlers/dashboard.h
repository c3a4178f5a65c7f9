/*
 * dashboard.h - GET/HEAD /dashboard: the tenant dashboard, a static page
 * (gateway/dashboard/: its HTML, JavaScript and CSS, and the charting
 * library uPlot from npm) embedded into the binary at build time
 * (tools/embed-assets.sh writes dash_assets). The page calls the tenant
 * API (/v1/...) with the tenant token the user pastes or passes in the URL
 * fragment; serving it needs no token and reveals nothing of any tenant.
 *
 * Every answer carries a strict Content-Security-Policy (only this
 * origin's scripts, styles and API; no inline code, no framing), nosniff
 * and no referrer; assets are revalidated (Cache-Control: no-cache) by
 * their ETag, a hash of their bytes, so a new binary's page is never mixed
 * with an old cached one and an unchanged asset costs a 304.
 */
#ifndef TG_DASHBOARD_H
#define TG_DASHBOARD_H

#include <stddef.h>

#include "gateway/http/route.h"

typedef struct dash_asset {
    const char *path;            /* "/dashboard/app.js" */
    const char *content_type;
    const char *etag;            /* quoted */
    const unsigned char *data;
    size_t len;
} dash_asset;

extern const dash_asset dash_assets[];
extern const size_t dash_nassets;

/* The asset of a URL path ("/dashboard" and "/dashboard/" are the page),
 * or NULL. */
const dash_asset *dashboard_find(const char *path);

route_result dashboard_serve(tg_request *r);

#endif
