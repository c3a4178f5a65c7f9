/* store.c - see store.h: tenants, plans and the shared row helpers
 * (store_db.c: databases and data-plane tokens). */
#include "gateway/control/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/admin_token.h"
#include "billing/period.h"
#include "billing/usage.h"
#include "common/buf.h"
#include "gateway/control/store_int.h"
#include "gateway/policy/policy.h"
#include "gateway/redis/setup.h"

int store_init(const tg_config *cfg, tg_err *err)
{
    if (config_validate_acl_secret(cfg, err)) return -1;
    backend_setup_init(cfg->acl_secret, strlen(cfg->acl_secret), policy_annotate);
    tenancy_set_seal_secret(cfg->acl_secret, strlen(cfg->acl_secret));
    return 0;
}

/* ==== Rows as JSON ==== */

static bool is_time_column(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && !strcmp(name + n - 3, "_at");
}

cJSON *store_row_json(sqlite3_stmt *st)
{
    cJSON *o = cJSON_CreateObject();
    int n = sqlite3_column_count(st);
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(st, i);
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_NULL: cJSON_AddNullToObject(o, name); break;
        case SQLITE_INTEGER: {
            int64_t v = sqlite3_column_int64(st, i);
            if (is_time_column(name)) {
                char iso[32];
                period_iso8601(v, iso);
                cJSON_AddStringToObject(o, name, iso);
            } else {
                cJSON_AddNumberToObject(o, name, (double)v);
            }
            break;
        }
        case SQLITE_FLOAT: cJSON_AddNumberToObject(o, name, sqlite3_column_double(st, i)); break;
        default: cJSON_AddStringToObject(o, name, (const char *)sqlite3_column_text(st, i));
        }
    }
    return o;
}

int store_fail_db(sqlite3 *db, tg_err *err)
{
    int code = sqlite3_errcode(db);
    if (code == SQLITE_CONSTRAINT) return tg_fail(err, 409, "conflict: %s", sqlite3_errmsg(db));
    return tg_fail(err, 503, "state file: %s", sqlite3_errmsg(db));
}

cJSON *store_query(sqlite3 *db, const char *sql, int nargs, const char *const *args,
                   tg_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        store_fail_db(db, err);
        return NULL;
    }
    for (int i = 0; i < nargs; i++)
        if (args[i]) sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_TRANSIENT);
    cJSON *arr = cJSON_CreateArray();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) cJSON_AddItemToArray(arr, store_row_json(st));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(arr);
        store_fail_db(db, err);
        return NULL;
    }
    return arr;
}

cJSON *store_query_one(sqlite3 *db, const char *sql, int nargs, const char *const *args,
                       const char *what, const char *id, tg_err *err)
{
    cJSON *arr = store_query(db, sql, nargs, args, err);
    if (!arr) return NULL;
    cJSON *first = cJSON_DetachItemFromArray(arr, 0);
    cJSON_Delete(arr);
    if (!first) tg_fail(err, 404, "no %s %s", what, id);
    return first;
}

cJSON *store_query_page(sqlite3 *db, const char *sql, int nargs, const char *const *args,
                        const store_page *pg, const char *key, tg_err *err)
{
    /* sql ends with "... AND <key> > ?<nargs+1> ORDER BY <key> LIMIT ?<nargs+2>". */
    const char *a[8];
    char lim[16];
    int limit = pg && pg->limit > 0 ? pg->limit : STORE_PAGE_DEFAULT;
    if (limit > STORE_PAGE_MAX) limit = STORE_PAGE_MAX;
    snprintf(lim, sizeof lim, "%d", limit + 1);
    for (int i = 0; i < nargs; i++) a[i] = args[i];
    a[nargs] = pg && pg->cursor ? pg->cursor : "";
    a[nargs + 1] = lim;
    cJSON *items = store_query(db, sql, nargs + 2, a, err);
    if (!items) return NULL;
    cJSON *out = cJSON_CreateObject();
    const char *next = NULL;
    if (cJSON_GetArraySize(items) > limit) {
        cJSON_DeleteItemFromArray(items, limit);
        cJSON *last = cJSON_GetArrayItem(items, limit - 1);
        next = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(last, key));
    }
    cJSON_AddItemToObject(out, "items", items);
    if (next) cJSON_AddStringToObject(out, "next_cursor", next);
    else cJSON_AddNullToObject(out, "next_cursor");
    return out;
}

int store_exec(sqlite3 *db, const char *sql, int nargs, const char *const *args, tg_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return store_fail_db(db, err);
    for (int i = 0; i < nargs; i++)
        if (args[i]) sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return store_fail_db(db, err);
    return sqlite3_changes(db);
}

