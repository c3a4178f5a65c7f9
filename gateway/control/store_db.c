/* store_db.c - see store.h: databases and data-plane tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/keys.h"
#include "billing/period.h"
#include "gateway/control/store.h"
#include "gateway/control/store_int.h"
#include "gateway/policy/policy.h"
#include "gateway/redis/setup.h"

/* ==== Databases ==== */

#define DB_COLUMNS                                                                        \
    "SELECT id, tenant_id, name, isolation, redis_url, db_index, key_prefix, created_at"  \
    " FROM databases"

/* Adds plan_id and the limits in force; a tenant's view loses the
 * backend's placement. */
static cJSON *db_decorate(sqlite3 *db, cJSON *o, bool tenant_view, tg_err *err)
{
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "id"));
    limits_row *rows = NULL;
    int n = 0;
    if (limits_load(db, (int64_t)time(NULL), id, &rows, &n, err)) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON *lim = cJSON_CreateObject();
    if (n > 0) {
        cJSON_AddStringToObject(o, "plan_id", rows[0].plan_id);
        for (int i = 0; i < LIMIT_COUNT; i++) {
            int64_t v = rows[0].effective.v[i];
            if (v < 0) cJSON_AddNullToObject(lim, limit_defs[i].column);
            else cJSON_AddNumberToObject(lim, limit_defs[i].column, (double)v);
        }
    } else {
        cJSON_AddNullToObject(o, "plan_id");
    }
    cJSON_AddItemToObject(o, "limits", lim);
    free(rows);
    if (tenant_view) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, "redis_url");
        cJSON_DeleteItemFromObjectCaseSensitive(o, "db_index");
        cJSON_DeleteItemFromObjectCaseSensitive(o, "key_prefix");
    }
    return o;
}

cJSON *store_db_get(sqlite3 *db, const char *id, const char *tenant_scope, tg_err *err)
{
    const char *a[] = {id, tenant_scope};
    cJSON *o = store_query_one(db, DB_COLUMNS " WHERE id = ?1 AND deleted_at IS NULL"
                               " AND (?2 IS NULL OR tenant_id = ?2)", 2, a, "database", id,
                               err);
    return o ? db_decorate(db, o, tenant_scope != NULL, err) : NULL;
}

cJSON *store_db_list(sqlite3 *db, const char *tenant, const store_page *pg, tg_err *err)
{
    const char *a[] = {tenant};
    cJSON *l = store_query_page(db, DB_COLUMNS " WHERE deleted_at IS NULL"
                                " AND (?1 IS NULL OR tenant_id = ?1) AND id > ?2"
                                " ORDER BY id LIMIT ?3", 1, a, pg, "id", err);
    if (!l) return NULL;
    cJSON *items = cJSON_GetObjectItemCaseSensitive(l, "items");
    cJSON *fresh = cJSON_CreateArray();
    cJSON *it;
    while ((it = cJSON_DetachItemFromArray(items, 0))) {
        if (!(it = db_decorate(db, it, false, err))) {
            cJSON_Delete(fresh);
            cJSON_Delete(l);
            return NULL;
        }
        cJSON_AddItemToArray(fresh, it);
    }
    cJSON_ReplaceItemInObjectCaseSensitive(l, "items", fresh);
    return l;
}

