/*
 * auth.h - the front door of the auth module: token in, grant out.
 *
 * One auth_ctx per worker thread (no locking): a bounded cache of verified
 * tokens keyed by a keyed hash of the token, in front of signature
 * verification (jwt.h) and the token/database lookup (tenancy.h).
 *
 * Cache contract: an entry never outlives its token's exp, and is re-checked
 * against the state file (revocation, deleted database or tenant) at most
 * AUTH_RECHECK_S seconds after it was last checked, so a revocation takes
 * effect on a running gateway within that time.
 */
#ifndef TG_AUTH_H
#define TG_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "auth/jwt.h"
#include "auth/tenancy.h"

#define AUTH_RECHECK_S 1

/* A grant as the request path sees it; strings owned by the auth_ctx and
 * valid until the next auth_authenticate call on the same ctx. */
typedef struct auth_grant {
    const char *tenant_id;
    const char *database_id;
    const char *jti;
    const char *redis_url;
    int db_index;
    auth_scope scope;
    long long expires_at;
    const char *cmd_allow;       /* per-token command rules, NULL when none; */
    const char *cmd_deny;        /* these stay valid for the ctx's lifetime */
    const char *key_prefix;      /* shared database: its key prefix; NULL for
                                    a dedicated one */
    long long rate_limit;        /* the token's signed commands/s, 0: none
                                    (quota_ask.token_rate) */
    uint32_t *users_seen;        /* scratch for the caller, kept with the
                                    cached token (0 when first cached): the
                                    backend user generation last made sure of */
    void **app_data;             /* scratch for the caller, kept with the
                                    cached token (NULL when first cached) */
} auth_grant;

typedef struct auth_ctx auth_ctx;

/* *current is the keyring in force, read (atomically) on every
 * verification, so keys can be swapped on a running gateway: a cached token
 * verified with another keyring is verified again. The pointer and every
 * keyring it has pointed to must outlive the ctx. leeway_s is the clock
 * skew allowed on expiry. NULL + err if the state file cannot be opened. */
auth_ctx *auth_ctx_new(const auth_keyring *const *current, long leeway_s,
                       const char *sqlite_path, size_t cache_entries, tg_err *err);
void auth_ctx_free(auth_ctx *a);

/* Verifies token[0..len) at time now. Returns 0 and fills *out, or -1 with
 * err (401, or 503 if the state file is unreadable). */
int auth_authenticate(auth_ctx *a, const char *token, size_t len, time_t now,
                      auth_grant *out, tg_err *err);

/* Counters for tests and metrics. */
typedef struct auth_stats {
    unsigned long hits, misses, rechecks;
} auth_stats;
void auth_ctx_stats(const auth_ctx *a, auth_stats *out);

#endif
