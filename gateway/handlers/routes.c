/* routes.c - see routes.h. */
#include "gateway/handlers/routes.h"

#include "gateway/handlers/ctl.h"
#include "gateway/handlers/dashboard.h"
#include "gateway/handlers/dataplane.h"
#include "gateway/handlers/health.h"
#include "gateway/handlers/pubsub.h"
#include "gateway/handlers/metrics_page.h"

/* First match wins. The path form catches every other path, so a Redis
 * command named like a route (there is none) would need the JSON form. */
const route gw_routes[] = {
    {"/healthz", MATCH_EXACT, M_GET | M_HEAD, health_live, RT_EXCLUSIVE | RT_ANYWHERE},
    {"/readyz", MATCH_EXACT, M_GET | M_HEAD, health_ready, RT_EXCLUSIVE | RT_ANYWHERE},
    {"/metrics", MATCH_EXACT, M_GET, metrics_page, RT_EXCLUSIVE | RT_ANYWHERE},
    {"/admin/usage", MATCH_EXACT, M_GET, ctl_dispatch, RT_EXCLUSIVE | RT_CONTROL},
    {"/v1/", MATCH_PREFIX, M_GET | M_HEAD | M_POST | M_PUT | M_DELETE | M_PATCH, ctl_dispatch,
     RT_EXCLUSIVE | RT_CONTROL},
    {"/dashboard", MATCH_PREFIX, M_GET | M_HEAD, dashboard_serve, RT_EXCLUSIVE | RT_CONTROL},
    {"/pipeline", MATCH_EXACT, M_POST, dp_pipeline, RT_EXCLUSIVE | RT_HEADERS},
    {"/multi-exec", MATCH_EXACT, M_POST, dp_multi_exec, RT_EXCLUSIVE | RT_HEADERS},
    {"/subscribe/", MATCH_PREFIX, M_GET | M_POST, ps_subscribe, RT_EXCLUSIVE | RT_HEADERS},
    {"/psubscribe/", MATCH_PREFIX, M_GET | M_POST, ps_psubscribe, RT_EXCLUSIVE | RT_HEADERS},
    {"/monitor", MATCH_EXACT, M_GET | M_POST, ps_monitor, RT_EXCLUSIVE | RT_HEADERS},
    {"/", MATCH_EXACT, M_POST, dp_single_json, RT_HEADERS},
    {"/", MATCH_PREFIX, M_GET | M_HEAD | M_POST | M_PUT, dp_single_path, RT_HEADERS},
};

const size_t gw_nroutes = sizeof gw_routes / sizeof gw_routes[0];