cJSON *store_db_create(sqlite3 *db, const tg_config *cfg, const char *tenant_id,
                       const char *name, const char *redis_url, int db_index,
                       tenancy_isolation iso, tg_err *err)
{
    if (!name || !*name || strlen(name) > 200)
        return tg_fail(err, 400, "name: 1 to 200 characters"), NULL;
    if (!tenant_id || !*tenant_id) return tg_fail(err, 400, "tenant_id: required"), NULL;
    const char *url = redis_url ? redis_url : cfg->redis_url;
    if (strncmp(url, "redis://", 8) && strncmp(url, "rediss://", 9))
        return tg_fail(err, 400, "redis_url: must start with redis:// or rediss://"), NULL;
    cJSON *t = store_tenant_get(db, tenant_id, err);
    if (!t) return NULL;
    cJSON_Delete(t);
    if (iso == TENANCY_SERVER && cfg->quota_redis_url && cfg->quota_redis_url[0]) {
        /* Its owner may FLUSHALL: never the Redis every node counts quotas in. */
        char a[TENANCY_SERVER_KEY_MAX], b[TENANCY_SERVER_KEY_MAX];
        tenancy_server_key(url, a);
        tenancy_server_key(cfg->quota_redis_url, b);
        if (!strcmp(a, b))
            return tg_fail(err, 409, "redis_url: the quota counter Redis (quota_redis_url) "
                           "cannot be given to a database in server isolation"), NULL;
    }
    char id[AUTH_ID_MAX];
    if (tenancy_db_create(db, tenant_id, name, url, db_index, iso, id, err)) {
        if (err->status == 500 || (err->status == 400 && strstr(err->msg, "UNIQUE")))
            tg_fail(err, 409, "name or db_index: taken (a live database of this tenant has "
                    "this name, or another this logical DB)");
        return NULL;
    }
    if (iso == TENANCY_SHARED || iso == TENANCY_SERVER) {
        char prefix[AUTH_ID_MAX + 1];
        tg_err e;
        snprintf(prefix, sizeof prefix, "%s:", id);
        /* The gateway makes sure of the user on first use too: a backend
         * that is down now is not an error. A server database's user has
         * every key (no prefix). */
        if (backend_db_user_create(url, id, iso == TENANCY_SERVER ? NULL : prefix,
                                   (int)cfg->redis_connect_timeout_ms, &e))
            fprintf(stderr, "tollgate: warning: %s (the gateway creates the user on "
                    "first use)\n", e.msg);
    }
    return store_db_get(db, id, NULL, err);
}

cJSON *store_db_limits(sqlite3 *db, const char *id, const limit_set *changes, tg_err *err)
{
    if (limits_db_set(db, id, changes, err)) return NULL;
    return store_db_get(db, id, NULL, err);
}

int store_db_mark_deleted(sqlite3 *db, const char *id, const char *tenant_scope,
                          bool *was_live, tg_err *err)
{
    tenancy_db_row row;
    if (tenancy_db_get(db, id, &row, err)) return -1;
    if (tenant_scope) {
        cJSON *o = store_db_get(db, id, tenant_scope, err);
        if (!o) return -1;
        cJSON_Delete(o);
    }
    if (was_live) *was_live = !row.deleted;
    return row.deleted ? 0 : tenancy_db_delete(db, id, err);
}

int store_db_purge(sqlite3 *db, const char *id, int connect_timeout_ms, tg_err *err)
{
    tenancy_db_row row;
    if (tenancy_db_get(db, id, &row, err)) return -1;
    if (!row.deleted) return tg_fail(err, 409, "database %s is not deleted", id);
    /* Claimed first: the slot stays taken (purged_at NULL) until this
     * purge ends, so nothing else can be placed there while it flushes,
     * and no other process flushes it after it is freed. */
    if (tenancy_db_purge_claim(db, id, err)) return -1;
    char holder[AUTH_ID_MAX];
    if (tenancy_db_slot_holder(db, id, &row, holder, sizeof holder, err)) {
        tenancy_db_purge_release(db, id);
        return -1;
    }
    int tmo = connect_timeout_ms;
    if (holder[0]) {
        fprintf(stderr, "tollgate: database %s: its data is not removed: live database %s "
                "holds its slot (it was deleted before purging existed); marked purged\n",
                id, holder);
    } else if (row.owns_server ? backend_server_purge(row.redis_url, id, tmo, err)
                               : backend_db_purge(row.redis_url, row.db_index, id,
                                                  row.key_prefix, tmo, err)) {
        err->status = 503;
        tenancy_db_purge_release(db, id);
        return -1;
    }
    return tenancy_db_purged(db, id, err);
}

int store_db_delete(sqlite3 *db, const tg_config *cfg, const char *id,
                    const char *tenant_scope, tg_err *err)
{
    bool was_live;
    if (store_db_mark_deleted(db, id, tenant_scope, &was_live, err)) return -1;
    if (was_live) {
        /* Cached tokens expire everywhere before the data goes. */
        struct timespec ts = {STORE_PURGE_DELAY_MS / 1000,
                              STORE_PURGE_DELAY_MS % 1000 * 1000 * 1000L};
        nanosleep(&ts, NULL);
    }
    /* A gateway's purger may have claimed it meanwhile: wait for that
     * purge (a minute at most) rather than report a failure. */
    for (int i = 0;; i++) {
        if (!store_db_purge(db, id, (int)cfg->redis_connect_timeout_ms, err)) return 0;
        if (err->status == 404) return 0;   /* marked above: purged by the other process */
        if (err->status != 423 || i >= 240) return -1;
        struct timespec ts = {0, 250 * 1000 * 1000L};
        nanosleep(&ts, NULL);
    }
}

