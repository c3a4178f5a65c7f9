/* admin_auth.c - see admin_auth.h. */
#include "admin_auth.h"

#include <cjson/cJSON.h>
#include <jwt.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "../gateway/base64.h"
#include "../gateway/buf.h"
#include "../gateway/mem.h"

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

/* The header must name HS256 (and typ, if present, JWT). */
static int header_ok(const char *tok, size_t hlen)
{
    buf raw;
    buf_init(&raw);
    int ok = 0;
    if (base64_decode(&raw, tok, hlen, true)) {
        cJSON *h = cJSON_ParseWithLength(raw.data, raw.len);
        const cJSON *alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
        const cJSON *typ = cJSON_GetObjectItemCaseSensitive(h, "typ");
        ok = cJSON_IsString(alg) && !strcmp(alg->valuestring, "HS256") &&
             (!typ || (cJSON_IsString(typ) && !strcasecmp(typ->valuestring, "JWT")));
        cJSON_Delete(h);
    }
    buf_release(&raw);
    return ok;
}

int admin_token_verify(const char *secret, const char *token, size_t len, time_t now,
                       long leeway_s, tg_err *err)
{
    if (!secret || strlen(secret) < ADMIN_SECRET_MIN)
        return tg_fail(err, 401, "ERR admin API disabled (admin_jwt_secret not set)");
    if (len == 0 || len > 8192) return tg_fail(err, 401, "ERR missing or invalid admin token");
    const char *dot = memchr(token, '.', len);
    if (!dot || !header_ok(token, (size_t)(dot - token)))
        return tg_fail(err, 401, "ERR invalid admin token");
    char *tok = xstrndup(token, len);
    jwt_t *jwt = NULL;
    int rc = -1;
    if (jwt_decode(&jwt, tok, (const unsigned char *)secret, (int)strlen(secret)) != 0 || !jwt ||
        jwt_get_alg(jwt) != JWT_ALG_HS256) {
        tg_fail(err, 401, "ERR invalid admin token");
        goto out;
    }
    const char *role = jwt_get_grant(jwt, "role");
    if (!role || strcmp(role, "admin") != 0) {
        tg_fail(err, 401, "ERR admin token required (role: admin)");
        goto out;
    }
    long exp = jwt_get_grant_int(jwt, "exp");
    if (exp <= 0 || (long long)now > (long long)exp + leeway_s) {
        tg_fail(err, 401, "ERR admin token expired");
        goto out;
    }
    rc = 0;
out:
    jwt_free(jwt);
    free(tok);
    return rc;
}
