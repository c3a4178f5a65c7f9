/* admin.c - see admin.h. */
#include "gateway/handlers/admin.h"

#include <sqlite3.h>
#include <string.h>
#include <time.h>

#include "gateway/http/request.h"
#include "gateway/http/respond.h"
#include "auth/admin_token.h"
#include "billing/period.h"
#include "billing/usage.h"

route_result admin_usage(tg_request *r)
{
    const tg_config *cfg = request_config(r);
    tg_err err;
    size_t len;
    const char *tok;
    request_bearer(r, &tok, &len);
    if (admin_token_verify(cfg->admin_jwt_secret, tok ? tok : "", len, time(NULL),
                           cfg->jwt_leeway_s, &err)) {
        request_error(r, 401, err.msg);
        return ROUTE_DONE;
    }
    const char *period = request_query(r, "period");
    const char *format = request_query(r, "format");
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
