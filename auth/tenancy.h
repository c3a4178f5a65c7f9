/*
 * tenancy.h - tenants, their databases and issued tokens, in SQLite.
 *
 * Two kinds of use. The gateway's token refresher thread (auth/refresh.h)
 * owns a tenancy handle (its own read connection and prepared statement)
 * and calls tenancy_check_token() for token-cache misses and re-checks, so
 * no worker thread reads the file; handles are not shared between threads. The admin subcommands call the write functions
 * with a migrated sqlite3 handle from migrate_open().
 *
 * A token is accepted only if its jti row exists, is not revoked, belongs
 * to the claimed tenant and database, and that database and tenant exist
 * and are not deleted.
 */
#ifndef TG_AUTH_TENANCY_H
#define TG_AUTH_TENANCY_H

#include <sqlite3.h>
#include <stdbool.h>

#include "common/err.h"
#include "auth/jwt.h"

#define TENANCY_URL_MAX 512

/* What a verified token grants: one database on one backend. */
typedef struct tenancy_grant {
    char tenant_id[AUTH_ID_MAX];
    char database_id[AUTH_ID_MAX];
    char jti[AUTH_ID_MAX];
    auth_scope scope;
    long long expires_at;
    char redis_url[TENANCY_URL_MAX];
    int db_index;
    char key_prefix[AUTH_ID_MAX];  /* shared database: its keys' prefix;
                                      "" for a dedicated one */
    bool server_shared;            /* another live database is on the same
                                      server (tenancy_server_key, whatever
                                      either's isolation):
                                      the server is not this database's own */
    bool owns_server;              /* isolation server: the whole backend is
                                      this database's (logical DB 0) */
    long long rate_limit;          /* the token's commands/s, 0: none */
} tenancy_grant;

typedef struct tenancy tenancy;

/* Opens a read handle on the state file (already migrated). NULL + err on
 * failure. Free with tenancy_free (NULL accepted). */
tenancy *tenancy_open(const char *sqlite_path, tg_err *err);
void tenancy_free(tenancy *t);

/* Looks the claims up: fills *out and returns 0, or -1 with a 401 (token
 * unknown, revoked, database or tenant gone, ids that do not match) or a
 * 503 (state file unreadable). */
int tenancy_check_token(tenancy *t, const auth_claims *c, tenancy_grant *out,
                        tg_err *err);

/* Distinct backend URLs of live databases, for start-up work. Calls fn for
 * each. Returns 0 or -1. */
int tenancy_each_backend(tenancy *t, void (*fn)(const char *url, void *arg),
                         void *arg, tg_err *err);

/* ==== Administration (CLI now, admin API later) ==== */

/* Each *_create writes the new id (AUTH_ID_MAX bytes) into id_out. */
int tenancy_tenant_create(sqlite3 *db, const char *name, char *id_out,
                          tg_err *err);
/* Isolation modes: a dedicated logical DB, a key prefix on a logical DB
 * shared with other such databases (never with a dedicated one), or the
 * whole server (its data in logical DB 0; no other database on its URL). */
typedef enum { TENANCY_DEDICATED, TENANCY_SHARED, TENANCY_SERVER } tenancy_isolation;

/* The server a backend URL names, as one string, so that two URLs of one
 * server compare equal: the scheme (redis:// and rediss:// alike) and the
 * host lowercased, the port defaulted to 6379, credentials and the /db
 * suffix ignored, and every loopback spelling (localhost, 127.x.x.x, ::1,
 * 0.0.0.0) one host. unix://path keeps its path. Two URLs whose keys
 * differ may still reach one server (a DNS alias, an address of this
 * machine's, a port forward): the residual limit README states. Every
 * decision of whether databases share a server (placement, server
 * isolation, shared_scripts' server_shared, the quota Redis) compares
 * these. Pure; out always terminated. */
#define TENANCY_SERVER_KEY_MAX 300
void tenancy_server_key(const char *url, char out[TENANCY_SERVER_KEY_MAX]);

/* db_index < 0 picks: for a dedicated database the lowest free logical DB
 * on redis_url (0..15); for a shared one the logical DB the backend's
 * shared databases already use, else the lowest free one; a server one
 * takes 0 (and only 0 may be given). A shared database's key prefix is
 * "<its id>:". A URL that a server database owns takes no other database,
 * and a server database takes no URL another database uses (live, or
 * deleted with its data not purged yet): 409. URLs are compared by
 * server (tenancy_server_key). The check and the insert are one write
 * transaction (BEGIN IMMEDIATE), so db must not be in one already;
 * another writer holding the file past db's busy timeout: 503. */
