/* ctl_admin.c - the admin API's operations (ctl.h), on the control
 * threads: each checks its input and calls the store (gateway/control/
 * store.h) or the billing export. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/period.h"
#include "billing/usage.h"
#include "gateway/control/store.h"
#include "gateway/handlers/ctl.h"

#define NO_NULL LLONG_MIN        /* ctl_body_int: null is not allowed */
#define I64_MAX 9007199254740991LL  /* JSON's exact integers */

static int got(ctl_job *j, cJSON *o, ctl_thread *t)
{
    (void)t;
    j->out = o;
    return o ? 0 : -1;
}

/* ?limit=&cursor= into pg. */
static int page_of(ctl_job *j, store_page *pg)
{
    return ctl_page(j, &pg->limit, &pg->cursor);
}

/* Adds rest_url to a database, or to each of a list's. */
static cJSON *with_rest_url(ctl_job *j, cJSON *o)
{
    if (!o) return NULL;
    cJSON *items = cJSON_GetObjectItemCaseSensitive(o, "items");
    cJSON *it;
    if (items) {
        cJSON_ArrayForEach(it, items) cJSON_AddStringToObject(it, "rest_url", j->base_url);
    } else {
        cJSON_AddStringToObject(o, "rest_url", j->base_url);
    }
    return o;
}

/* ==== Tenants ==== */

static int tenant_create(ctl_job *j, ctl_thread *t)
{
    const char *name = NULL;
    if (ctl_body_string(j, "name", true, &name)) return -1;
    return got(j, store_tenant_create(t->db, name, &j->err), t);
}

static int tenant_list(ctl_job *j, ctl_thread *t)
{
    store_page pg;
    if (page_of(j, &pg)) return -1;
    return got(j, store_tenant_list(t->db, &pg, &j->err), t);
}

static int tenant_get(ctl_job *j, ctl_thread *t)
{
    return got(j, store_tenant_get(t->db, j->ids[0], &j->err), t);
}

static int tenant_update(ctl_job *j, ctl_thread *t)
{
    const char *name = NULL;
    int64_t budget = LIMIT_KEEP;
    if (ctl_body_string(j, "name", false, &name) ||
        ctl_body_int(j, "budget_micros", false, 0, I64_MAX, LIMIT_UNLIMITED, &budget))
        return -1;
    return got(j, store_tenant_update(t->db, j->ids[0], name, budget, &j->err), t);
}

static int tenant_delete(ctl_job *j, ctl_thread *t)
{
    return store_tenant_delete(t->db, j->ids[0], &j->err);
}

static int tenant_plan(ctl_job *j, ctl_thread *t)
{
    const char *plan = NULL;
    int64_t from = (int64_t)time(NULL);
    if (ctl_body_string(j, "plan_id", true, &plan) ||
        ctl_body_int(j, "effective_from", false, 0, I64_MAX, NO_NULL, &from))
        return -1;
    return got(j, store_plan_assign(t->db, j->ids[0], plan, from, &j->err), t);
}

static int tenant_token(ctl_job *j, ctl_thread *t)
{
    int64_t ttl = 3600;
    if (ctl_body_int(j, "ttl_s", false, 1, 366LL * 86400, NO_NULL, &ttl)) return -1;
    return got(j, store_tenant_token(t->db, t->cfg, j->ids[0], ttl, &j->err), t);
}

static int tenant_token_list(ctl_job *j, ctl_thread *t)
{
    store_page pg;
    if (page_of(j, &pg)) return -1;
    return got(j, store_tenant_token_list(t->db, j->ids[0], &pg, &j->err), t);
}

static int tenant_token_revoke(ctl_job *j, ctl_thread *t)
{
    return store_tenant_token_revoke(t->db, j->ids[0], &j->err);
}

/* ==== Plans ==== */

