/*
 * jwt.h - signing and verifying tollgate's data-plane JWTs (libjwt 1.10).
 *
 * libjwt 1.10 takes the algorithm from the token's own header and does no
 * claim validation, so this module pins the algorithm (checked in the
 * header before decoding and on the decoded token after), always decodes
 * with the key, and checks every claim's presence, JSON type and time
 * window itself. Thread-safe: no shared state.
 */
#ifndef TG_AUTH_JWT_H
#define TG_AUTH_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/err.h"

#define AUTH_ID_MAX 64           /* longest tenant/db/jti id, with NUL */
#define AUTH_TOKEN_MAX 8192      /* longer tokens are refused unread */
#define AUTH_RULES_MAX 256       /* a command rule list, "get,set,@read" */

typedef enum { AUTH_SCOPE_RW = 0, AUTH_SCOPE_RO = 1 } auth_scope;

typedef struct auth_claims {
    char sub[AUTH_ID_MAX];       /* tenant id */
    char db[AUTH_ID_MAX];        /* database id */
    char jti[AUTH_ID_MAX];       /* token id, row in the tokens table */
    auth_scope scope;
    long long exp;               /* required */
    long long nbf, iat;          /* 0 when absent */
    /* Optional per-token command rules: comma-joined command names
     * ("config|get" for a subcommand) and "@category" ACL categories.
     * Empty: no rule. A command must match cmd_allow (when set) and must
     * not match cmd_deny. */
    char cmd_allow[AUTH_RULES_MAX];
    char cmd_deny[AUTH_RULES_MAX];
    /* Optional `rate_limit` claim: the token's own commands per second
     * (billing/quota.h), 0 when none. */
    long long rate_limit;
} auth_claims;

/* One verification key: exactly one algorithm, chosen by the operator. */
typedef struct auth_key {
    const char *alg;             /* HS256/384/512, RS256/384/512, ES256/384 */
    const unsigned char *secret; /* HMAC secret, or PEM public key (RS/ES) */
    size_t secret_len;
    long leeway_s;               /* allowed clock skew on exp/nbf/iat */
    const char *kid;             /* the token header's kid; NULL: none */
    const char *issuer;          /* if set, `iss` must equal it */
    const char *audience;        /* if set, `aud` (string or array) must hold it */
    const unsigned char *sign_key; /* for issuing: HMAC secret or PEM private
                                      key; NULL: same as secret (HS only) */
    size_t sign_key_len;
} auth_key;

/* Several keys at once, so keys rotate without downtime: a token names its
 * key with `kid`; a token without kid uses the default key. */
typedef struct auth_keyring {
    const auth_key *keys;
    size_t n;
    const auth_key *dflt;        /* for tokens without kid; may be NULL */
} auth_keyring;

/* The key a token's kid (NULL: none) selects, or NULL. */
const auth_key *auth_keyring_pick(const auth_keyring *ring, const char *kid);

/* Verifies token[0..len) (need not be NUL-terminated) at time now: picks
 * the key by kid, requires the header's alg to be that key's (before and
 * after decoding), checks the signature and every claim. On success fills
 * *out and returns 0; otherwise -1 with err->status 401 and a message that
 * never repeats the token. */
int auth_jwt_verify_ring(const auth_keyring *ring, const char *token, size_t len,
                         time_t now, auth_claims *out, tg_err *err);

/* The checks every token gets, whatever it is for: header (any `crit` is
 * refused: we understand no extension), key by kid, the pinned algorithm,
 * signature, exp (required) / nbf / iat, iss and aud.
 * Returns the claims object (the caller frees it with cJSON_Delete) or
 * NULL with a 401 err. */
struct cJSON;
struct cJSON *auth_jwt_decode(const auth_keyring *ring, const char *token, size_t len,
                              time_t now, tg_err *err);

/* The same with one key, which also takes tokens without kid. */
int auth_jwt_verify(const auth_key *key, const char *token, size_t len,
                    time_t now, auth_claims *out, tg_err *err);

/* Signs claims with key (its kid, iss and aud go into the token). Returns
 * a malloc'd token the caller frees, or NULL with err set. */
char *auth_jwt_sign(const auth_key *key, const auth_claims *c, tg_err *err);

/* Signs any claims object with key (adding the key's kid, iss and aud):
 * what auth_jwt_sign and admin tokens share. */
char *auth_jwt_sign_json(const auth_key *key, const struct cJSON *claims, tg_err *err);

/* Normalises a comma-separated rule list (lowercase, no spaces) into out;
 * -1 if an entry is not a command name or @category, or it is too long. */
int auth_rules_normalize(const char *in, char out[AUTH_RULES_MAX]);

const char *auth_scope_name(auth_scope s);
int auth_scope_parse(const char *s, auth_scope *out);

#endif
