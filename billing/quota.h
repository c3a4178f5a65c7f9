/*
 * quota.h - the quota decision engine: per-database limits (billing/
 * limits.h) enforced in memory on the request path.
 *
 * What it keeps, per database: two GCRA timestamps (commands and requests
 * per second; redis-cell semantics: emission interval T = 1/rate, tolerance
 * = burst * T, a request of n units costs n * T and passes if its new TAT -
 * now <= tolerance), today's and this month's billable commands, this
 * month's bandwidth, the requests in flight, the sampled data size, and the
 * effective limits. Per tenant: this period's priced cost (the export's
 * arithmetic, billing/usage.c + pricing.c) against its budget. Per
 * rate-limited token: one GCRA timestamp.
 *
 * Thread-safety: quota_check / quota_record / quota_leave / quota_data_set
 * may run on any number of threads. Database and token states live in a
 * sharded hash whose chains are only ever prepended to (under the shard's
 * lock) with a release store and never unlinked before quota_free: a
 * lookup is lock-free (acquire loads of immutable nodes). Each database's
 * decision then runs under that database's own spinlock (every GCRA and
 * counter update is one read-modify-write under it, so two workers on one
 * database serialise and no count is lost); the tenant's budget counters
 * under the tenant's lock (order: database, then tenant, then token; never
 * the reverse). Requests of different databases touch no common lock,
 * except databases of the same tenant meeting on the tenant's lock.
 *
 * Counters are seeded from the SQLite rollups (usage_rows) the first time
 * quota_refresh sees a database, then advanced on the request path: a
 * restart resets nobody's day or month. The seed is the rollups as they
 * were at the engine's first refresh (before anything is served: every
 * earlier process's event, none of this one's), so it never overlaps what
 * the engine counts itself, however far behind the meter writer is.
 * quota_refresh (off the request path, once a second: a thread of the
 * caller's, or quota_refresher_start) reloads every database's limits and
 * its tenant's plan, prices and budget, so a change applies within a
 * second.
 *
 * Databases not loaded yet (created after the last refresh): their
 * requests are counted exactly, on a pending counter (quota_pending.c),
 * with no limit applied; the first one wakes the refresher, which loads
 * the database at once and moves the counter into its state before
 * publishing it. Until then (one SQLite read, milliseconds) the database
 * is unlimited; its counts never miss a request.
 *
 * Another store (quota_store = redis, gateway/handlers/quota_remote.h)
 * decides the rate limits and the daily/monthly counts of every node with
 * one Lua call per request, after quota_check allowed it, with the limits
 * of this engine's snapshot (quota_shared_of); what only a node can know
 * (sizes, concurrency, budget, token rates) stays decided here.
 */
#ifndef TG_QUOTA_H
#define TG_QUOTA_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "billing/limits.h"

typedef struct quota quota;
typedef struct quota_db quota_db;
typedef struct quota_pending quota_pending;

/* What refused a request (or QUOTA_NONE). */
typedef enum {
    QUOTA_NONE = 0,
    QUOTA_CPS,              /* commands_per_second */
    QUOTA_RPS,              /* requests_per_second */
    QUOTA_TOKEN_RATE,       /* the token's rate_limit claim */
    QUOTA_DAILY,            /* daily_commands */
    QUOTA_MONTHLY,          /* monthly_commands */
    QUOTA_BANDWIDTH,        /* monthly_bandwidth_bytes */
    QUOTA_BUDGET,           /* the tenant's monthly_budget_micros */
    QUOTA_REQUEST_BYTES,
    QUOTA_RECORD_BYTES,
    QUOTA_RESPONSE_BYTES,   /* decided by the caller against v->response_bytes_max */
    QUOTA_CONCURRENT,       /* concurrent_requests */
    QUOTA_DATA_BYTES,       /* data_bytes: writes only */
    QUOTA_KIND_COUNT
} quota_kind;

/* The limit's name as metered and in the error body ("daily_commands"). */
const char *quota_kind_name(quota_kind k);

