/* jwt.c - see jwt.h. */
#include "auth/jwt.h"

#include <ctype.h>
#include <cjson/cJSON.h>
#include <jwt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/buf.h"
#include "common/mem.h"

const char *auth_scope_name(auth_scope s)
{
    return s == AUTH_SCOPE_RO ? "ro" : "rw";
}

int auth_scope_parse(const char *s, auth_scope *out)
{
    if (!strcmp(s, "rw")) *out = AUTH_SCOPE_RW;
    else if (!strcmp(s, "ro")) *out = AUTH_SCOPE_RO;
    else return -1;
    return 0;
}

/* The header is read before libjwt sees the token: alg must be a string,
 * typ (if present) "JWT", kid (if present) a short string, and no `crit`:
 * RFC 7515 4.1.11 has a token refused when its crit names an extension the
 * recipient does not understand, and we understand none. */
static int read_header(const char *tok, size_t hlen, char *alg, size_t algcap,
                       char *kid, size_t kidcap, bool *has_kid, tg_err *err)
{
    buf raw;
    buf_init(&raw);
    int rc = -1;
    cJSON *h = NULL;
    *has_kid = false;
    if (!base64_decode(&raw, tok, hlen, true)) {
        tg_fail(err, 401, "invalid token: header is not base64url");
        goto out;
    }
    h = cJSON_ParseWithLength(raw.data, raw.len);
    if (!h || !cJSON_IsObject(h)) {
        tg_fail(err, 401, "invalid token: header is not a JSON object");
        goto out;
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(h, "alg");
    const cJSON *typ = cJSON_GetObjectItemCaseSensitive(h, "typ");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(h, "kid");
    if (!cJSON_IsString(a) || strlen(a->valuestring) >= algcap) {
        tg_fail(err, 401, "invalid token: algorithm not accepted");
        goto out;
    }
    if (typ && (!cJSON_IsString(typ) || strcasecmp(typ->valuestring, "JWT") != 0)) {
        tg_fail(err, 401, "invalid token: typ is not JWT");
        goto out;
    }
    if (cJSON_GetObjectItemCaseSensitive(h, "crit")) {
        tg_fail(err, 401, "invalid token: critical header extensions are not supported");
        goto out;
    }
    if (k && (!cJSON_IsString(k) || strlen(k->valuestring) >= kidcap)) {
        tg_fail(err, 401, "invalid token: kid must be a short string");
        goto out;
    }
    strcpy(alg, a->valuestring);
    if (k) {
        strcpy(kid, k->valuestring);
        *has_kid = true;
    }
    rc = 0;
out:
    cJSON_Delete(h);
    buf_release(&raw);
    return rc;
}

const auth_key *auth_keyring_pick(const auth_keyring *ring, const char *kid)
{
    if (!kid) return ring->dflt;
    for (size_t i = 0; i < ring->n; i++)
        if (ring->keys[i].kid && !strcmp(ring->keys[i].kid, kid)) return &ring->keys[i];
    return NULL;
}

/* aud may be a string or an array of strings. */
static int check_audience(const cJSON *claims, const char *want, tg_err *err)
{
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
    if (cJSON_IsString(aud) && !strcmp(aud->valuestring, want)) return 0;
    if (cJSON_IsArray(aud)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, aud) {
            if (!cJSON_IsString(e)) break;
            if (!strcmp(e->valuestring, want)) return 0;
        }
    }
    return tg_fail(err, 401, "invalid token: audience not accepted");
}

static int claim_string(const cJSON *claims, const char *name, char *out,
                        bool required, tg_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
    out[0] = '\0';
    if (!v) return required ? tg_fail(err, 401, "invalid token: missing claim '%s'", name) : 0;
    if (!cJSON_IsString(v) || !v->valuestring[0] ||
        strlen(v->valuestring) >= AUTH_ID_MAX)
        return tg_fail(err, 401, "invalid token: claim '%s' must be a short "
                       "non-empty string", name);
    strcpy(out, v->valuestring);
    return 0;
}

int auth_rules_normalize(const char *in, char out[AUTH_RULES_MAX])
{
    size_t o = 0;
    bool entry_start = true;
    for (const char *p = in; *p; p++) {
        char c = (char)tolower((unsigned char)*p);
        if (c == ' ' || c == '\t') continue;
        if (c == ',') {
            if (entry_start) return -1; /* empty entry */
            entry_start = true;
        } else if (c == '@') {
            if (!entry_start) return -1; /* '@' only leads a category */
            entry_start = false;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '|' ||
                   c == '-') {
            entry_start = false;
        } else {
            return -1;
        }
        if (o + 1 >= AUTH_RULES_MAX) return -1;
        out[o++] = c;
    }
    if (o > 0 && entry_start) return -1; /* trailing comma */
    out[o] = '\0';
    return 0;
}