/* ==== Tenants ==== */

#define TENANT_COLUMNS                                                                     \
    "SELECT t.id, t.name, t.created_at, t.monthly_budget_micros AS budget_micros,"        \
    " coalesce((SELECT plan_id FROM plan_assignments a WHERE a.tenant_id = t.id"          \
    " AND a.effective_from <= strftime('%s','now') ORDER BY effective_from DESC LIMIT 1),"\
    " (SELECT id FROM plans WHERE is_default = 1)) AS plan_id FROM tenants t"

cJSON *store_tenant_get(sqlite3 *db, const char *id, tg_err *err)
{
    const char *a[] = {id};
    return store_query_one(db, TENANT_COLUMNS " WHERE t.id = ? AND t.deleted_at IS NULL", 1, a,
                           "tenant", id, err);
}

cJSON *store_tenant_create(sqlite3 *db, const char *name, tg_err *err)
{
    if (!name || !*name || strlen(name) > 200)
        return tg_fail(err, 400, "name: 1 to 200 characters"), NULL;
    char id[AUTH_ID_MAX];
    if (tenancy_tenant_create(db, name, id, err)) return NULL;
    return store_tenant_get(db, id, err);
}

cJSON *store_tenant_list(sqlite3 *db, const store_page *pg, tg_err *err)
{
    return store_query_page(db, TENANT_COLUMNS " WHERE t.deleted_at IS NULL AND t.id > ?1"
                            " ORDER BY t.id LIMIT ?2", 0, NULL, pg, "id", err);
}

cJSON *store_tenant_update(sqlite3 *db, const char *id, const char *name, int64_t budget,
                           tg_err *err)
{
    if (name && (!*name || strlen(name) > 200))
        return tg_fail(err, 400, "name: 1 to 200 characters"), NULL;
    cJSON *t = store_tenant_get(db, id, err);
    if (!t) return NULL;
    cJSON_Delete(t);
    const char *a[] = {name, id};
    if (name && store_exec(db, "UPDATE tenants SET name = ? WHERE id = ?", 2, a, err) < 0)
        return NULL;
    if (budget != LIMIT_KEEP && limits_tenant_budget(db, id, budget, err)) return NULL;
    return store_tenant_get(db, id, err);
}

int store_tenant_delete(sqlite3 *db, const char *id, tg_err *err)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *a[] = {now, id};
    int n = store_exec(db, "UPDATE tenants SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                       2, a, err);
    if (n < 0) return -1;
    if (n == 0) return tg_fail(err, 404, "no tenant %s", id);
    return tenancy_tokens_revoke(db, TENANCY_BY_TENANT, id, NULL, err);
}

int store_tenant_live(sqlite3 *db, const char *tenant_id, const char *jti, tg_err *err)
{
    tg_err e;
    cJSON *t = store_tenant_get(db, tenant_id, &e);
    if (!t) {
        if (e.status == 404)
            return tg_fail(err, 401, "tenant %s is deleted or unknown", tenant_id);
        *err = e;
        return -1;
    }
    cJSON_Delete(t);
    const char *a[] = {jti ? jti : "", tenant_id};
    cJSON *k = store_query_one(db, "SELECT jti FROM tenant_tokens WHERE jti = ?1"
                               " AND tenant_id = ?2 AND revoked_at IS NULL", 2, a,
                               "tenant token", "", &e);
    if (k) {
        cJSON_Delete(k);
        return 0;
    }
    if (e.status == 404) return tg_fail(err, 401, "tenant token revoked or unknown");
    *err = e;
    return -1;
}

cJSON *store_tenant_token_list(sqlite3 *db, const char *tenant_id, const store_page *pg,
                               tg_err *err)
{
    cJSON *t = store_tenant_get(db, tenant_id, err);
    if (!t) return NULL;
    cJSON_Delete(t);
    const char *a[] = {tenant_id};
    return store_query_page(db, "SELECT jti, tenant_id, created_at, expires_at, revoked_at"
                            " FROM tenant_tokens WHERE tenant_id = ?1 AND jti > ?2"
                            " ORDER BY jti LIMIT ?3", 1, a, pg, "jti", err);
}

int store_tenant_token_revoke(sqlite3 *db, const char *jti, tg_err *err)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *a[] = {now, jti};
    int n = store_exec(db, "UPDATE tenant_tokens SET revoked_at = coalesce(revoked_at, ?1)"
                       " WHERE jti = ?2", 2, a, err);
    if (n < 0) return -1;
    if (n == 0) return tg_fail(err, 404, "no tenant token %s", jti);
    return 0;
}

