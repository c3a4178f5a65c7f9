/*
 * quota_int.h - the quota engine's state, shared by quota.c (the request
 * path) and quota_refresh.c (loading, seeding, reporting). Private to
 * billing/quota*.c and their unit test; the contract is quota.h's.
 */
#ifndef TG_QUOTA_INT_H
#define TG_QUOTA_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "billing/limits.h"
#include "billing/meter_event.h"

typedef struct quota quota;
typedef struct quota_db quota_db;
typedef struct quota_pending quota_pending;

#define QMAP_SHARDS 64
#define QMAP_BUCKETS 256            /* per shard; chains grow past that */

/* A hash node: the first member of every state. next and the key never
 * change after the node is published. */
typedef struct qnode {
    struct qnode *_Atomic next;
    uint64_t hash;
    char id[METER_ID_MAX];
} qnode;

typedef struct qshard {
    pthread_mutex_t lock;           /* inserts only; lookups take no lock */
    qnode *_Atomic buckets[QMAP_BUCKETS];
} qshard;

typedef struct qmap {
    qshard shards[QMAP_SHARDS];
} qmap;

/* The billing meters of a statement line, in this order. */
enum { BQ_COMMANDS, BQ_REQUESTS, BQ_BYTES_IN, BQ_BYTES_OUT, BQ_COUNT };

typedef struct quota_tenant {
    qnode node;
    pthread_spinlock_t lock;        /* guards everything below */
    char plan_id[METER_ID_MAX];
    int64_t price[BQ_COUNT], per[BQ_COUNT];
    int64_t included_commands, included_bandwidth;
    _Atomic uint32_t billable;      /* bit per meter_outcome the plan bills
                                       (also read without the lock:
                                       quota_record_local's fast path) */
    int64_t budget;                 /* micros, LIMIT_UNLIMITED: none */
    int month;                      /* the period the sums are of */
    /* Lines that no longer grow (other plans, adjustments, deleted
     * databases) and the current plan's lines of live databases. */
    int64_t base_total, base_cmd_q, base_cmd_amt, base_bw_q, base_bw_amt;
    int64_t cur_total, cur_cmd_q, cur_cmd_amt, cur_bw_q, cur_bw_amt;
    struct quota_db *dbs;           /* via tenant_next; appended by the refresher */
    bool fresh;                     /* created by the refresh running now */
} quota_tenant;

struct quota_db {
    qnode node;
    pthread_spinlock_t lock;        /* guards the counters below */
    quota_tenant *tenant;           /* set before publication, never changes */
    struct quota_db *tenant_next;
    int64_t lim[LIMIT_COUNT];       /* effective: LIMIT_UNLIMITED or >= 0 */
    int64_t cps_tat, rps_tat;       /* GCRA theoretical arrival times, ns */
    int64_t day, daily;             /* day = Unix days; daily billable commands */
    int month;                      /* period.h month of monthly / bandwidth */
    int64_t monthly, bandwidth;
    /* Guarded by the tenant's lock: this period's quantities of the
     * current plan's lines (usage.c's commands, requests, bytes in, out). */
    int64_t bq[BQ_COUNT];
    int bq_month;
    /* The RateLimit-Policy value of lim in policy_month (NULL: not built;
     * policy_stale: lim changed since). Built on the request path, under
     * the lock, once per change; never freed before quota_free (answers
     * being written point at it): a replaced one goes to policy_old. */
    char *policy_hdr;
    int policy_month;
    bool policy_stale;
    struct quota_str *policy_old;
    _Atomic int64_t inflight;
    _Atomic int64_t data_bytes;     /* -1: never sampled */
    _Atomic int64_t data_at_ns;
};

/* A retired string (quota_db.policy_old). */
typedef struct quota_str {
    struct quota_str *next;
    char *s;
} quota_str;

/* The meter outcomes a pending database keeps apart (meter_outcome codes;
 * the plan that decides which bill is not known yet). */
#define QP_OUTCOMES 16

/* A database requests reached before the refresher loaded it (quota.h:
 * "Databases not loaded yet"): counted here, per outcome, until the
 * refresher adopts it into its quota_db. Created on the request path
 * (under the pending map's shard mutex, which also serialises it with
 * the database's publication: quota_pending.c), never unlinked before
 * quota_free. */
