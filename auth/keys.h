/*
 * keys.h - the data plane's verification keys, from settings.
 *
 * The default key comes from jwt_secret + jwt_alg (HS256/384/512), named
 * jwt_kid if set; tokens without a kid use it. More keys come from
 * jwt_keys_file, one per line:
 *
 *     # kid   alg     verify-key-file          [signing-key-file]
 *     2026a   HS256   /etc/tollgate/2026a.secret
 *     rsa1    RS256   /etc/tollgate/rsa1.pub.pem  /etc/tollgate/rsa1.pem
 *
 * An HS key's file holds the secret (a trailing newline is ignored; at
 * least 32 bytes); an RS/ES key's file holds its PEM public key, and the
 * optional signing file its PEM private key (only `tollgate token create`
 * needs it). Relative paths are relative to the keys file. Each key allows
 * exactly its one algorithm. Rotation: add the new key, issue tokens with
 * it, remove the old key once its tokens have expired; `serve` reloads the
 * file on SIGHUP (gateway/http/server.c).
 *
 * An auth_keys owns everything the ring points to; immutable once loaded,
 * so shared by all threads. auth_keys_free accepts NULL.
 */
#ifndef TG_AUTH_KEYS_H
#define TG_AUTH_KEYS_H

#include "common/config.h"
#include "common/err.h"
#include "auth/jwt.h"

typedef struct auth_keys_opts {
    const char *secret;          /* jwt_secret (may be NULL with a keys file) */
    const char *alg;             /* jwt_alg */
    const char *kid;             /* jwt_kid, may be NULL */
    const char *keys_file;       /* jwt_keys_file, may be NULL */
    const char *issuer;          /* jwt_issuer, may be NULL */
    const char *audience;        /* jwt_audience, may be NULL */
    long leeway_s;
} auth_keys_opts;

typedef struct auth_keys auth_keys;

/* Fills *out from the jwt_* settings; the strings stay cfg's (out borrows
 * them, so cfg must outlive every use of out). */
void auth_keys_opts_from_config(const tg_config *cfg, auth_keys_opts *out);

/* NULL + err (naming the file and line) when a key is unusable. */
auth_keys *auth_keys_load(const auth_keys_opts *o, tg_err *err);
void auth_keys_free(auth_keys *k);

const auth_keyring *auth_keys_ring(const auth_keys *k);

/* The key that signs new tokens: by kid, or the default key (kid NULL).
 * NULL + err if there is none or it has no signing material. */
const auth_key *auth_keys_signer(const auth_keys *k, const char *kid, tg_err *err);

#endif