/* ==== Data-plane tokens ==== */

cJSON *store_token_create(sqlite3 *db, const tg_config *cfg, const auth_keys *in_force,
                          const store_token_req *rq, const char *tenant_scope, tg_err *err)
{
    char allow_n[AUTH_RULES_MAX], deny_n[AUTH_RULES_MAX];
    if (auth_rules_normalize(rq->allow ? rq->allow : "", allow_n) ||
        policy_rules_valid(allow_n, err))
        return tg_fail(err, 400, "allow: comma-separated command names and @categories"), NULL;
    if (auth_rules_normalize(rq->deny ? rq->deny : "", deny_n) || policy_rules_valid(deny_n, err))
        return tg_fail(err, 400, "deny: comma-separated command names and @categories"), NULL;
    if (rq->ttl_s < 1 || rq->ttl_s > 3650LL * 86400)
        return tg_fail(err, 400, "ttl_s: 1 to 315360000 seconds"), NULL;
    if (rq->rate_limit < 0 || rq->rate_limit > 1000000000)
        return tg_fail(err, 400, "rate_limit: 1 to 1000000000 commands per second"), NULL;
    cJSON *d = store_db_get(db, rq->database_id, tenant_scope, err);
    if (!d) return NULL;
    cJSON_Delete(d);
    auth_keys *loaded = NULL;
    if (!in_force) {
        auth_keys_opts ko;
        auth_keys_opts_from_config(cfg, &ko);
        in_force = loaded = auth_keys_load(&ko, err);
    }
    const auth_key *signer = in_force ? auth_keys_signer(in_force, rq->kid, err) : NULL;
    if (!signer) {
        auth_keys_free(loaded);
        err->status = err->status == 400 ? 400 : 503;
        return NULL;
    }
    auth_claims c;
    char *tok = NULL;
    if (!tenancy_token_issue_limited(db, rq->database_id, rq->scope, rq->ttl_s, allow_n, deny_n,
                                     rq->rate_limit, &c, err))
        tok = auth_jwt_sign(signer, &c, err);
    auth_keys_free(loaded);
    if (!tok) return NULL;
    cJSON *o = cJSON_CreateObject();
    char iso[32];
    period_iso8601(c.exp, iso);
    cJSON_AddStringToObject(o, "token", tok);
    cJSON_AddStringToObject(o, "jti", c.jti);
    cJSON_AddStringToObject(o, "database_id", rq->database_id);
    cJSON_AddStringToObject(o, "scope", rq->scope == AUTH_SCOPE_RO ? "ro" : "rw");
    cJSON_AddStringToObject(o, "expires_at", iso);
    free(tok);
    return o;
}

cJSON *store_token_list(sqlite3 *db, const char *database_id, const store_page *pg,
                        tg_err *err)
{
    const char *a[] = {database_id};
    return store_query_page(db, "SELECT jti, database_id, scope, issued_at, expires_at,"
                            " revoked_at, nullif(cmd_allow, '') AS allow,"
                            " nullif(cmd_deny, '') AS deny, rate_limit FROM tokens"
                            " WHERE database_id = ?1 AND jti > ?2 ORDER BY jti LIMIT ?3",
                            1, a, pg, "jti", err);
}

int store_token_revoke(sqlite3 *db, tenancy_revoke_by by, const char *id,
                       const char *tenant_scope, const char *database_scope, int *count,
                       tg_err *err)
{
    if ((tenant_scope || database_scope) && by == TENANCY_BY_JTI) {
        const char *a[] = {id, tenant_scope, database_scope};
        cJSON *t = store_query_one(db, "SELECT jti FROM tokens WHERE jti = ?1"
                                   " AND (?2 IS NULL OR tenant_id = ?2)"
                                   " AND (?3 IS NULL OR database_id = ?3)",
                                   3, a, "token", id, err);
        if (!t) return -1;
        cJSON_Delete(t);
    }
    return tenancy_tokens_revoke(db, by, id, count, err);
}