/* The body's prices and limits; a limit's null is unlimited. */
static int plan_fields(ctl_job *j, int64_t prices[PRICE_COUNT], limit_set *l)
{
    limits_keep_all(l);
    for (int i = 0; i < PRICE_COUNT; i++) {
        prices[i] = LIMIT_KEEP;
        bool per = strstr(price_defs[i].column, "_per") != NULL;
        if (ctl_body_int(j, price_defs[i].column, false, per ? 1 : 0, I64_MAX, NO_NULL,
                         &prices[i]))
            return -1;
    }
    for (int i = 0; i < LIMIT_COUNT; i++)
        if (ctl_body_int(j, limit_defs[i].column, false, 0, I64_MAX, LIMIT_UNLIMITED, &l->v[i]))
            return -1;
    return 0;
}

static int plan_write(ctl_job *j, ctl_thread *t, bool create)
{
    const char *id = j->ids[0], *name = NULL, *currency = NULL;
    int64_t prices[PRICE_COUNT];
    limit_set l;
    if ((create && ctl_body_string(j, "id", true, &id)) ||
        ctl_body_string(j, "name", create, &name) ||
        ctl_body_string(j, "currency", false, &currency) || plan_fields(j, prices, &l))
        return -1;
    if (currency && (strlen(currency) != 3))
        return ctl_bad(j, "currency", "a three-letter code (USD)");
    return got(j, store_plan_write(t->db, create, id, name, currency, prices, &l, &j->err), t);
}

static int plan_create(ctl_job *j, ctl_thread *t) { return plan_write(j, t, true); }
static int plan_update(ctl_job *j, ctl_thread *t) { return plan_write(j, t, false); }

static int plan_list(ctl_job *j, ctl_thread *t)
{
    store_page pg;
    if (page_of(j, &pg)) return -1;
    return got(j, store_plan_list(t->db, &pg, &j->err), t);
}

static int plan_get(ctl_job *j, ctl_thread *t)
{
    return got(j, store_plan_get(t->db, j->ids[0], &j->err), t);
}

/* ==== Databases ==== */

static int db_create(ctl_job *j, ctl_thread *t)
{
    const char *tenant = NULL, *name = NULL, *iso = "dbindex", *url = NULL;
    int64_t idx = -1;
    if (ctl_body_string(j, "tenant_id", true, &tenant) ||
        ctl_body_string(j, "name", true, &name) ||
        ctl_body_string(j, "isolation", false, &iso) ||
        ctl_body_string(j, "redis_url", false, &url) ||
        ctl_body_int(j, "db_index", false, 0, 63, NO_NULL, &idx))
        return -1;
    tenancy_isolation mode = TENANCY_DEDICATED;
    if (!strcmp(iso, "prefix")) mode = TENANCY_SHARED;
    else if (!strcmp(iso, "server")) mode = TENANCY_SERVER;
    else if (strcmp(iso, "dbindex")) return ctl_bad(j, "isolation", "dbindex, prefix or server");
    return got(j, with_rest_url(j, store_db_create(t->db, t->cfg, tenant, name, url, (int)idx,
                                                   mode, &j->err)), t);
}

static int db_list(ctl_job *j, ctl_thread *t)
{
    store_page pg;
    if (page_of(j, &pg)) return -1;
    return got(j, with_rest_url(j, store_db_list(t->db, j->query[CTL_Q_TENANT], &pg, &j->err)),
               t);
}

static int db_get(ctl_job *j, ctl_thread *t)
{
    return got(j, with_rest_url(j, store_db_get(t->db, j->ids[0], NULL, &j->err)), t);
}

/* Overrides: a number, -1 for unlimited, null to inherit the plan's. */
static int db_update(ctl_job *j, ctl_thread *t)
{
    limit_set l;
    limits_keep_all(&l);
    for (int i = 0; i < LIMIT_COUNT; i++)
        if (ctl_body_int(j, limit_defs[i].column, false, -1, I64_MAX, LIMIT_INHERIT, &l.v[i]))
            return -1;
    return got(j, with_rest_url(j, store_db_limits(t->db, j->ids[0], &l, &j->err)), t);
}

