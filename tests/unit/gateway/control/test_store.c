/* test_store.c - the control plane's store on a real state file: what it
 * answers (ids, ISO 8601 times, no secrets), pages that visit everything
 * once, tenant confinement (another tenant's things are 404s), and a
 * tenant's deletion revoking its tokens and its tenant tokens. */
#include "gateway/control/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/admin_token.h"
#include "tests/unit/fixtures/state.h"
#include "tests/unit/testhelp.h"

#define ADMIN_SECRET "unit-admin-secret-unit-admin-secret-01"

static const char *str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* A new tenant's id into out; the answer checked. */
static void tenant(sqlite3 *db, const char *name, char *out)
{
    tg_err err;
    cJSON *t = store_tenant_create(db, name, &err);
    CHECK(t != NULL);
    if (!t) return;
    snprintf(out, AUTH_ID_MAX, "%s", str(t, "id"));
    CHECK(!strncmp(out, "tn_", 3));
    CHECK_STR(str(t, "name"), name);
    const char *at = str(t, "created_at");
    CHECK(at && strlen(at) == 20 && at[10] == 'T' && at[19] == 'Z');
    CHECK_STR(str(t, "plan_id"), "payg");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(t, "budget_micros")));
    cJSON_Delete(t);
}

TEST(tenant_create_validates_and_answers)
{
    sqlite3 *db = fx_state_open(NULL);
    char id[AUTH_ID_MAX];
    tenant(db, "acme", id);
    tg_err err;
    CHECK(store_tenant_create(db, "", &err) == NULL && err.status == 400);
    CHECK(strstr(err.msg, "name") == err.msg);
    cJSON *t = store_tenant_update(db, id, "acme2", 5000, &err);
    CHECK(t && !strcmp(str(t, "name"), "acme2"));
    CHECK(t && cJSON_GetObjectItemCaseSensitive(t, "budget_micros")->valuedouble == 5000);
    cJSON_Delete(t);
    CHECK(store_tenant_get(db, "tn_nope", &err) == NULL && err.status == 404);
    sqlite3_close(db);
}

TEST(pages_visit_every_tenant_once)
{
    sqlite3 *db = fx_state_open(NULL);
    char id[AUTH_ID_MAX];
    for (int i = 0; i < 7; i++) tenant(db, "t", id);
    tg_err err;
    int seen = 0, pages = 0;
    char cursor[AUTH_ID_MAX] = "", last[AUTH_ID_MAX] = "";
    for (;;) {
        store_page pg = {3, *cursor ? cursor : NULL};
        cJSON *l = store_tenant_list(db, &pg, &err);
        CHECK(l != NULL);
        if (!l) break;
        pages++;
        cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(l, "items")) {
            CHECK(strcmp(str(it, "id"), last) > 0);   /* ordered, no repeat */
            snprintf(last, sizeof last, "%s", str(it, "id"));
            seen++;
        }
        const char *next = str(l, "next_cursor");
        if (next) snprintf(cursor, sizeof cursor, "%s", next);
        cJSON_Delete(l);
        if (!next || pages > 10) break;
    }
    CHECK(seen == 7);
    CHECK(pages == 3);
    sqlite3_close(db);
}

TEST(plans_write_get_list)
{
    sqlite3 *db = fx_state_open(NULL);
    tg_err err;
    int64_t prices[PRICE_COUNT];
    limit_set l;
    for (int i = 0; i < PRICE_COUNT; i++) prices[i] = LIMIT_KEEP;
    limits_keep_all(&l);
    l.v[LIMIT_DAILY_COMMANDS] = 1000;
    cJSON *p = store_plan_write(db, true, "pro", "Pro", NULL, prices, &l, &err);
    CHECK(p && cJSON_GetObjectItemCaseSensitive(p, "daily_commands")->valuedouble == 1000);
    CHECK(p && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p, "monthly_commands")));
    CHECK(p && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(p, "is_default")));
    cJSON_Delete(p);
    CHECK(store_plan_write(db, true, "pro", "Pro", NULL, prices, &l, &err) == NULL);
    CHECK(err.status == 409);
    limits_keep_all(&l);
    l.v[LIMIT_DAILY_COMMANDS] = LIMIT_UNLIMITED;
    p = store_plan_write(db, false, "pro", NULL, NULL, prices, &l, &err);
    CHECK(p && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p, "daily_commands")));
    cJSON_Delete(p);
    store_page pg = {100, NULL};
    cJSON *list = store_plan_list(db, &pg, &err);
    CHECK(list && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(list, "items")) == 2);
    cJSON_Delete(list);
    char t[AUTH_ID_MAX];
    tenant(db, "a", t);
    cJSON *a = store_plan_assign(db, t, "pro", 0, &err);
    CHECK(a && !strcmp(str(a, "plan_id"), "pro"));
    cJSON_Delete(a);
    CHECK(store_plan_assign(db, t, "nope", 0, &err) == NULL && err.status == 404);
    sqlite3_close(db);
}

