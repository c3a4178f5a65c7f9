/* admin_api.c - see admin_api.h. */
#include "gateway/handlers/admin.h"

#include <sqlite3.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway/http/respond.h"
#include "auth/admin_token.h"
#include "billing/period.h"
#include "billing/usage.h"

/* The bearer token of the Authorization header, or NULL. */
static const char *bearer(tg_request *r, size_t *len)
{
    const char *h = request_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    *len = 0;
    if (!h) return NULL;
    while (*h == ' ') h++;
    if (strncasecmp(h, "Bearer ", 7) != 0) return NULL;
    h += 7;
    while (*h == ' ') h++;
    size_t n = strlen(h);
    while (n > 0 && h[n - 1] == ' ') n--;
    *len = n;
    return h;
}

route_result admin_usage(tg_request *r)
{
    const tg_config *cfg = r->w->cfg;
    tg_err err;
    size_t len;
    const char *tok = bearer(r, &len);
    if (admin_token_verify(cfg->admin_jwt_secret, tok ? tok : "", len, time(NULL),
                           cfg->jwt_leeway_s, &err)) {
        request_error(r, 401, err.msg);
        return ROUTE_DONE;
    }
    const char *period = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "period");
    const char *format = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "format");
    usage_format f = USAGE_JSON;
    if (format && usage_format_parse(format, &f)) {
        request_error(r, 400, "ERR format must be csv or json");
        return ROUTE_DONE;
    }
    int month = period_parse(period);
    if (month < 0) {
        request_error(r, 400, "ERR period must look like 2026-11");
        return ROUTE_DONE;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(cfg->sqlite_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        sqlite3_close(db);
        request_error(r, 503, "ERR usage database unavailable");
        return ROUTE_DONE;
    }
    sqlite3_busy_timeout(db, 5000);
    buf out;
    buf_init(&out);
    int rc = usage_export(db, month, f, &out, &err);
    sqlite3_close(db);
    if (rc) {
        buf_release(&out);
        request_error(r, err.status >= 500 ? 503 : (unsigned)err.status, err.msg);
        return ROUTE_DONE;
    }
    r->bytes_out = out.len;
    request_respond(r, 200, respond_body(cfg, request_header(r, "Origin"), &out,
                                         f == USAGE_CSV ? "text/csv" : "application/json"));
    return ROUTE_DONE;
}
