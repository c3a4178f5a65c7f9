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

#include "../gateway/err.h"

#define AUTH_ID_MAX 64           /* longest tenant/db/jti id, with NUL */
#define AUTH_TOKEN_MAX 8192      /* longer tokens are refused unread */

typedef enum { AUTH_SCOPE_RW = 0, AUTH_SCOPE_RO = 1 } auth_scope;

typedef struct auth_claims {
    char sub[AUTH_ID_MAX];       /* tenant id */
    char db[AUTH_ID_MAX];        /* database id */
    char jti[AUTH_ID_MAX];       /* token id, row in the tokens table */
    auth_scope scope;
    long long exp;               /* required */
    long long nbf, iat;          /* 0 when absent */
} auth_claims;

typedef struct auth_key {
    const char *alg;             /* "HS256", "HS384" or "HS512" */
    const unsigned char *secret;
    size_t secret_len;
    long leeway_s;               /* allowed clock skew */
} auth_key;

/* Verifies token[0..len) (need not be NUL-terminated) against key at time
 * now. On success fills *out and returns 0; otherwise -1 with err->status
 * 401 and a message that never repeats the token. */
int auth_jwt_verify(const auth_key *key, const char *token, size_t len,
                    time_t now, auth_claims *out, tg_err *err);

/* Signs claims with key. Returns a malloc'd token the caller frees, or
 * NULL with err set. */
char *auth_jwt_sign(const auth_key *key, const auth_claims *c, tg_err *err);

const char *auth_scope_name(auth_scope s);
int auth_scope_parse(const char *s, auth_scope *out);

#endif
