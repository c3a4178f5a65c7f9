/*
 * backend_setup.h - what tollgate prepares on each Redis backend before
 * serving from it, once per backend URL per process:
 *
 *   - the command table (command.h), from the backend's own COMMAND reply;
 *   - a restricted ACL user per logical DB (`tollgate-dataplane` for DB
 *     0, `tollgate-dataplane-<N>`: backend_acl_user), that every data-plane
 *     connection switches to after selecting its logical DB, with only that
 *     DB's channels (`&db<N>:*`). The user may
 *     not SELECT, SWAPDB, MOVE, COPY, FLUSHALL, read server-wide INFO,
 *     manage functions or kill scripts, so a Lua script (which runs with
 *     its caller's permissions) cannot reach another database either. Its
 *     password is derived from acl_secret (a setting of its own, never
 *     the JWT keys: an RS/ES key's material is public), so every gateway
 *     node sharing the secret computes the same one.
 *
 *   - for a database that owns its whole server (isolation server), its
 *     own ACL user `tollgate-db-<database id>` too, with every key and
 *     channel and the server-wide commands on its own data (FLUSHALL,
 *     FUNCTION, SCRIPT FLUSH, INFO, MEMORY STATS, COPY) but no
 *     administration (-@admin, ACL, CLIENT, SELECT, SWAPDB, MOVE...).
 *     Made sure of the same way as a shared database's;
 *
 *   - for each shared (key-prefix) database, its own ACL user
 *     `tollgate-db-<database id>`, limited to `~<prefix>*` keys and
 *     `&<prefix>*` channels and without the keyspace-wide commands (KEYS,
 *     SCAN, RANDOMKEY, DBSIZE, FLUSH*) or anything dangerous, so that a key
 *     the gateway failed to prefix, or one a Lua script names, ends in a
 *     permission error. Connections switch to it with AUTH inside their
 *     pipeline (backend.h). It is created by `tollgate db create` and made
 *     sure of by the gateway on first use, and again after a backend
 *     connection was lost (a restarted Redis has forgotten it).
 *
 * Every user is (re)created with `resetpass` and the one derived password:
 * all nodes share acl_secret, and a password derived any other way (an
 * older scheme, a rotated secret) stops working at once.
 *
 * If the backend refuses ACL SETUSER (an old Redis, a restricted account),
 * caps.scripts_contained is false and policy refuses scripting there, and
 * shared databases cannot be served from it.
 *
 * The registry is process-wide, filled under a mutex (blocking, bounded by
 * the timeout) on first use of a URL, and read-only afterwards.
 */
#ifndef TG_BACKEND_SETUP_H
#define TG_BACKEND_SETUP_H

#include <stdbool.h>

#include "gateway/redis/command_table.h"
#include "gateway/redis/keyscan.h"
#include "common/err.h"

#define BACKEND_ACL_USER "tollgate-dataplane"
/* No keys, no channels, no commands: where connections pass when they
 * switch to a database's user (backend.c), so a refused AUTH fails
 * closed. Created in every connection's handshake. */
#define BACKEND_NOBODY_USER "tollgate-nobody"

typedef struct backend_info {
    const cmd_table *cmds;
    cmd_caps caps;               /* scripts_contained: the ACL user is in
                                    place; restore_checked */
    char acl_pass[40];           /* hex; empty when !caps.scripts_contained */
    char nobody_pass[40];        /* BACKEND_NOBODY_USER's */
} backend_info;

/* Derives ACL passwords from this secret (acl_secret: at least 32 bytes,
 * config_validate_acl_secret), and sets the annotator of the command
 * tables built from then on (gateway/policy/policy.h: policy_annotate;
 * NULL for none). Call once before serving. */
void backend_setup_init(const void *secret, size_t len, cmd_annotate_fn annotate);

/* The password (32 hex digits and a NUL) of a user on url: id NULL for
 * BACKEND_ACL_USER, "-nobody" for BACKEND_NOBODY_USER, else a database id.
 * A function of the secret given to backend_setup_init, url and id only. */
void backend_acl_password(const char *url, const char *id, char out[40]);

/* The info for url, set up on first call. NULL + 503 err if the backend
 * cannot be reached (a later call tries again). */
const backend_info *backend_info_for(const char *url, int timeout_ms, tg_err *err);

void backend_setup_clear(void);

/* ==== Per-database users (shared databases) ==== */

#define BACKEND_DB_USER_PREFIX "tollgate-db-"
#define BACKEND_USER_MAX 96

/* The database's user name and password (40 bytes). */
void backend_db_user(const char *url, const char *database_id, char *name, size_t cap,
                     char pass[40]);

/* Bumped when the users on this backend may have been lost; the gateway
 * makes sure of a database's user again when the number it saw changes. */
uint32_t backend_users_gen(const backend_info *bi);
void backend_users_stale(const backend_info *bi);

/* `ACL SETUSER` for a shared database's user (its rules, key and channel
 * patterns, password), ready for redisCommandArgv or a pipeline; argv
 * points into the struct. */
typedef struct backend_setuser {
    char name[BACKEND_USER_MAX];
    char pw[48];
    char keys[2 * KEYSCAN_PREFIX_MAX + 4], chans[2 * KEYSCAN_PREFIX_MAX + 4];
    const char *argv[64];
    size_t lens[64];
    int argc;
} backend_setuser;

/* Fills s for database_id's user on url: prefix is a shared database's
 * key prefix, or NULL for a database that owns the server. 0, or -1 with
 * a 503 err (a key prefix too long). */
int backend_db_user_setuser(const char *url, const char *database_id, const char *prefix,
                            bool restore_ok, backend_setuser *s, tg_err *err);

/* For the CLI: creates (or updates) the database's user on url (prefix
 * as for backend_db_user_setuser). */
int backend_db_user_create(const char *url, const char *database_id, const char *prefix,
                           int timeout_ms, tg_err *err);

/* For the CLI: removes a deleted database's data from url: a dedicated
 * one's logical DB is flushed; a shared one's keys (prefix) are unlinked
 * and its user dropped. 0, or -1 with a 503 err. */
int backend_db_purge(const char *url, int db_index, const char *database_id,
                     const char *prefix, int timeout_ms, tg_err *err);

/* For the CLI: the same for a database that owned its server: every
 * logical DB flushed, its functions and scripts too, its user dropped. */
int backend_server_purge(const char *url, const char *database_id, int timeout_ms,
                         tg_err *err);

/* The restricted user of logical DB db on url: BACKEND_ACL_USER for DB 0,
 * BACKEND_ACL_USER "-<db>" for another, each with its own derived
 * password. One user per logical DB, because each may use only its DB's
 * channels (`&db<N>:*`, the namespace the gateway gives a dedicated
 * database's channels): a script cannot PUBLISH into another's. */
void backend_acl_user(const char *url, int db, char name[BACKEND_USER_MAX], char pass[40]);

typedef struct backend_acl_bufs {
    char pw[48];                 /* ">pass" */
    char chans[32];              /* "&db<N>:*" */
} backend_acl_bufs;

/* Fills argv with `ACL SETUSER <name> <rules...>` for logical DB db's
 * restricted user with password pass (without RESTORE unless
 * restore_ok); argv points into bufs. Returns argc (<= cap).
 * Connections re-issue it in their handshake: a restarted Redis has
 * forgotten the user. */
int backend_acl_setuser_argv(const char *name, const char *pass, int db, bool restore_ok,
                             backend_acl_bufs *bufs, const char **argv, int cap);

#endif