TEST(tenants_are_confined)
{
    sqlite3 *db = fx_state_open(NULL);
    tg_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char url[] = "redis://127.0.0.1:1", secret[] = ADMIN_SECRET;
    cfg.redis_url = url;
    cfg.admin_jwt_secret = secret;
    char a[AUTH_ID_MAX], b[AUTH_ID_MAX];
    tenant(db, "a", a);
    tenant(db, "b", b);
    tg_err err;
    cJSON *d = store_db_create(db, &cfg, a, "main", NULL, 3, TENANCY_DEDICATED, &err);
    CHECK(d != NULL);
    if (!d) return;
    char dbid[AUTH_ID_MAX];
    snprintf(dbid, sizeof dbid, "%s", str(d, "id"));
    CHECK_STR(str(d, "plan_id"), "payg");
    CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(d, "limits")));
    cJSON_Delete(d);
    CHECK(store_db_create(db, &cfg, a, "main", NULL, -1, TENANCY_DEDICATED, &err) == NULL);
    CHECK(err.status == 409);                      /* the name is taken */
    CHECK(store_db_create(db, &cfg, a, "x", "http://h", -1, TENANCY_DEDICATED, &err) == NULL);
    CHECK(err.status == 400 && strstr(err.msg, "redis_url") == err.msg);

    d = store_db_get(db, dbid, a, &err);            /* the owner's view */
    CHECK(d && !cJSON_GetObjectItemCaseSensitive(d, "redis_url"));
    cJSON_Delete(d);
    CHECK(store_db_get(db, dbid, b, &err) == NULL && err.status == 404);
    store_page pg = {10, NULL};
    cJSON *l = store_db_list(db, b, &pg, &err);
    CHECK(l && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(l, "items")) == 0);
    cJSON_Delete(l);

    /* A token row of a's, then b may not revoke it. */
    CHECK(sqlite3_exec(db, "INSERT INTO tokens (jti, tenant_id, database_id, scope, issued_at,"
                       " expires_at) SELECT 'j1', tenant_id, id, 'rw', 0, 4000000000 FROM"
                       " databases", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(store_token_revoke(db, TENANCY_BY_JTI, "j1", b, NULL, NULL, &err) == -1 &&
          err.status == 404);
    CHECK(store_token_revoke(db, TENANCY_BY_JTI, "j1", a, "db_other", NULL, &err) == -1 &&
          err.status == 404);
    l = store_token_list(db, dbid, &pg, &err);
    CHECK(l && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
                   cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(l, "items"), 0),
                   "revoked_at")));
    cJSON_Delete(l);

    /* Tenant tokens: role tenant, sub the tenant; refused once it is gone. */
    cJSON *tt = store_tenant_token(db, &cfg, a, 60, &err);
    CHECK(tt != NULL);
    control_principal who;
    const char *tok = tt ? str(tt, "token") : "";
    CHECK(control_token_verify(ADMIN_SECRET, tok, strlen(tok), time(NULL), 0, &who, &err) == 0);
    CHECK(who.role == CONTROL_TENANT && !strcmp(who.tenant_id, a));
    CHECK(tt && !strcmp(who.jti, str(tt, "jti")));
    cJSON_Delete(tt);
    CHECK(store_tenant_live(db, a, who.jti, &err) == 0);
    /* Revoking one tenant token refuses it, and only it. */
    cJSON *tt2 = store_tenant_token(db, &cfg, a, 60, &err);
    char jti2[CONTROL_JTI_MAX];
    snprintf(jti2, sizeof jti2, "%s", tt2 ? str(tt2, "jti") : "");
    cJSON_Delete(tt2);
    l = store_tenant_token_list(db, a, &pg, &err);
    CHECK(l && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(l, "items")) == 2);
    cJSON_Delete(l);
    CHECK(store_tenant_token_revoke(db, jti2, &err) == 0);
    CHECK(store_tenant_live(db, a, jti2, &err) == -1 && err.status == 401);
    CHECK(store_tenant_live(db, a, who.jti, &err) == 0);
    CHECK(store_tenant_live(db, a, "0123456789abcdef01234567", &err) == -1 && err.status == 401);
    CHECK(store_tenant_token_revoke(db, "nope", &err) == -1 && err.status == 404);
    CHECK(store_tenant_delete(db, a, &err) == 0);
    CHECK(store_tenant_live(db, a, who.jti, &err) == -1 && err.status == 401);
    CHECK(store_tenant_token(db, &cfg, a, 60, &err) == NULL && err.status == 404);
    CHECK(store_tenant_delete(db, a, &err) == -1 && err.status == 404);
    l = store_token_list(db, dbid, &pg, &err);       /* the admin still sees it, revoked */
    CHECK(l && !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
                   cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(l, "items"), 0),
                   "revoked_at")));
    cJSON_Delete(l);
    sqlite3_close(db);
}