cJSON *store_tenant_token(sqlite3 *db, const tg_config *cfg, const char *tenant_id,
                          long long ttl_s, tg_err *err)
{
    if (ttl_s < 1 || ttl_s > 366LL * 86400)
        return tg_fail(err, 400, "ttl_s: 1 to 31622400 seconds"), NULL;
    cJSON *t = store_tenant_get(db, tenant_id, err);
    if (!t) return NULL;
    cJSON_Delete(t);
    time_t now = time(NULL);
    char jti[CONTROL_JTI_MAX];
    char *tok = tenant_token_create(cfg->admin_jwt_secret, tenant_id, ttl_s, now, jti, err);
    if (!tok) return NULL;
    /* Recorded first: a token whose row did not commit is never handed out
     * (it would be refused anyway). */
    char at[24], until[24];
    snprintf(at, sizeof at, "%lld", (long long)now);
    snprintf(until, sizeof until, "%lld", (long long)now + ttl_s);
    const char *a[] = {jti, tenant_id, at, until};
    if (store_exec(db, "INSERT INTO tenant_tokens (jti, tenant_id, created_at, expires_at)"
                   " VALUES (?1, ?2, ?3, ?4)", 4, a, err) < 0) {
        free(tok);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    char iso[32];
    period_iso8601((int64_t)now + ttl_s, iso);
    cJSON_AddStringToObject(o, "token", tok);
    cJSON_AddStringToObject(o, "jti", jti);
    cJSON_AddStringToObject(o, "tenant_id", tenant_id);
    cJSON_AddStringToObject(o, "expires_at", iso);
    free(tok);
    return o;
}

/* ==== Plans ==== */

/* Plans' columns: limits as numbers or null (unlimited). */
static void plan_sql(buf *b)
{
    buf_puts(b, "SELECT id, name, currency, is_default, created_at");
    for (int i = 0; i < PRICE_COUNT; i++) buf_printf(b, ", %s", price_defs[i].column);
    for (int i = 0; i < LIMIT_COUNT; i++) buf_printf(b, ", %s", limit_defs[i].column);
    buf_puts(b, " FROM plans");
}

/* is_default as a boolean. */
static cJSON *plan_fix(cJSON *p)
{
    cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "is_default");
    if (d) cJSON_ReplaceItemInObjectCaseSensitive(p, "is_default",
                                                  cJSON_CreateBool(d->valuedouble != 0));
    return p;
}

cJSON *store_plan_get(sqlite3 *db, const char *id, tg_err *err)
{
    buf b;
    buf_init(&b);
    plan_sql(&b);
    buf_puts(&b, " WHERE id = ?");
    const char *a[] = {id};
    cJSON *p = store_query_one(db, b.data, 1, a, "plan", id, err);
    buf_release(&b);
    return p ? plan_fix(p) : NULL;
}

cJSON *store_plan_list(sqlite3 *db, const store_page *pg, tg_err *err)
{
    buf b;
    buf_init(&b);
    plan_sql(&b);
    buf_puts(&b, " WHERE id > ?1 ORDER BY id LIMIT ?2");
    cJSON *l = store_query_page(db, b.data, 0, NULL, pg, "id", err);
    buf_release(&b);
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(l, "items")) plan_fix(it);
    return l;
}

cJSON *store_plan_write(sqlite3 *db, bool create, const char *id, const char *name,
                        const char *currency, const int64_t prices[PRICE_COUNT],
                        const limit_set *limits, tg_err *err)
{
    if (!id || !*id || strlen(id) >= AUTH_ID_MAX)
        return tg_fail(err, 400, "id: 1 to %d characters", AUTH_ID_MAX - 1), NULL;
    if (create && (!name || !*name)) return tg_fail(err, 400, "name: required"), NULL;
    int rc = create ? limits_plan_create(db, id, name, currency, prices, limits, err)
                    : limits_plan_update(db, id, name, currency, prices, limits, err);
    return rc ? NULL : store_plan_get(db, id, err);
}

cJSON *store_plan_assign(sqlite3 *db, const char *tenant_id, const char *plan_id,
                         int64_t effective_from, tg_err *err)
{
    cJSON *t = store_tenant_get(db, tenant_id, err);
    if (!t) return NULL;
    cJSON_Delete(t);
    cJSON *p = store_plan_get(db, plan_id, err);
    if (!p) return NULL;
    cJSON_Delete(p);
    if (usage_plan_assign(db, tenant_id, plan_id, effective_from, err)) return NULL;
    return store_tenant_get(db, tenant_id, err);
}
