/*
 * refresh.h - the one thread that reads the token state file, so that the
 * workers' event loops never do (issue 11, finding 7).
 *
 * A refresher serves every token cache (auth.c) of the process on one
 * state file. It does two things, on its own SQLite connection:
 *
 *  - Lookups: a cache miss hands it the verified claims of a token
 *    (auth_lookup); it runs tenancy_check_token and calls the lookup's
 *    notify function from its thread. Lookups go first.
 *  - Re-checks: every token a cache holds is watched (auth_watch, one per
 *    jti, shared by the caches). Every REFRESH_PASS_MS the refresher reads
 *    the rows of the watched tokens used in the last REFRESH_IDLE_MS again
 *    and publishes each one's verdict (revoked, database or tenant
 *    deleted, row expiry) with the time the pass began. A worker reads a
 *    verdict with one short lock, never held across a read of the file.
 *
 * A pass stops at the first read the state file refuses (locked, busy:
 * 503) and is tried again later; the refresher is then "stalled" until a
 * pass completes, which the caches use to keep serving what they hold
 * rather than wait for a file they cannot read.
 *
 * Refreshers are shared per state file path and counted: auth_refresher_get
 * starts one (its thread) or takes another reference; auth_refresher_put
 * drops one and stops the thread with the last. Thread-safe throughout.
 */
#ifndef TG_AUTH_REFRESH_H
#define TG_AUTH_REFRESH_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/jwt.h"
#include "auth/tenancy.h"
#include "common/err.h"

#define REFRESH_PASS_MS 400      /* a watched, used token is read this often */
#define REFRESH_IDLE_MS 30000    /* a token unused this long is not re-read */
#define REFRESH_STALL_MS 1500    /* no pass completed this long: stalled */

typedef struct auth_refresher auth_refresher;

/* NULL + err (503) if the state file cannot be opened for reading. */
auth_refresher *auth_refresher_get(const char *sqlite_path, tg_err *err);
void auth_refresher_put(auth_refresher *rf);    /* NULL ok */

/* ==== Lookups ==== */

typedef struct auth_lookup auth_lookup;
struct auth_lookup {
    auth_lookup *next;           /* the refresher's queue; then the owner's */
    auth_claims claims;          /* in: verified claims */
    /* Called on the refresher's thread once rc/err/grant/read_ms are set;
     * the lookup is the owner's again from then on. */
    void (*notify)(auth_lookup *lk);
    void *owner;
    int rc;                      /* out: 0, or -1 with err (401, 503) */
    tg_err err;
    tenancy_grant grant;
    uint64_t read_ms;            /* monotonic ms the row was read at (or
                                    just before) */
};

/* Queues lk; its notify runs later on the refresher's thread. */
void auth_refresher_submit(auth_refresher *rf, auth_lookup *lk);

/* True while no re-check pass has completed for REFRESH_STALL_MS: the
 * state file cannot be read now. */
bool auth_refresher_stalled(auth_refresher *rf, uint64_t now_ms);

/* ==== Watched tokens ==== */

typedef struct auth_watch auth_watch;

/* A verdict on one token row: status 0 (accepted, expires_at is the row's
 * expiry) or 401 with msg; read_ms is when it was read (or just before). */
typedef struct auth_verdict {
    uint64_t read_ms;
    int status;
    char msg[96];
    long long expires_at;
    bool server_shared;       /* tenancy_grant.server_shared, as read */
} auth_verdict;

/* The watch of c's jti, created if needed, with one more reference; v (the
 * caller's fresh verdict) replaces the watch's if newer. */
auth_watch *auth_watch_ref(auth_refresher *rf, const auth_claims *c, const auth_verdict *v);
void auth_watch_unref(auth_refresher *rf, auth_watch *w);   /* NULL ok */

/* Marks w used at now_ms (no lock: one atomic exchange); returns when it
 * was used before. A watch used within REFRESH_IDLE_MS is in every pass. */
uint64_t auth_watch_touch(auth_watch *w, uint64_t now_ms);

/* When w holds a verdict read after since_ms, copies it into *v and
 * returns true. One atomic load when there is none. */
bool auth_watch_newer(auth_refresher *rf, auth_watch *w, uint64_t since_ms, auth_verdict *v);

#endif