/* A rule list claim: an array of strings, joined and normalised. */
static int claim_rules(const cJSON *claims, const char *name, char out[AUTH_RULES_MAX],
                       tg_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
    out[0] = '\0';
    if (!v) return 0;
    char joined[AUTH_RULES_MAX];
    size_t o = 0;
    const cJSON *e;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) goto bad;
    cJSON_ArrayForEach(e, v) {
        if (!cJSON_IsString(e) || strchr(e->valuestring, ',')) goto bad;
        size_t n = strlen(e->valuestring);
        if (o + n + 2 >= sizeof joined) goto bad;
        if (o) joined[o++] = ',';
        memcpy(joined + o, e->valuestring, n);
        o += n;
    }
    joined[o] = '\0';
    if (auth_rules_normalize(joined, out) == 0 && !strcmp(joined, out)) return 0;
bad:
    return tg_fail(err, 401, "invalid token: claim '%s' must be an array of command "
                   "names and @categories", name);
}

/* The optional rate_limit claim: an integer 1..1e9. */
static int claim_rate(const cJSON *claims, long long *out, tg_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, "rate_limit");
    *out = 0;
    if (!v) return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 1 ||
        v->valuedouble > 1e9 || v->valuedouble != floor(v->valuedouble))
        return tg_fail(err, 401, "invalid token: claim 'rate_limit' must be an integer "
                       "number of commands per second");
    *out = (long long)v->valuedouble;
    return 0;
}

static int claim_time(const cJSON *claims, const char *name, long long *out,
                      bool required, tg_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
    *out = 0;
    if (!v) return required ? tg_fail(err, 401, "invalid token: missing claim '%s'", name) : 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > 1e13 || v->valuedouble != floor(v->valuedouble))
        return tg_fail(err, 401, "invalid token: claim '%s' must be an "
                       "integer number of seconds", name);
    *out = (long long)v->valuedouble;
    return 0;
}

int auth_jwt_verify(const auth_key *key, const char *token, size_t len,
                    time_t now, auth_claims *out, tg_err *err)
{
    auth_keyring ring = {key, 1, key};
    return auth_jwt_verify_ring(&ring, token, len, now, out, err);
}

cJSON *auth_jwt_decode(const auth_keyring *ring, const char *token, size_t len,
                       time_t now, tg_err *err)
{
    if (len == 0) {
        tg_fail(err, 401, "missing auth token");
        return NULL;
    }
    if (len > AUTH_TOKEN_MAX) {
        tg_fail(err, 401, "invalid token: too long");
        return NULL;
    }
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot1 || !dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) ||
        dot2 + 1 == token + len) {
        tg_fail(err, 401, "invalid token: not a signed JWT");
        return NULL;
    }
    char alg[16], kid[AUTH_ID_MAX];
    bool has_kid;
    if (read_header(token, (size_t)(dot1 - token), alg, sizeof alg, kid, sizeof kid,
                    &has_kid, err))
        return NULL;
    const auth_key *key = auth_keyring_pick(ring, has_kid ? kid : NULL);
    if (!key) {
        tg_fail(err, 401, has_kid ? "invalid token: unknown key id"
                                  : "invalid token: a key id (kid) is required");
        return NULL;
    }
    /* Pinned: the token cannot choose its algorithm (no `none`, and no HS256
     * signed with an RSA public key used as the HMAC secret). */
    if (strcmp(alg, key->alg) != 0) {
        tg_fail(err, 401, "invalid token: algorithm not accepted");
        return NULL;
    }

    jwt_alg_t want = jwt_str_alg(key->alg);
    char *tok = xstrndup(token, len);
    jwt_t *jwt = NULL;
    char *grants = NULL;
    cJSON *claims = NULL;
    bool ok = false;
    long long exp, nbf, iat;
    if (jwt_decode(&jwt, tok, key->secret, (int)key->secret_len) != 0 || !jwt) {
        tg_fail(err, 401, "invalid token: signature verification failed");
        goto out;
    }
    if (want == JWT_ALG_INVAL || want == JWT_ALG_NONE || jwt_get_alg(jwt) != want) {
        tg_fail(err, 401, "invalid token: algorithm not accepted");
        goto out;
    }
    grants = jwt_get_grants_json(jwt, NULL);
    claims = grants ? cJSON_Parse(grants) : NULL;
    if (!cJSON_IsObject(claims)) {
        tg_fail(err, 401, "invalid token: claims are not a JSON object");
        goto out;
    }
    if (claim_time(claims, "exp", &exp, true, err) ||
        claim_time(claims, "nbf", &nbf, false, err) ||
        claim_time(claims, "iat", &iat, false, err))
        goto out;
    if (key->issuer) {
        const cJSON *iss = cJSON_GetObjectItemCaseSensitive(claims, "iss");
        if (!cJSON_IsString(iss) || strcmp(iss->valuestring, key->issuer) != 0) {
            tg_fail(err, 401, "invalid token: issuer not accepted");
            goto out;
        }
    }
    if (key->audience && check_audience(claims, key->audience, err)) goto out;
    long long t = (long long)now, leeway = key->leeway_s;
    if (t > exp + leeway) {
        tg_fail(err, 401, "token expired");
        goto out;
    }
    if (nbf && t + leeway < nbf) {
        tg_fail(err, 401, "token not yet valid");
        goto out;
    }
    if (iat && t + leeway < iat) {
        tg_fail(err, 401, "invalid token: issued in the future");
        goto out;
    }
    ok = true;
