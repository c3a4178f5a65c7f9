/*
 * admin.h - the admin HTTP endpoints served by the gateway's workers.
 *
 *   GET /admin/usage?period=YYYY-MM&format=csv|json
 *       the usage statement of a period (billing/usage.h), the same bytes
 *       as `tollgate usage export`.
 *
 * Authenticated by admin tokens only (auth/admin_token.h: role admin,
 * admin_jwt_secret); data-plane tokens are refused. The handler reads
 * SQLite on the worker thread (a short read transaction on its own
 * connection): admin traffic is rare and never on the data-plane path.
 */
#ifndef TG_ADMIN_H
#define TG_ADMIN_H

#include "gateway/http/route.h"

route_result admin_usage(tg_request *r);

#endif
