/*
 * ctl.h - the control plane over HTTP: the admin API (/v1/admin/..., admin
 * tokens), the tenant dashboard API (/v1/..., tenant tokens), and the
 * offload that keeps their SQLite work off the workers' event loops.
 *
 * A request under /v1/ (and the old /admin/usage) reaches ctl_dispatch on
 * its worker. There, cheaply and without blocking: the operation is found
 * in the tables (ctl_admin.c, ctl_tenant.c: method + path pattern), the
 * token verified (admin_jwt_secret; role admin for /v1/admin/, tenant
 * otherwise), the JSON body parsed and its fields checked against the
 * operation's list. Then the request becomes a ctl_job, handed to the
 * control threads (common/workq.h; each with its own SQLite connection)
 * and the handler returns ROUTE_PENDING. The operation runs there; its
 * finished job comes back through the worker's port (an eventfd on the
 * worker's epoll, ctl_worker) and is answered on the worker. A request
 * whose client left meanwhile is forgotten by its job, which is skipped
 * if it has not started yet and freed when it comes back. At most
 * CTL_QUEUE_MAX jobs are out at once; more are refused 503.
 *
 * Answers are JSON; errors application/problem+json {type, title, status,
 * detail} with a stable type URI per kind of error (ctl_problem_types).
 */
#ifndef TG_CTL_H
#define TG_CTL_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdint.h>

#include "auth/admin_token.h"
#include "auth/keys.h"
#include "billing/quota.h"
#include "common/buf.h"
#include "common/config.h"
#include "common/err.h"
#include "common/workq.h"
#include "gateway/control/purger.h"
#include "gateway/http/request.h"

#define CTL_THREADS 2
/* Control jobs queued or running at once, over all workers; more are
 * refused 503 with Retry-After (a burst cannot queue without end). */
#define CTL_QUEUE_MAX 256

/* ==== The control threads (the composition root starts them) ==== */

/* The settings and keys in force: one generation, replaced whole by a
 * reload (SIGHUP) and kept until exit. */
typedef struct ctl_config {
    const tg_config *cfg;
    const auth_keys *keys;
} ctl_config;

typedef struct ctl_shared {
    /* The generation in force, published by the composition root
     * (__atomic, release); each job reads it as it starts. */
    const ctl_config *const *now;
    quota *q;                    /* the live quota engine, or NULL */
    purger *purger;              /* deleted databases' data (purger.h) */
} ctl_shared;

/* Starts CTL_THREADS threads, each with its SQLite connection. */
workq *ctl_threads_start(const ctl_shared *sh, tg_err *err);

/* ==== Per worker ==== */

typedef struct ctl_worker ctl_worker;
/* On the worker's epoll fd. NULL + err. */
ctl_worker *ctl_worker_new(workq *pool, int epfd, tg_err *err);
/* Waits for the worker's jobs (answering their requests), then frees. */
void ctl_worker_drain(ctl_worker *cw);
void ctl_worker_free(ctl_worker *cw);     /* NULL ok */

/* The route handler (gateway/handlers/routes.c). The worker state of the
 * request must answer ctl_worker_of. */
route_result ctl_dispatch(tg_request *r);
/* Supplied by the worker state's owner (dataplane.c). */
ctl_worker *ctl_worker_of(tg_request *r);

/* ==== Operations (ctl_admin.c, ctl_tenant.c) ==== */

typedef struct ctl_thread {
    sqlite3 *db;
    const ctl_shared *sh;
    /* The generation in force when the job started (ctl_shared.now). */
    const tg_config *cfg;
    const auth_keys *keys;
    quota *q;
    purger *purger;
} ctl_thread;

enum { CTL_Q_LIMIT, CTL_Q_CURSOR, CTL_Q_TENANT, CTL_Q_FROM, CTL_Q_TO, CTL_Q_STEP,
       CTL_Q_PERIOD, CTL_Q_FORMAT, CTL_Q_COUNT };

typedef struct ctl_job {
    workq_job wq;                /* first */
    tg_request *r;               /* NULL once the client left */
    const struct ctl_op *op;
    control_principal who;
    char *ids[2];                /* the pattern's '*' segments */
    cJSON *body;                 /* the JSON body, or NULL */
    char *query[CTL_Q_COUNT];    /* query arguments, or NULL */
    char base_url[200];          /* scheme://host of the request */
    /* Set by the operation. */
    unsigned status;             /* 0: the op's ok_status */
    cJSON *out;                  /* the answer, or NULL for none (204) */
    buf raw;                     /* or a raw answer of type raw_type */
    const char *raw_type;
    tg_err err;                  /* when the op returned -1 */
    const char *problem;         /* type slug for err (NULL: by status) */
    uint64_t ran_ms;
} ctl_job;

typedef int (*ctl_fn)(ctl_job *j, ctl_thread *t);

typedef struct ctl_op {
    unsigned methods;            /* M_* */
    const char *pattern;         /* "/v1/admin/tenants/{*}": a star is one segment */
    control_role role;
    ctl_fn fn;
    const char *fields;          /* body fields allowed, comma-separated;
                                    NULL: no body */
    unsigned ok_status;
    const char *query;           /* query arguments allowed, likewise */
} ctl_op;

extern const ctl_op ctl_admin_ops[];
extern const size_t ctl_admin_nops;
extern const ctl_op ctl_tenant_ops[];
extern const size_t ctl_tenant_nops;

/* Helpers for operations: 0, or -1 with j->err (400 naming the field). */
int ctl_body_string(ctl_job *j, const char *name, bool required, const char **out);
/* An integer field: absent leaves *out; null gives null_value. */
int ctl_body_int(ctl_job *j, const char *name, bool required, int64_t min, int64_t max,
                 int64_t null_value, int64_t *out);
/* The page of ?limit=&cursor=. */
int ctl_page(ctl_job *j, int *limit, const char **cursor);
/* A time argument: Unix seconds or ISO 8601 UTC ("2026-12-02T05:46:02Z"). */
int ctl_time_arg(ctl_job *j, int which, const char *name, int64_t dflt, int64_t *out);
/* Token issue and list for a database (ids[0]), the admin's (tenant_scope
 * NULL) and a tenant's alike. */
int ctl_token_create(ctl_job *j, ctl_thread *t, const char *tenant_scope);
int ctl_token_list(ctl_job *j, ctl_thread *t, const char *tenant_scope);
/* -1 after setting a 400 on field. */
int ctl_bad(ctl_job *j, const char *field, const char *what);

#endif