/* Marked deleted now (its tokens refused within a second); its data goes
 * after the token caches' recheck, on the purger's thread: no control
 * thread waits that out. 202. */
static int db_delete(ctl_job *j, ctl_thread *t)
{
    if (store_db_mark_deleted(t->db, j->ids[0], NULL, NULL, &j->err)) return -1;
    purger_schedule(t->purger, j->ids[0], STORE_PURGE_DELAY_MS);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", j->ids[0]);
    cJSON_AddStringToObject(o, "data", "removal scheduled");
    cJSON_AddNumberToObject(o, "removal_after_ms", STORE_PURGE_DELAY_MS);
    return got(j, o, t);
}

/* ==== Tokens (shared with the tenant API) ==== */

int ctl_token_create(ctl_job *j, ctl_thread *t, const char *tenant_scope)
{
    const char *scope = "rw", *allow = NULL, *deny = NULL;
    int64_t ttl = 30LL * 86400, rate = 0;
    store_token_req rq = {.database_id = j->ids[0]};
    if (ctl_body_string(j, "scope", false, &scope) ||
        ctl_body_int(j, "ttl_s", false, 1, 3650LL * 86400, NO_NULL, &ttl) ||
        ctl_body_string(j, "allow", false, &allow) || ctl_body_string(j, "deny", false, &deny) ||
        ctl_body_int(j, "rate_limit", false, 1, 1000000000, 0, &rate))
        return -1;
    if (auth_scope_parse(scope, &rq.scope)) return ctl_bad(j, "scope", "rw or ro");
    rq.ttl_s = ttl;
    rq.allow = allow;
    rq.deny = deny;
    rq.rate_limit = rate;
    cJSON *o = store_token_create(t->db, t->cfg, t->keys, &rq, tenant_scope, &j->err);
    if (!o && j->err.status == 400) j->problem = "invalid-field";
    return got(j, o, t);
}

int ctl_token_list(ctl_job *j, ctl_thread *t, const char *tenant_scope)
{
    store_page pg;
    if (page_of(j, &pg)) return -1;
    cJSON *d = store_db_get(t->db, j->ids[0], tenant_scope, &j->err);
    if (!d) return -1;
    cJSON_Delete(d);
    return got(j, store_token_list(t->db, j->ids[0], &pg, &j->err), t);
}

static int token_create(ctl_job *j, ctl_thread *t) { return ctl_token_create(j, t, NULL); }
static int token_list(ctl_job *j, ctl_thread *t) { return ctl_token_list(j, t, NULL); }

static int token_revoke(ctl_job *j, ctl_thread *t)
{
    return store_token_revoke(t->db, TENANCY_BY_JTI, j->ids[0], NULL, NULL, NULL, &j->err);
}

/* ==== Usage export and period close ==== */

static int usage_get(ctl_job *j, ctl_thread *t)
{
    usage_format f = USAGE_JSON;
    if (j->query[CTL_Q_FORMAT] && usage_format_parse(j->query[CTL_Q_FORMAT], &f))
        return ctl_bad(j, "format", "csv or json");
    int month = period_parse(j->query[CTL_Q_PERIOD]);
    if (month < 0) return ctl_bad(j, "period", "YYYY-MM (2026-11)");
    if (usage_export(t->db, month, f, &j->raw, &j->err)) {
        if (j->err.status >= 500) j->err.status = 503;
        return -1;
    }
    j->raw_type = f == USAGE_CSV ? "text/csv" : "application/json";
    return 0;
}

static int usage_close_op(ctl_job *j, ctl_thread *t)
{
    const char *period = NULL;
    const cJSON *force = cJSON_GetObjectItemCaseSensitive(j->body, "force");
    if (ctl_body_string(j, "period", true, &period)) return -1;
    if (force && !cJSON_IsBool(force)) return ctl_bad(j, "force", "true or false");
    int month = period_parse(period);
    if (month < 0) return ctl_bad(j, "period", "YYYY-MM (2026-11)");
    int64_t now = (int64_t)time(NULL);
    if (usage_close(t->db, month, now, t->cfg->usage_close_grace_s, cJSON_IsTrue(force),
                    &j->err))
        return -1;
    cJSON *o = cJSON_CreateObject();
    char iso[32];
    period_iso8601(now, iso);
    cJSON_AddStringToObject(o, "period", period);
    cJSON_AddStringToObject(o, "closed_at", iso);
    return got(j, o, t);
}

