/* admin_auth.c - see admin_auth.h. */
#include "auth/admin_token.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "auth/jwt.h"
#include "common/random.h"

char *admin_token_create(const char *secret, long long ttl_s, time_t now, tg_err *err)
{
    if (!secret || strlen(secret) < ADMIN_SECRET_MIN) {
        tg_fail(err, 400, "admin_jwt_secret: not set or shorter than %d bytes", ADMIN_SECRET_MIN);
        return NULL;
    }
    char jti[2 * 12 + 1];
    random_hex(jti, 12);
    auth_key key = {.alg = "HS256", .secret = (const unsigned char *)secret,
                    .secret_len = strlen(secret)};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "sub", "admin");
    cJSON_AddStringToObject(o, "role", "admin");
    cJSON_AddStringToObject(o, "jti", jti);
    cJSON_AddNumberToObject(o, "iat", (double)now);
    cJSON_AddNumberToObject(o, "exp", (double)(now + ttl_s));
    char *out = auth_jwt_sign_json(&key, o, err);
    cJSON_Delete(o);
    return out;
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