int tenancy_db_create(sqlite3 *db, const char *tenant_id, const char *name,
                      const char *redis_url, int db_index, tenancy_isolation iso,
                      char *id_out, tg_err *err);

/* A database's placement, for the CLI: live, or deleted but not purged. */
typedef struct tenancy_db_row {
    char redis_url[TENANCY_URL_MAX];
    int db_index;
    char key_prefix[AUTH_ID_MAX];  /* "" for a dedicated database */
    bool owns_server;              /* isolation server */
    bool deleted;
} tenancy_db_row;
int tenancy_db_get(sqlite3 *db, const char *database_id, tenancy_db_row *out,
                   tg_err *err);

/* Deleting is two steps. tenancy_db_delete marks the database deleted (its
 * tokens are refused within AUTH_RECHECK_S); once its data is gone from the
 * backend, tenancy_db_purged frees its logical DB for another database.
 * Until then the slot stays taken, so no database inherits another's keys. */
int tenancy_db_delete(sqlite3 *db, const char *database_id, tg_err *err);
int tenancy_db_purged(sqlite3 *db, const char *database_id, tg_err *err);
/* A purge first claims the database (deleted, not purged, no claim newer
 * than TENANCY_PURGE_CLAIM_STALE_S): 0, or -1 with err 423 (claimed by
 * another process) or 500. tenancy_db_purged ends the claim;
 * tenancy_db_purge_release gives it up (the flush failed). */
#define TENANCY_PURGE_CLAIM_STALE_S 600
int tenancy_db_purge_claim(sqlite3 *db, const char *database_id, tg_err *err);
void tenancy_db_purge_release(sqlite3 *db, const char *database_id);
/* A live database other than database_id that a flush of row's slot would
 * reach (same server and logical DB, or the same server when either is in
 * server isolation), into holder ("" when none; never for a shared
 * database, whose purge deletes its own keys). Databases deleted before
 * purging existed gave their slot up at once, so one may be reused. 0, or
 * -1 with err. */
int tenancy_db_slot_holder(sqlite3 *db, const char *database_id, const tenancy_db_row *row,
                           char *holder, size_t cap, tg_err *err);
/* Records a token row for database_id and fills c (sub, db, jti, scope,
 * iat, exp) ready for signing. */
int tenancy_token_issue(sqlite3 *db, const char *database_id, auth_scope scope,
                        long long ttl_s, auth_claims *c, tg_err *err);
/* The same with command rules (normalised lists, "" for none). */
int tenancy_token_issue_rules(sqlite3 *db, const char *database_id, auth_scope scope,
                              long long ttl_s, const char *allow, const char *deny,
                              auth_claims *c, tg_err *err);
/* The same with a signed rate limit (commands per second, 0: none). */
int tenancy_token_issue_limited(sqlite3 *db, const char *database_id, auth_scope scope,
                                long long ttl_s, const char *allow, const char *deny,
                                long long rate_limit, auth_claims *c, tg_err *err);
typedef enum { TENANCY_BY_JTI, TENANCY_BY_DATABASE, TENANCY_BY_TENANT } tenancy_revoke_by;

/* Revokes the unrevoked tokens with this jti, of this database, or of this
 * tenant; *count (may be NULL) gets how many. A jti that matches nothing is
 * a 404; a database or tenant without live tokens is not an error. */
int tenancy_tokens_revoke(sqlite3 *db, tenancy_revoke_by by, const char *id, int *count,
                          tg_err *err);

/* ==== Backend passwords ====
 * A database's redis_url is stored with its password as "***" and the
 * password sealed under acl_secret (common/seal.h), never in clear; every
 * reader above gets the whole URL back. */

/* Sets the sealing key (from acl_secret) for this process: needed to store
 * or read a URL with a password. Call once at start, before any use. */
void tenancy_set_seal_secret(const void *secret, size_t n);

/* Seals the passwords of rows written before sealing existed; *sealed_n
 * counts them. 0, or -1 with err. */
int tenancy_seal_plain_urls(sqlite3 *db, int *sealed_n, tg_err *err);

#endif