out:
    if (!ok) {
        cJSON_Delete(claims);
        claims = NULL;
    }
    free(grants);
    jwt_free(jwt);
    free(tok);
    return claims;
}

int auth_jwt_verify_ring(const auth_keyring *ring, const char *token, size_t len,
                         time_t now, auth_claims *out, tg_err *err)
{
    memset(out, 0, sizeof *out);
    cJSON *claims = auth_jwt_decode(ring, token, len, now, err);
    if (!claims) return -1;
    int rc = -1;
    char scope[AUTH_ID_MAX];
    if (claim_string(claims, "sub", out->sub, true, err) ||
        claim_string(claims, "db", out->db, true, err) ||
        claim_string(claims, "jti", out->jti, true, err) ||
        claim_string(claims, "scope", scope, true, err) ||
        claim_time(claims, "exp", &out->exp, true, err) ||
        claim_time(claims, "nbf", &out->nbf, false, err) ||
        claim_time(claims, "iat", &out->iat, false, err) ||
        claim_rules(claims, "cmd_allow", out->cmd_allow, err) ||
        claim_rules(claims, "cmd_deny", out->cmd_deny, err) ||
        claim_rate(claims, &out->rate_limit, err))
        goto out;
    if (auth_scope_parse(scope, &out->scope)) {
        tg_fail(err, 401, "invalid token: scope must be 'rw' or 'ro'");
        goto out;
    }
    rc = 0;
out:
    cJSON_Delete(claims);
    return rc;
}

/* Adds a rule list (already normalised) as a JSON array claim. */
static void add_rules(cJSON *o, const char *name, const char *rules)
{
    if (!rules[0]) return;
    cJSON *a = cJSON_AddArrayToObject(o, name);
    char tmp[AUTH_RULES_MAX];
    snprintf(tmp, sizeof tmp, "%s", rules);
    for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save))
        cJSON_AddItemToArray(a, cJSON_CreateString(t));
}

char *auth_jwt_sign_json(const auth_key *key, const cJSON *claims, tg_err *err)
{
    jwt_t *jwt = NULL;
    char *out = NULL, *json = NULL;
    jwt_alg_t alg = jwt_str_alg(key->alg);
    if (alg == JWT_ALG_INVAL || alg == JWT_ALG_NONE) {
        tg_fail(err, 400, "unsupported algorithm %s", key->alg);
        return NULL;
    }
    if (jwt_new(&jwt) || !jwt) {
        tg_fail(err, 500, "jwt_new failed");
        return NULL;
    }
    json = cJSON_PrintUnformatted(claims);
    if (!json || jwt_add_grants_json(jwt, json) ||
        (key->issuer && jwt_add_grant(jwt, "iss", key->issuer)) ||
        (key->audience && jwt_add_grant(jwt, "aud", key->audience)) ||
        (key->kid && jwt_add_header(jwt, "kid", key->kid)) ||
        jwt_set_alg(jwt, alg, key->sign_key ? key->sign_key : key->secret,
                    (int)(key->sign_key ? key->sign_key_len : key->secret_len))) {
        tg_fail(err, 500, "cannot build token");
        goto out;
    }
    out = jwt_encode_str(jwt);
    if (!out) tg_fail(err, 500, "cannot sign token");
out:
    free(json);
    jwt_free(jwt);
    return out;
}

char *auth_jwt_sign(const auth_key *key, const auth_claims *c, tg_err *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "sub", c->sub);
    cJSON_AddStringToObject(o, "db", c->db);
    cJSON_AddStringToObject(o, "jti", c->jti);
    cJSON_AddStringToObject(o, "scope", auth_scope_name(c->scope));
    cJSON_AddNumberToObject(o, "exp", (double)c->exp);
    if (c->iat) cJSON_AddNumberToObject(o, "iat", (double)c->iat);
    if (c->nbf) cJSON_AddNumberToObject(o, "nbf", (double)c->nbf);
    add_rules(o, "cmd_allow", c->cmd_allow);
    add_rules(o, "cmd_deny", c->cmd_deny);
    if (c->rate_limit > 0) cJSON_AddNumberToObject(o, "rate_limit", (double)c->rate_limit);
    char *out = auth_jwt_sign_json(key, o, err);
    cJSON_Delete(o);
    return out;
}