/* Review finding: the quota counter Redis is never a server database's
 * (its owner could FLUSHALL every node's counters), by any spelling. */
TEST(server_database_never_on_the_quota_redis)
{
    sqlite3 *db = fx_state_open(NULL);
    tg_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char url[] = "redis://127.0.0.1:1", secret[] = ADMIN_SECRET, q[] = "redis://127.0.0.1:31/";
    cfg.redis_url = url;
    cfg.admin_jwt_secret = secret;
    cfg.quota_redis_url = q;
    char a[AUTH_ID_MAX];
    tenant(db, "a", a);
    tg_err err = {0, ""};
    CHECK(store_db_create(db, &cfg, a, "own", "redis://localhost:31", -1, TENANCY_SERVER,
                          &err) == NULL && err.status == 409 && strstr(err.msg, "quota"));
    cJSON *d = store_db_create(db, &cfg, a, "own", "redis://127.0.0.1:32", -1, TENANCY_SERVER,
                               &err);
    CHECK(d != NULL);
    cJSON_Delete(d);
    sqlite3_close(db);
}

TEST(admin_and_data_plane_tokens_are_not_tenant_tokens)
{
    tg_err err;
    control_principal who;
    char *adm = admin_token_create(ADMIN_SECRET, 60, time(NULL), &err);
    CHECK(control_token_verify(ADMIN_SECRET, adm, strlen(adm), time(NULL), 0, &who, &err) == 0);
    CHECK(who.role == CONTROL_ADMIN);
    CHECK(control_token_verify("another-secret-another-secret-0123456", adm, strlen(adm),
                               time(NULL), 0, &who, &err) == -1 && err.status == 401);
    free(adm);
    char *tt = tenant_token_create(ADMIN_SECRET, "tn_x", 60, time(NULL), NULL, &err);
    CHECK(admin_token_verify(ADMIN_SECRET, tt, strlen(tt), time(NULL), 0, &err) == -1);
    free(tt);
}

int main(void)
{
    if (fx_dir_make("tollgate-store")) return 1;
    RUN(tenant_create_validates_and_answers);
    RUN(pages_visit_every_tenant_once);
    RUN(plans_write_get_list);
    RUN(tenants_are_confined);
    RUN(server_database_never_on_the_quota_redis);
    RUN(admin_and_data_plane_tokens_are_not_tenant_tokens);
    if (fx_dir_remove()) return 1;
    TEST_MAIN_END();
}