/* One request, before it runs. */
typedef struct quota_ask {
    const char *database_id;
    const char *token_id;       /* the token's jti (its rate limit's key) */
    int64_t token_rate;         /* its signed rate_limit, commands/s; 0: none */
    int64_t commands;           /* billable commands it would run (pipeline: all) */
    int64_t bytes_in;           /* request bytes (body) */
    int64_t largest_record;     /* largest value or argument written */
    bool writes;                /* runs a command that may grow the data */
    int64_t now_ns;             /* wall clock, ns since the epoch (quota_now_ns) */
} quota_ask;

/* One rate policy for the RateLimit-Policy / RateLimit headers. */
typedef struct quota_policy {
    const char *name;           /* "cps", "rps", "token", "daily", "monthly", "bandwidth" */
    int64_t quota, window_s, remaining, reset_s;
} quota_policy;

#define QUOTA_POLICIES_MAX 6

typedef struct quota_verdict {
    bool allowed;
    quota_kind refused;         /* QUOTA_NONE when allowed */
    int http_status;            /* refused: 429, or 413 for the size limits */
    int64_t limit, usage;       /* refused: the limit and what the request made it */
    int64_t retry_after_s;      /* refused: never before the announced reset */
    char error[192];            /* refused: "ERR max requests limit exceeded. Limit: N, Usage: M" */
    int64_t response_bytes_max; /* -1: none; the caller refuses larger answers */
    int npolicies;
    quota_policy policies[QUOTA_POLICIES_MAX];
    int tightest;               /* index in policies: the X-RateLimit-* one; -1 none */
    const char *policy_hdr;     /* the database's RateLimit-Policy value, cached
                                   (NULL: formatted from policies, as with a
                                   token's); lives until quota_free */
    /* For quota_record / quota_leave: */
    quota_db *db;               /* NULL: database unknown to the engine */
    quota_pending *pending;     /* db NULL: its counter until it is loaded */
    int64_t reserved;           /* commands counted at check, settled at record */
    int64_t reserved_bytes;     /* bytes_in counted at check, likewise */
    bool entered;               /* holds a concurrency slot: quota_leave owed */
} quota_verdict;

/* The numbers of a finished request, as metered (meter_event). */
typedef struct quota_usage {
    int outcome;                /* meter_outcome */
    int64_t billable_commands;  /* sent, minus free housekeeping */
    int64_t bytes_in, bytes_out;
    int64_t now_ns;
} quota_usage;

quota *quota_new(void);
void quota_free(quota *q);

/* Wall clock, ns since the epoch. */
int64_t quota_now_ns(void);

/* Reloads limits, plans and budgets from db (see above); seeds databases
 * seen for the first time from the rollups. Off the request path. 0 / -1. */
int quota_refresh(quota *q, sqlite3 *db, int64_t now_ns, tg_err *err);
/* The same for one database only (its tenant's other lines seeded as
 * usual): a usage report on an engine of its own. 0 / -1. */
int quota_refresh_one(quota *q, sqlite3 *db, const char *database_id, int64_t now_ns,
                      tg_err *err);

/* A thread calling quota_refresh every interval_ms on its own read
 * connection to sqlite_path (errors logged to stderr, retried). 0 / -1. */
int quota_refresher_start(quota *q, const char *sqlite_path, int interval_ms, tg_err *err);
void quota_refresher_stop(quota *q);

/* Decides a request: every limit, all or nothing (a pipeline is refused
 * whole, nothing counted). Allowed: its commands and request are counted,
 * a concurrency slot taken (v->entered), and the headers' values filled.
 * Returns v->allowed. Well under 1 us (tests/bench/quota_bench.c). */
bool quota_check(quota *q, const quota_ask *ask, quota_verdict *v);

/* Marks v refused by k after the check (the response_bytes limit, decided
 * when the answer's size is known): status, error text and limit name as
 * quota_check would have set them. The verdict still holds its slot and
 * reservation for quota_record / quota_leave. */