#define PLAN_FIELDS                                                                        \
    "name,currency,command_price_micros,command_price_per,included_commands,"             \
    "request_price_micros,request_price_per,bandwidth_price_micros,bandwidth_price_per,"  \
    "included_bandwidth_bytes,storage_price_micros,storage_price_per," LIMIT_FIELDS
#define LIMIT_FIELDS                                                                       \
    "commands_per_second,burst,requests_per_second,requests_burst,daily_commands,"        \
    "monthly_commands,monthly_bandwidth_bytes,request_bytes,record_bytes,response_bytes," \
    "concurrent_requests,data_bytes"

#define A CONTROL_ADMIN
const ctl_op ctl_admin_ops[] = {
    {M_POST, "/v1/admin/tenants", A, tenant_create, "name", 201, NULL},
    {M_GET, "/v1/admin/tenants", A, tenant_list, NULL, 200, "limit,cursor"},
    {M_GET, "/v1/admin/tenants/*", A, tenant_get, NULL, 200, NULL},
    {M_PATCH, "/v1/admin/tenants/*", A, tenant_update, "name,budget_micros", 200, NULL},
    {M_DELETE, "/v1/admin/tenants/*", A, tenant_delete, NULL, 204, NULL},
    {M_PUT, "/v1/admin/tenants/*/plan", A, tenant_plan, "plan_id,effective_from", 200, NULL},
    {M_POST, "/v1/admin/tenants/*/tenant-tokens", A, tenant_token, "ttl_s", 201, NULL},
    {M_GET, "/v1/admin/tenants/*/tenant-tokens", A, tenant_token_list, NULL, 200,
     "limit,cursor"},
    {M_DELETE, "/v1/admin/tenant-tokens/*", A, tenant_token_revoke, NULL, 204, NULL},
    {M_POST, "/v1/admin/plans", A, plan_create, "id," PLAN_FIELDS, 201, NULL},
    {M_GET, "/v1/admin/plans", A, plan_list, NULL, 200, "limit,cursor"},
    {M_GET, "/v1/admin/plans/*", A, plan_get, NULL, 200, NULL},
    {M_PATCH, "/v1/admin/plans/*", A, plan_update, PLAN_FIELDS, 200, NULL},
    {M_POST, "/v1/admin/databases", A, db_create,
     "tenant_id,name,isolation,redis_url,db_index", 201, NULL},
    {M_GET, "/v1/admin/databases", A, db_list, NULL, 200, "limit,cursor,tenant_id"},
    {M_GET, "/v1/admin/databases/*", A, db_get, NULL, 200, NULL},
    {M_PATCH, "/v1/admin/databases/*", A, db_update, LIMIT_FIELDS, 200, NULL},
    {M_DELETE, "/v1/admin/databases/*", A, db_delete, NULL, 202, NULL},
    {M_POST, "/v1/admin/databases/*/tokens", A, token_create,
     "scope,ttl_s,allow,deny,rate_limit", 201, NULL},
    {M_GET, "/v1/admin/databases/*/tokens", A, token_list, NULL, 200, "limit,cursor"},
    {M_DELETE, "/v1/admin/tokens/*", A, token_revoke, NULL, 204, NULL},
    {M_GET, "/v1/admin/usage", A, usage_get, NULL, 200, "period,format"},
    {M_POST, "/v1/admin/usage/close", A, usage_close_op, "period,force", 200, NULL},
};
const size_t ctl_admin_nops = sizeof ctl_admin_ops / sizeof ctl_admin_ops[0];
