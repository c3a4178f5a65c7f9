/*
 * store.h - the control plane's one store: every write to tenants,
 * databases, tokens and plans, and the reads the control plane answers
 * with. The CLI (cli/tenant.c, db.c, token.c, plan.c, tenant_token.c) and
 * the HTTP control plane (gateway/handlers/ctl_*.c) call these functions
 * and nothing else, so the two cannot disagree, and replication between
 * gateway nodes (the scale-out issue) has one place to hook into. The data
 * plane reads tenancy only through the token lookup (auth/refresh.h).
 *
 * Every function takes a migrated sqlite3 handle owned by the caller (not
 * thread-safe per handle) and answers a cJSON tree the caller frees
 * (resources as the API shows them: ids, ISO 8601 UTC times, no secret),
 * or NULL / -1 with err: 400 (invalid input, naming the field), 404 (no
 * such live thing, or not the given tenant's), 409 (a conflict), 503 (the
 * state file). A tenant_scope argument, when not NULL, confines the call
 * to that tenant's things: another tenant's is a 404, never its data.
 *
 * Some calls block for seconds (a database's deletion waits out the
 * token caches, then purges its data on its backend): callers on an
 * event loop run them on the control threads (gateway/handlers/ctl.h).
 */
#ifndef TG_CONTROL_STORE_H
#define TG_CONTROL_STORE_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "auth/jwt.h"
#include "auth/keys.h"
#include "auth/tenancy.h"
#include "billing/limits.h"
#include "common/config.h"
#include "common/err.h"

#define STORE_PAGE_MAX 100
#define STORE_PAGE_DEFAULT 50

/* A list's page: at most limit items after cursor (NULL: from the start).
 * Lists answer {"items": [...], "next_cursor": "..." | null}. */
typedef struct store_page {
    int limit;
    const char *cursor;
} store_page;

/* Backend passwords and ACL users: call once per process before any
 * database call (acl_secret). 0, or -1 with err. */
int store_init(const tg_config *cfg, tg_err *err);

/* ==== Tenants ==== */
cJSON *store_tenant_create(sqlite3 *db, const char *name, tg_err *err);
cJSON *store_tenant_get(sqlite3 *db, const char *id, tg_err *err);
cJSON *store_tenant_list(sqlite3 *db, const store_page *pg, tg_err *err);
/* name NULL: kept; budget LIMIT_KEEP: kept, LIMIT_UNLIMITED: none. */
cJSON *store_tenant_update(sqlite3 *db, const char *id, const char *name, int64_t budget,
                           tg_err *err);
/* Marks the tenant deleted and revokes its tokens: running gateways refuse
 * them within AUTH_RECHECK_S; its tenant tokens are refused at once. Its
 * databases keep their data until deleted themselves. */
int store_tenant_delete(sqlite3 *db, const char *id, tg_err *err);
/* A tenant's token for the dashboard API (role tenant), signed with
 * admin_jwt_secret and recorded by its jti (tenant_tokens):
 * {"token","jti","tenant_id","expires_at"}. */
cJSON *store_tenant_token(sqlite3 *db, const tg_config *cfg, const char *tenant_id,
                          long long ttl_s, tg_err *err);
/* 0 when the tenant exists and is not deleted and its token jti is
 * recorded and not revoked, else 401 (checked on every request). */
int store_tenant_live(sqlite3 *db, const char *tenant_id, const char *jti, tg_err *err);
/* A tenant's tenant tokens (never the tokens themselves), a page. */
cJSON *store_tenant_token_list(sqlite3 *db, const char *tenant_id, const store_page *pg,
                               tg_err *err);
/* Revokes one (idempotent); 404 if no such jti. Refused from the next
 * request on. */
int store_tenant_token_revoke(sqlite3 *db, const char *jti, tg_err *err);

/* ==== Plans ==== */
/* create: a new plan (409 if id exists; prices LIMIT_KEEP take the default
 * plan's); else an update of the columns not LIMIT_KEEP. */
cJSON *store_plan_write(sqlite3 *db, bool create, const char *id, const char *name,
                        const char *currency, const int64_t prices[PRICE_COUNT],
                        const limit_set *limits, tg_err *err);
cJSON *store_plan_get(sqlite3 *db, const char *id, tg_err *err);
cJSON *store_plan_list(sqlite3 *db, const store_page *pg, tg_err *err);
/* Puts tenant_id on plan_id from effective_from (Unix seconds); answers the
 * tenant. */
cJSON *store_plan_assign(sqlite3 *db, const char *tenant_id, const char *plan_id,
                         int64_t effective_from, tg_err *err);

/* ==== Databases ==== */
/* redis_url NULL: cfg->redis_url; db_index < 0 picks. A shared database's
 * ACL user is made now if its backend answers (else on first use). */
cJSON *store_db_create(sqlite3 *db, const tg_config *cfg, const char *tenant_id,
                       const char *name, const char *redis_url, int db_index,
                       tenancy_isolation iso, tg_err *err);
cJSON *store_db_get(sqlite3 *db, const char *id, const char *tenant_scope, tg_err *err);
/* tenant NULL: every tenant's. */
cJSON *store_db_list(sqlite3 *db, const char *tenant, const store_page *pg, tg_err *err);
/* Overrides of the plan's limits (LIMIT_INHERIT clears one); answers the
 * database. */
cJSON *store_db_limits(sqlite3 *db, const char *id, const limit_set *changes, tg_err *err);
/* How long after a database is marked deleted its data may go: every
 * token cache has rechecked by then (AUTH_RECHECK_S, and a margin). */
#define STORE_PURGE_DELAY_MS (AUTH_RECHECK_S * 1000 + 300)
/* Deleting is two steps. Marking: its tokens are refused from the next
 * recheck (*was_live: it was not marked already; NULL ok). */
int store_db_mark_deleted(sqlite3 *db, const char *id, const char *tenant_scope,
                          bool *was_live, tg_err *err);
/* Then, STORE_PURGE_DELAY_MS later: its data removed from its backend, its
 * slot freed. A backend that cannot be reached: 503, the database stays
 * deleted and the purge can be repeated; not marked deleted: 409. */
int store_db_purge(sqlite3 *db, const char *id, int connect_timeout_ms, tg_err *err);
/* Both, waiting in between (the CLI). */
int store_db_delete(sqlite3 *db, const tg_config *cfg, const char *id,
                    const char *tenant_scope, tg_err *err);

/* ==== Data-plane tokens ==== */
typedef struct store_token_req {
    const char *database_id;
    auth_scope scope;
    long long ttl_s;
    const char *allow, *deny;        /* "" or NULL: none */
    long long rate_limit;            /* 0: none */
    const char *kid;                 /* NULL: the default signer */
} store_token_req;
/* {"token","jti","database_id","scope","expires_at"}; the token is shown
 * this once. Signed by keys (the gateway's keys in force), or with keys
 * NULL by the keys cfg's jwt_* settings load now (the CLI). */
cJSON *store_token_create(sqlite3 *db, const tg_config *cfg, const auth_keys *keys,
                          const store_token_req *rq, const char *tenant_scope, tg_err *err);
/* A database's tokens, never the token itself. */
cJSON *store_token_list(sqlite3 *db, const char *database_id, const store_page *pg,
                        tg_err *err);
/* Revokes by jti, database or tenant; *count how many (may be NULL). A jti
 * of another tenant than tenant_scope, or of another database than
 * database_scope (each NULL: any), is a 404. */
int store_token_revoke(sqlite3 *db, tenancy_revoke_by by, const char *id,
                       const char *tenant_scope, const char *database_scope, int *count,
                       tg_err *err);

#endif