struct quota_pending {
    qnode node;
    pthread_spinlock_t lock;        /* guards everything below */
    struct quota_db *adopted;       /* set once, by the refresher: count there */
    int64_t day;                    /* Unix day of day_cmd */
    int month;                      /* period.h month of q */
    int64_t reserved, reserved_bytes;   /* counted at check, not yet settled */
    int64_t day_cmd[QP_OUTCOMES];       /* today's billable commands */
    int64_t q[QP_OUTCOMES][BQ_COUNT];   /* this month's quantities */
};

/* The rollups as they were at the engine's first refresh (quota_refresh.c):
 * every event of earlier processes, none of this one's (the first refresh
 * runs before anything is served and after the spill file's replay). */
typedef struct quota_snap_row {
    char tenant_id[METER_ID_MAX], database_id[METER_ID_MAX], plan_id[METER_ID_MAX];
    bool adjustment;
    int64_t requests, commands, bytes_in, bytes_out;
} quota_snap_row;

typedef struct quota_snap {
    int month;                      /* of rows */
    int64_t day;                    /* Unix day of day_rows */
    quota_snap_row *rows, *day_rows;
    int nrows, ndays, caprows, capdays;
} quota_snap;

typedef struct quota_token {
    qnode node;
    pthread_spinlock_t lock;
    int64_t tat;
} quota_token;

struct quota {
    uint8_t key[16];                /* siphash key of the maps */
    qmap dbs, tenants, tokens;
    qmap pending;                   /* quota_pending, by database id */
    quota_snap *snap;               /* the refresher's; NULL before the first */
    /* The refresher thread. */
    pthread_t thread;
    bool running;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    bool stop;
    bool kick;                      /* refresh now: a database is pending */
    char *sqlite_path;
    int interval_ms;
};

/* Lock-free lookup of id (NUL-terminated) in m; NULL when absent. */
qnode *qmap_find(const quota *q, const qmap *m, const char *id);
/* Publishes n (key set by the caller with qnode_key) unless id is there
 * already; returns the node in the map (n or the existing one). */
qnode *qmap_insert(quota *q, qmap *m, qnode *n);
void qnode_key(const quota *q, qnode *n, const char *id);
void qmap_init(qmap *m);
/* Frees every node of m with fn. */
void qmap_clear(qmap *m, void (*fn)(qnode *));
/* qmap_insert with n's shard mutex held by the caller. */
qnode *qmap_insert_locked(qmap *m, qnode *n);
/* Frees q->snap (quota_refresh.c). */
void quota_snap_free(quota *q);

/* ==== Databases not loaded yet (quota_pending.c) ==== */

/* id's loaded state (*dp) or, when it has none yet, its pending counter
 * (returned; created, and the refresher woken, the first time). */
quota_pending *pending_get(quota *q, const char *id, quota_db **dp);
/* A check (the commands and bytes counted, without limits) and a
 * settlement of a pending database. False: it was adopted meanwhile,
 * *dp is its state (the caller goes on with it). */
struct quota_verdict;
struct quota_usage;
bool pending_check(quota_pending *p, int64_t n, int64_t bytes_in, int64_t now_ns, quota_db **dp);
bool pending_record(quota_pending *p, const struct quota_verdict *v,
                    const struct quota_usage *u, quota_db **dp);
/* The refresher: publishes the fresh d in q->dbs, first moving what its
 * pending counter holds into d and its tenant (adopting it). */
void pending_publish(quota *q, quota_db *d, int64_t now_ns);
void pending_free(qnode *n);

/* Tenant sums (lock held): rolls t into month m when it is another. */
void tenant_roll(quota_tenant *t, int m);
/* Adds dq to d's current-plan quantities and the tenant's sums (tenant
 * lock held, month rolled). */
void tenant_add(quota_tenant *t, struct quota_db *d, const int64_t dq[BQ_COUNT]);
/* The period's priced cost: lines minus included allowances (lock held). */
int64_t tenant_cost(const quota_tenant *t);
/* Recomputes the current lines' sums from the databases' quantities. */
void tenant_recompute(quota_tenant *t);

/* v's RateLimit-Policy value (every policy of v) into policy (pcap bytes,
 * terminated): quota_headers.c. */
void quota_format_policy(const struct quota_verdict *v, char *policy, size_t pcap);

#define NS_PER_S 1000000000LL

#endif
