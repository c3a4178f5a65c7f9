/*
 * admin_auth.h - admin tokens: HS256 JWTs with `role: admin`, signed with
 * admin_jwt_secret, a key separate from the data plane's, so a data-plane
 * token can never reach the admin API and the other way round.
 *
 * Claims: sub "admin", role "admin", jti (random), iat, exp (required).
 * The algorithm is pinned to HS256 from the header before libjwt decodes.
 * Tenant tokens (role tenant, sub = tenant id) use the same key.
 * Thread-safe: no shared state.
 */
#ifndef TG_ADMIN_AUTH_H
#define TG_ADMIN_AUTH_H

#include <stddef.h>
#include <time.h>

#include "auth/jwt.h"
#include "common/err.h"

#define ADMIN_SECRET_MIN 32

/* A token valid for ttl_s seconds from now. Returns a malloc'd string the
 * caller frees, or NULL with err. */
char *admin_token_create(const char *secret, long long ttl_s, time_t now, tg_err *err);

/* Verifies token[0..len) at time now (leeway_s of clock skew). 0, or -1
 * with a 401 err that never repeats the token. */
int admin_token_verify(const char *secret, const char *token, size_t len, time_t now,
                       long leeway_s, tg_err *err);

/* ==== Tenant tokens (the dashboard API) ====
 * The same key and checks; claims sub = the tenant's id, role "tenant",
 * and a jti. Whether the tenant still exists and the jti is still issued
 * (not revoked) is the caller's to check: the control plane's store does
 * on every request (gateway/control/store.h, store_tenant_live). */

#define CONTROL_JTI_MAX 25   /* 24 hex digits and NUL */

/* A tenant token; its jti is written to jti (for the caller to record). */
char *tenant_token_create(const char *secret, const char *tenant_id, long long ttl_s,
                          time_t now, char jti[CONTROL_JTI_MAX], tg_err *err);

typedef enum { CONTROL_ADMIN = 1, CONTROL_TENANT } control_role;
typedef struct control_principal {
    control_role role;
    char tenant_id[AUTH_ID_MAX];     /* CONTROL_TENANT: sub */
    char jti[CONTROL_JTI_MAX];       /* CONTROL_TENANT: the token's id */
} control_principal;

/* Verifies an admin or a tenant token; fills *who. 0, or -1 with a 401
 * (a data-plane token fails: it is not signed with this key). */
int control_token_verify(const char *secret, const char *token, size_t len, time_t now,
                         long leeway_s, control_principal *who, tg_err *err);

#endif
