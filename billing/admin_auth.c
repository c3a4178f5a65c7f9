/* admin_auth.c - see admin_auth.h. */
#include "admin_auth.h"

#include <cjson/cJSON.h>
#include <jwt.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "../auth/jwt.h"

char *admin_token_create(const char *secret, long long ttl_s, time_t now, tg_err *err)
{
    if (!secret || strlen(secret) < ADMIN_SECRET_MIN) {
        tg_fail(err, 400, "admin_jwt_secret: not set or shorter than %d bytes", ADMIN_SECRET_MIN);
        return NULL;
    }
    unsigned char rnd[12];
    char jti[32];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        tg_fail(err, 500, "no randomness");
        return NULL;
    }
    for (size_t i = 0; i < sizeof rnd; i++) snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
    jwt_t *jwt = NULL;
    char *out = NULL;
    if (jwt_new(&jwt) || !jwt) {
        tg_fail(err, 500, "jwt_new failed");
        return NULL;
    }
    if (jwt_add_grant(jwt, "sub", "admin") || jwt_add_grant(jwt, "role", "admin") ||
        jwt_add_grant(jwt, "jti", jti) || jwt_add_grant_int(jwt, "iat", (long)now) ||
        jwt_add_grant_int(jwt, "exp", (long)(now + ttl_s)) ||
        jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret, (int)strlen(secret))) {
        tg_fail(err, 500, "cannot build token");
        goto out;
    }
    out = jwt_encode_str(jwt);
    if (!out) tg_fail(err, 500, "cannot sign token");
out:
    jwt_free(jwt);
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
