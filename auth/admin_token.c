/* admin_auth.c - see admin_auth.h. */
#include "auth/admin_token.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "auth/jwt.h"
#include "common/random.h"

/* A token of role for sub, valid ttl_s seconds from now. */
static char *role_token(const char *secret, const char *role, const char *sub, long long ttl_s,
                        time_t now, char jti_out[CONTROL_JTI_MAX], tg_err *err)
{
    if (!secret || strlen(secret) < ADMIN_SECRET_MIN) {
        tg_fail(err, 400, "admin_jwt_secret: not set or shorter than %d bytes", ADMIN_SECRET_MIN);
        return NULL;
    }
    char jti[CONTROL_JTI_MAX];
    random_hex(jti, 12);
    if (jti_out) memcpy(jti_out, jti, sizeof jti);
    auth_key key = {.alg = "HS256", .secret = (const unsigned char *)secret,
                    .secret_len = strlen(secret)};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "sub", sub);
    cJSON_AddStringToObject(o, "role", role);
    cJSON_AddStringToObject(o, "jti", jti);
    cJSON_AddNumberToObject(o, "iat", (double)now);
    cJSON_AddNumberToObject(o, "exp", (double)(now + ttl_s));
    char *out = auth_jwt_sign_json(&key, o, err);
    cJSON_Delete(o);
    return out;
}

char *admin_token_create(const char *secret, long long ttl_s, time_t now, tg_err *err)
{
    return role_token(secret, "admin", "admin", ttl_s, now, NULL, err);
}

char *tenant_token_create(const char *secret, const char *tenant_id, long long ttl_s,
                          time_t now, char jti[CONTROL_JTI_MAX], tg_err *err)
{
    if (!tenant_id || !*tenant_id || strlen(tenant_id) >= AUTH_ID_MAX) {
        tg_fail(err, 400, "tenant id: missing or too long");
        return NULL;
    }
    return role_token(secret, "tenant", tenant_id, ttl_s, now, jti, err);
}

int control_token_verify(const char *secret, const char *token, size_t len, time_t now,
                         long leeway_s, control_principal *who, tg_err *err)
{
    if (!secret || strlen(secret) < ADMIN_SECRET_MIN)
        return tg_fail(err, 401, "control plane disabled (admin_jwt_secret not set)");
    auth_key key = {.alg = "HS256", .secret = (const unsigned char *)secret,
                    .secret_len = strlen(secret), .leeway_s = leeway_s};
    auth_keyring ring = {&key, 1, &key};
    tg_err e;
    cJSON *claims = auth_jwt_decode(&ring, token, len, now, &e);
    if (!claims) return tg_fail(err, 401, "%s", e.msg);
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(claims, "role");
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(claims, "sub");
    const cJSON *jti = cJSON_GetObjectItemCaseSensitive(claims, "jti");
    int rc = 0;
    memset(who, 0, sizeof *who);
    if (cJSON_IsString(role) && !strcmp(role->valuestring, "admin")) {
        who->role = CONTROL_ADMIN;
    } else if (cJSON_IsString(role) && !strcmp(role->valuestring, "tenant") &&
               cJSON_IsString(sub) && *sub->valuestring &&
               strlen(sub->valuestring) < AUTH_ID_MAX && cJSON_IsString(jti) &&
               *jti->valuestring && strlen(jti->valuestring) < CONTROL_JTI_MAX) {
        who->role = CONTROL_TENANT;
        snprintf(who->tenant_id, sizeof who->tenant_id, "%s", sub->valuestring);
        snprintf(who->jti, sizeof who->jti, "%s", jti->valuestring);
    } else {
        rc = tg_fail(err, 401, "token has no control-plane role (admin or tenant)");
    }
    cJSON_Delete(claims);
    return rc;
}

int admin_token_verify(const char *secret, const char *token, size_t len, time_t now,
                       long leeway_s, tg_err *err)
{
    if (!secret || strlen(secret) < ADMIN_SECRET_MIN)
        return tg_fail(err, 401, "ERR admin API disabled (admin_jwt_secret not set)");
    /* The data plane's checks (pinned HS256, signature, typed exp/nbf/iat),
     * with the admin secret as the only key; then the role. */
    auth_key key = {.alg = "HS256", .secret = (const unsigned char *)secret,
                    .secret_len = strlen(secret), .leeway_s = leeway_s};
    auth_keyring ring = {&key, 1, &key};
    tg_err e;
    cJSON *claims = auth_jwt_decode(&ring, token, len, now, &e);
    if (!claims)
        return tg_fail(err, 401, "ERR invalid admin token: %s", e.msg);
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(claims, "role");
    int ok = cJSON_IsString(role) && !strcmp(role->valuestring, "admin");
    cJSON_Delete(claims);
    return ok ? 0 : tg_fail(err, 401, "ERR admin token required (role: admin)");
}
