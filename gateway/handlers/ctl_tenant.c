/* ctl_tenant.c - the tenant dashboard API's operations (ctl.h), on the
 * control threads. Every one is confined to the token's tenant: a
 * deleted tenant's token is refused (401), another tenant's database is a
 * 404. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/series.h"
#include "gateway/control/store.h"
#include "gateway/handlers/ctl.h"

#define DAY_S 86400

static int live(ctl_job *j, ctl_thread *t)
{
    return store_tenant_live(t->db, j->who.tenant_id, j->who.jti, &j->err);
}

static int got(ctl_job *j, cJSON *o)
{
    j->out = o;
    return o ? 0 : -1;
}

static const char *me(const ctl_job *j) { return j->who.tenant_id; }

static void rest_url(ctl_job *j, cJSON *o)
{
    if (o) cJSON_AddStringToObject(o, "rest_url", j->base_url);
}

/* The tenant's database ids[0] exists: 0, else 404. */
static int mine(ctl_job *j, ctl_thread *t)
{
    cJSON *d = store_db_get(t->db, j->ids[0], me(j), &j->err);
    cJSON_Delete(d);
    return d ? 0 : -1;
}

static int db_list(ctl_job *j, ctl_thread *t)
{
    store_page pg;
    if (live(j, t) || ctl_page(j, &pg.limit, &pg.cursor)) return -1;
    cJSON *l = store_db_list(t->db, me(j), &pg, &j->err);
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(l, "items")) {
        cJSON_DeleteItemFromObjectCaseSensitive(it, "redis_url");
        cJSON_DeleteItemFromObjectCaseSensitive(it, "db_index");
        cJSON_DeleteItemFromObjectCaseSensitive(it, "key_prefix");
        rest_url(j, it);
    }
    return got(j, l);
}

static int db_get(ctl_job *j, ctl_thread *t)
{
    if (live(j, t)) return -1;
    cJSON *o = store_db_get(t->db, j->ids[0], me(j), &j->err);
    rest_url(j, o);
    return got(j, o);
}

static int token_create(ctl_job *j, ctl_thread *t)
{
    return live(j, t) ? -1 : ctl_token_create(j, t, me(j));
}

static int token_list(ctl_job *j, ctl_thread *t)
{
    return live(j, t) ? -1 : ctl_token_list(j, t, me(j));
}

static int token_revoke(ctl_job *j, ctl_thread *t)
{
    if (live(j, t)) return -1;
    return store_token_revoke(t->db, TENANCY_BY_JTI, j->ids[0], me(j), NULL, NULL, &j->err);
}

/* The same under its database: /v1/databases/{id}/tokens/{jti}. */
static int token_revoke_in_db(ctl_job *j, ctl_thread *t)
{
    if (live(j, t)) return -1;
    return store_token_revoke(t->db, TENANCY_BY_JTI, j->ids[1], me(j), j->ids[0], NULL,
                              &j->err);
}

/* ?from=&to= (default: the last day), from < to. */
static int range(ctl_job *j, int64_t *from, int64_t *to)
{
    int64_t now = (int64_t)time(NULL);
    if (ctl_time_arg(j, CTL_Q_TO, "to", now + 1, to) ||
        ctl_time_arg(j, CTL_Q_FROM, "from", *to - DAY_S, from))
        return -1;
    if (*from >= *to) return ctl_bad(j, "from", "must be before to");
    return 0;
}

/* series.h's NULL answers: a bad range names the range. */
static int series_got(ctl_job *j, cJSON *o)
{
    if (!o && j->err.status == 400) j->problem = "invalid-field";
    return got(j, o);
}

static int usage(ctl_job *j, ctl_thread *t)
{
    int64_t from, to;
    series_step step = SERIES_HOUR;
    if (live(j, t) || range(j, &from, &to)) return -1;
    if (j->query[CTL_Q_STEP] && series_step_parse(j->query[CTL_Q_STEP], &step))
        return ctl_bad(j, "step", "minute, hour or day");
    if (mine(j, t)) return -1;
    return series_got(j, series_usage(t->db, j->ids[0], from, to, step, &j->err));
}

static int usage_tokens(ctl_job *j, ctl_thread *t)
{
    int64_t from, to;
    if (live(j, t) || range(j, &from, &to) || mine(j, t)) return -1;
    return series_got(j, series_tokens(t->db, j->ids[0], from, to, &j->err));
}

/* The live engine's view (rates and concurrency as now); a database it
 * has not loaded yet, or quotas off: an engine of this database alone,
 * seeded from the rollups, as `tollgate db usage` shows it. */
static int quota_view(ctl_job *j, ctl_thread *t)
{
    if (live(j, t) || mine(j, t)) return -1;
    buf out;
    buf_init(&out);
    int64_t now = quota_now_ns();
    int rc = t->q ? quota_usage_json(t->q, j->ids[0], now, &out, &j->err) : -1;
    if (rc) {
        quota *q = quota_new();
        buf_reset(&out);
        j->err.status = 0;     /* the live engine's 404 is not the answer */
        rc = quota_refresh_one(q, t->db, j->ids[0], now, &j->err);
        if (!rc) rc = quota_usage_json(q, j->ids[0], now, &out, &j->err);
        quota_free(q);
    }
    cJSON *o = rc ? NULL : cJSON_ParseWithLength(out.data, out.len);
    buf_release(&out);
    if (!rc && !o) tg_fail(&j->err, 500, "quota: unreadable usage");
    return got(j, o);
}

static int billing(ctl_job *j, ctl_thread *t)
{
    if (live(j, t)) return -1;
    return series_got(j, billing_current(t->db, me(j), (int64_t)time(NULL), &j->err));
}

#define T CONTROL_TENANT
const ctl_op ctl_tenant_ops[] = {
    {M_GET, "/v1/databases", T, db_list, NULL, 200, "limit,cursor"},
    {M_GET, "/v1/databases/*", T, db_get, NULL, 200, NULL},
    {M_POST, "/v1/databases/*/tokens", T, token_create, "scope,ttl_s,allow,deny,rate_limit",
     201, NULL},
    {M_GET, "/v1/databases/*/tokens", T, token_list, NULL, 200, "limit,cursor"},
    {M_DELETE, "/v1/tokens/*", T, token_revoke, NULL, 204, NULL},
    {M_DELETE, "/v1/databases/*/tokens/*", T, token_revoke_in_db, NULL, 204, NULL},
    {M_GET, "/v1/databases/*/usage", T, usage, NULL, 200, "from,to,step"},
    {M_GET, "/v1/databases/*/usage/tokens", T, usage_tokens, NULL, 200, "from,to"},
    {M_GET, "/v1/databases/*/quota", T, quota_view, NULL, 200, NULL},
    {M_GET, "/v1/billing/current", T, billing, NULL, 200, NULL},
};
const size_t ctl_tenant_nops = sizeof ctl_tenant_ops / sizeof ctl_tenant_ops[0];