void quota_verdict_refuse(quota_verdict *v, quota_kind k, int64_t limit, int64_t usage);

/* ==== The shared store (quota_store = redis, gateway/handlers/quota_remote.h) ====
 * The engine keeps deciding what only this node can know (sizes,
 * concurrency, data size, budget, token rates); the shared store decides
 * the rate limits and the daily/monthly counts of every node together,
 * with the limits of this engine's snapshot. */

typedef struct quota_shared {
    int64_t cps, burst, rps, rburst;    /* LIMIT_UNLIMITED: none */
    int64_t daily, monthly;             /* likewise */
    int64_t daily_seen, monthly_seen;   /* this node's counts before the request
                                           (seed a counter the store lost) */
} quota_shared;

/* v, allowed by quota_check: its database's shared limits into out. False
 * when it has none (unknown database, or no rate or count limit). */
bool quota_shared_of(const quota_verdict *v, quota_shared *out);

/* Marks v refused by k as the shared store decided (limit, usage, the
 * wait): status, text, and the refused policy announcing the wait. */
void quota_verdict_refuse_at(quota_verdict *v, quota_kind k, int64_t limit, int64_t usage,
                             int64_t retry_after_s);

/* Sets the named policy's remaining and reset to the shared store's
 * numbers (the reset never earlier than announced) and picks the tightest
 * again. No-op for a policy v does not carry. */
void quota_verdict_policy(quota_verdict *v, const char *name, int64_t remaining,
                          int64_t reset_s);

/* After the response, for every metered request of a known database (the
 * same numbers as its meter event; refusals too): settles the commands
 * reserved by check (v: its verdict, NULL if none ran) and adds bytes and
 * the budget's cost. */
void quota_record(quota *q, const char *database_id, const quota_verdict *v,
                  const quota_usage *u);

/* A worker's settlements not yet applied: with one, quota_record_local
 * settles the common case (an admitted request whose outcome bills
 * exactly the commands reserved at its check: only its request and bytes
 * are left to add) without any lock, and quota_local_flush applies what
 * accumulated, under each database's and tenant's locks once per
 * database. Any other request is settled at once, as quota_record. The
 * owner (one thread) flushes once per loop turn: until then the
 * bandwidth count and the budget's cost miss those requests' bytes and
 * requests (the commands are counted at the check, always exact). */
typedef struct quota_local quota_local;
quota_local *quota_local_new(quota *q);
void quota_local_free(quota_local *l);          /* flushes first; NULL ok */
void quota_local_flush(quota_local *l);
void quota_record_local(quota_local *l, const char *database_id, const quota_verdict *v,
                        const quota_usage *u);

/* Gives back v's concurrency slot (once; no-op if none). */
void quota_leave(quota_verdict *v);

/* The sampler's report: database_id holds bytes (at now_ns). Writes are
 * refused while it is >= data_bytes. */
void quota_data_set(quota *q, const char *database_id, int64_t bytes, int64_t now_ns);

/* The headers for v: RateLimit (the tightest, as the draft asks) into
 * ratelimit, and returns RateLimit-Policy (every policy): the database's
 * cached value when v has one (not copied: it lives until quota_free),
 * else policy, filled (terminated). ratelimit is always terminated; both
 * values are empty when v has no policy; QUOTA_HEADER_MAX bytes is
 * enough. No allocation and no printf:
 * it runs on every answer. */
#define QUOTA_HEADER_MAX 512
const char *quota_headers(const quota_verdict *v, char *policy, size_t pcap, char *ratelimit,
                          size_t rcap);

/* v in decimal into out (cap bytes, terminated), likewise cheaply. */
void quota_format_i64(int64_t v, char *out, size_t cap);

/* database_id's limits, consumption, remaining and reset as JSON (`tollgate
 * db usage`, the admin API). 404 if the engine has no such database. */
int quota_usage_json(quota *q, const char *database_id, int64_t now_ns, buf *out, tg_err *err);

#endif
