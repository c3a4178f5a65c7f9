/*
 * auth.h - the front door of the auth module: token in, grant out.
 *
 * One auth_ctx per worker thread (no locking on the hit path): a bounded
 * cache of verified tokens keyed by a keyed hash of the token, in front of
 * signature verification (jwt.h) and the token/database lookup (tenancy.h).
 *
 * The calling thread never reads the state file (issue 11, finding 7):
 * lookups and re-checks run on the process's refresher thread
 * (auth/refresh.h). A cache miss whose signature verifies is handed to it
 * and the caller is told AUTH_PENDING; the answer comes back through the
 * ctx's eventfd (auth_ctx_fd), which the caller's event loop watches and
 * answers by calling auth_ctx_complete. Misses of one token are coalesced.
 *
 * Cache contract: an entry never outlives its token's exp, and is served
 * only while its row was read (revocation, deleted database or tenant, the
 * row's expiry) less than AUTH_RECHECK_S ago, so a revocation takes effect
 * on a running gateway within that time. The same read refreshes
 * server_shared: a database created on (or deleted from) a backend changes
 * what its neighbours' cached tokens see within AUTH_RECHECK_S. The refresher re-reads the rows of
 * the tokens in use every REFRESH_PASS_MS, so an entry in use finds a fresh
 * verdict without waiting. Two exceptions, both deliberate: a token not
 * used for a while is looked up again (its request waits); and while the
 * state file cannot be read at all (the refresher is stalled), entries keep
 * being served as last verified, so traffic already authenticated goes on
 * (counted as `stale`), and revocations apply once the file is readable.
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
#define AUTH_RECHECK_MS (AUTH_RECHECK_S * 1000)
#define AUTH_PENDING 1           /* auth_authenticate: answer comes later */
#define AUTH_INFLIGHT_MAX 4096   /* lookups one ctx may have outstanding */

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
    bool server_shared;          /* other live databases use the same
                                    redis_url (tenancy_grant.server_shared) */
    bool owns_server;            /* isolation server: the backend is the
                                    database's own (tenancy_grant.owns_server) */
    long long rate_limit;        /* the token's signed commands/s, 0: none
                                    (quota_ask.token_rate) */
    uint32_t *users_seen;        /* scratch for the caller, kept with the
                                    cached token (0 when first cached): the
                                    backend user generation last made sure of */
    void **app_data;             /* scratch for the caller, kept with the
                                    cached token (NULL when first cached) */
} auth_grant;

typedef struct auth_ctx auth_ctx;

/* A request waiting on a lookup: the caller's memory (e.g. in the
 * request), linked into the lookup until it completes or is cancelled. */
typedef struct auth_wait {
    struct auth_wait *next;
    void *lookup;                /* NULL when not waiting */
    void *cookie;                /* the caller's, handed back on completion */
} auth_wait;

/* *current is the keyring in force, read (atomically) on every
 * verification, so keys can be swapped on a running gateway: a cached token
 * verified with another keyring is verified again. The pointer and every
 * keyring it has pointed to must outlive the ctx. leeway_s is the clock
 * skew allowed on expiry. The ctx shares the refresher of sqlite_path
 * (started with the first ctx). NULL + err if the state file cannot be
 * opened. auth_ctx_free waits for the ctx's outstanding lookups. */
auth_ctx *auth_ctx_new(const auth_keyring *const *current, long leeway_s,
                       const char *sqlite_path, size_t cache_entries, tg_err *err);
void auth_ctx_free(auth_ctx *a);

/* Verifies token[0..len) at time now. Returns 0 and fills *out, or -1 with
 * err (401, or 503 if the state file is unreadable or too many lookups are
 * outstanding). On a miss the row must be read: with w, w->cookie set by
 * the caller, w is linked to the lookup and AUTH_PENDING returned; the
 * answer comes through auth_ctx_complete. Without w (tests, tools) the
 * calling thread waits for the lookup. */
int auth_authenticate(auth_ctx *a, const char *token, size_t len, time_t now,
                      auth_wait *w, auth_grant *out, tg_err *err);

/* Readable (an eventfd) when lookups have completed: register it on the
 * caller's event loop and call auth_ctx_complete when it fires. */
int auth_ctx_fd(const auth_ctx *a);

/* For each waiter of each completed lookup, calls fn(cookie, 0, grant,
 * NULL) or fn(cookie, -1, NULL, err). The grant is valid as after
 * auth_authenticate (until the next call on this ctx). now: wall clock. */
typedef void (*auth_done_fn)(void *cookie, int rc, const auth_grant *g, const tg_err *err);
void auth_ctx_complete(auth_ctx *a, time_t now, auth_done_fn fn);

/* Shutdown: every waiter of an outstanding lookup gets fn(cookie, -1,
 * NULL, 503) now and waits no more (the lookups finish unseen). */
void auth_ctx_abandon(auth_ctx *a, auth_done_fn fn);

/* w no longer waits (its request went away); no-op if it does not. */
void auth_cancel(auth_ctx *a, auth_wait *w);

/* Counters for tests and metrics: cache hits and misses, verdicts applied
 * to cached entries (rechecks), hits served while the state file could not
 * be read (stale), lookups that made a caller wait (waits). */
typedef struct auth_stats {
    unsigned long hits, misses, rechecks, stale, waits;
} auth_stats;
void auth_ctx_stats(const auth_ctx *a, auth_stats *out);

#endif
