/* gateway.c - see gateway.h. */
#include "gateway/gateway.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/keys.h"
#include "auth/tenancy.h"
#include "billing/meter.h"
#include "billing/quota.h"
#include "common/buf.h"
#include "common/mem.h"
#include "common/redact.h"
#include "common/siphash.h"
#include "gateway/handlers/accounting.h"
#include "gateway/handlers/ctl.h"
#include "gateway/handlers/dataplane.h"
#include "gateway/handlers/quota_remote.h"
#include "gateway/handlers/routes.h"
#include "gateway/http/server.h"
#include "gateway/protocol/sync_token.h"
#include "gateway/policy/policy.h"
#include "gateway/redis/control.h"
#include "gateway/redis/setup.h"
#include "gateway/sampler.h"

#define DRAIN_MS 5000   /* longest wait for waiting requests at shutdown */

static volatile sig_atomic_t stop_requested;
static int stop_pipe[2] = {-1, -1};   /* signal handlers -> main thread */
/* The keyring in force; swapped by SIGHUP (reload_keys), read by every
 * worker's token cache. Replaced keyrings are kept until exit: a worker
 * may still be verifying with one. */
static const auth_keyring *current_ring;

typedef struct retired_keys {
    struct retired_keys *next;
    auth_keys *keys;
} retired_keys;

static void on_signal(int sig)
{
    if (sig != SIGHUP) stop_requested = 1;
    if (stop_pipe[1] >= 0) {
        ssize_t r = write(stop_pipe[1], sig == SIGHUP ? "h" : "x", 1);
        (void)r;
    }
}

/* SIGHUP: reads the keys again (jwt_keys_file and the jwt_* settings as
 * started). A file that does not load leaves the keys in force. */
static void reload_keys(const auth_keys_opts *ko, auth_keys **keys, retired_keys **retired)
{
    tg_err err;
    auth_keys *fresh = auth_keys_load(ko, &err);
    if (!fresh) {
        fprintf(stderr, "tollgate: keys not reloaded, the old ones stay: %s\n", err.msg);
        return;
    }
    retired_keys *r = xcalloc(1, sizeof *r);
    r->keys = *keys;
    r->next = *retired;
    *retired = r;
    *keys = fresh;
    __atomic_store_n(&current_ring, auth_keys_ring(fresh), __ATOMIC_RELEASE);
    fprintf(stderr, "tollgate: reloaded %zu key(s)\n", auth_keys_ring(fresh)->n);
}

static char *read_file(const char *path, tg_err *err)
{
    buf b;
    buf_init(&b);
    if (buf_read_file(&b, path)) {
        tg_fail(err, 500, "%s: %s", path, strerror(errno));
        return NULL;
    }
    return buf_detach(&b, NULL);
}

static void prefetch_table(const char *url, void *arg)
{
    const tg_config *cfg = arg;
    tg_err err;
    char shown[256];
    if (!backend_info_for(url, (int)cfg->redis_connect_timeout_ms, &err))
        fprintf(stderr, "tollgate: warning: backend %s: %s (will retry on use)\n",
                redact_url(url, shown, sizeof shown), err.msg);
}

/* Backend passwords stored in clear by an earlier version are sealed now
 * (the state file keeps none in clear). */
static int seal_backend_passwords(const tg_config *cfg, tg_err *err)
{
    sqlite3 *db = NULL;
    int n = 0, rc = 0;
    if (sqlite3_open_v2(cfg->sqlite_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return 0; /* start-up reports an unusable state file itself */
    }
    sqlite3_busy_timeout(db, 5000);
    rc = tenancy_seal_plain_urls(db, &n, err);
    sqlite3_close(db);
    if (!rc && n) fprintf(stderr, "tollgate: sealed the backend password of %d database(s)\n", n);
    return rc;
}

/* Command tables of the known backends, fetched once before serving. */
static int prefetch_backends(const tg_config *cfg, tg_err *err)
{
    tenancy *t = tenancy_open(cfg->sqlite_path, err);
    if (!t) return -1;
    tenancy_each_backend(t, prefetch_table, (void *)cfg, err);
    tenancy_free(t);
    return 0;
}

static int start_meter(const tg_config *cfg, tg_err *err)
{
    meter_options mo = {
        .sqlite_path = cfg->sqlite_path, .spill_path = cfg->meter_spill_path,
        .queue_events = (size_t)cfg->meter_queue_events,
        .batch_events = (size_t)cfg->meter_batch_events,
        .flush_ms = (int)cfg->meter_flush_ms, .retention_days = cfg->meter_retention_days,
        .retention_mb = cfg->meter_retention_mb,
        .overflow = cfg->meter_overflow == CFG_METER_OVERFLOW_SPILL ? METER_OVERFLOW_SPILL
                                                                    : METER_OVERFLOW_REJECT,
        .node_id = (int)cfg->meter_node_id,
        .sync_full = cfg->meter_synchronous == CFG_METER_SYNC_FULL,
    };
    return meter_start(&mo, err);
}

/* Serves until a stop signal; SIGHUP reloads the keys meanwhile. */
static void wait_for_stop(const auth_keys_opts *ko, auth_keys **keys, retired_keys **retired)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    for (;;) {
        char c;
        ssize_t n = read(stop_pipe[0], &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n == 1 && c == 'h' && !stop_requested) {
            reload_keys(ko, keys, retired);
            continue;
        }
        break;
    }
}

/* The quotas, loaded from the state file and kept current (every second)
 * by their refresher. NULL + err on failure. */
static quota *start_quotas(const tg_config *cfg, tg_err *err)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(cfg->sqlite_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        tg_fail(err, 500, "quotas: %s: %s", cfg->sqlite_path, db ? sqlite3_errmsg(db) : "");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    quota *q = quota_new();
    if (quota_refresh(q, db, quota_now_ns(), err) ||
        quota_refresher_start(q, cfg->sqlite_path, 1000, err)) {
        quota_free(q);
        q = NULL;
    }
    sqlite3_close(db);
    return q;
}

/* The route table split for control_listen: the rows flagged RT_CONTROL
 * (control) or the others, and on both the rows flagged RT_ANYWHERE.
 * malloc'd; *n rows. */
static route *routes_split(bool control, size_t *n)
{
    route *t = xcalloc(gw_nroutes, sizeof *t);
    *n = 0;
    for (size_t i = 0; i < gw_nroutes; i++)
        if (!!(gw_routes[i].flags & RT_CONTROL) == control ||
            (gw_routes[i].flags & RT_ANYWHERE))
            t[(*n)++] = gw_routes[i];
    return t;
}

/* control_listen "ADDR:PORT" (the last colon splits; [v6]:port too).
 * Its own server, one thread, the control routes only. */
static http_server *start_control(const tg_config *cfg, const http_app *app, route *routes,
                                  size_t nroutes, const char *cert, const char *key,
                                  tg_err *err)
{
    static char host[256];   /* the server keeps pointing at it */
    const char *colon = strrchr(cfg->control_listen, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    size_t hl = colon ? (size_t)(colon - cfg->control_listen) : 0;
    if (!colon || !*(colon + 1) || *end || port < 0 || port > 65535 || !hl || hl >= sizeof host) {
        tg_fail(err, 400, "control_listen: ADDR:PORT, e.g. 10.0.0.5:8081");
        return NULL;
    }
    memcpy(host, cfg->control_listen, hl);
    host[hl] = '\0';
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    tg_config cc = *cfg;
    cc.listen = host;
    cc.port = port;
    cc.threads = 1;
    http_app capp = *app;
    capp.routes = routes;
    capp.nroutes = nroutes;
    /* http_server_new copies cc; listen is only read while binding. */
    http_server *s = http_server_new(&cc, &capp, cert, key, err);
    if (s) {
        fprintf(stderr, "tollgate: control plane on %s://%s:%d\n", cert ? "https" : "http",
                host, http_server_port(s));
    }
    return s;
}

/* The HTTP servers: the data plane's, and with control_listen the
 * control plane's on its own address. */
typedef struct servers {
    http_server *data, *control;
    route *data_routes, *ctl_routes;
} servers;

static int servers_start(const tg_config *cfg, http_app app, const char *cert,
                         const char *key, servers *sv, tg_err *err)
{
    if (cfg->control_listen && *cfg->control_listen) {
        size_t nd, nc;
        sv->data_routes = routes_split(false, &nd);
        sv->ctl_routes = routes_split(true, &nc);
        app.routes = sv->data_routes;
        app.nroutes = nd;
        if (!(sv->control = start_control(cfg, &app, sv->ctl_routes, nc, cert, key, err)))
            return -1;
    }
    return (sv->data = http_server_new(cfg, &app, cert, key, err)) ? 0 : -1;
}

static void servers_stop(servers *sv, int drain_ms)
{
    http_server_stop(sv->data, drain_ms);
    http_server_stop(sv->control, drain_ms);
    sv->data = sv->control = NULL;
}

static void servers_free(servers *sv)
{
    servers_stop(sv, 0);
    free(sv->data_routes);
    free(sv->ctl_routes);
}

static int report_meter(int rc)
{
    meter_totals tot;
    char line[512];
    meter_snapshot(&tot);
    meter_format_totals(&tot, line, sizeof line);
    fprintf(stderr, "tollgate: %s\n", line);
    return tot.lost ? 1 : rc;
}

int gateway_serve(const tg_config *cfg)
{
    tg_err err;
    int rc = 1;
    char *cert = NULL, *key = NULL;
    retired_keys *retired = NULL;
    servers sv = {NULL, NULL, NULL, NULL};
    dp_shared shared = {NULL, NULL, NULL};
    sampler *sizes = NULL;
    hash_seed();
    auth_keys_opts ko;
    auth_keys_opts_from_config(cfg, &ko);
    auth_keys *keys = auth_keys_load(&ko, &err);
    if (!keys) goto out_say;
    current_ring = auth_keys_ring(keys);
    /* Every node derives the same ACL passwords from the same acl_secret. */
    backend_setup_init(cfg->acl_secret, strlen(cfg->acl_secret), policy_annotate);
    tenancy_set_seal_secret(cfg->acl_secret, strlen(cfg->acl_secret));
    signal(SIGPIPE, SIG_IGN);
    if (cfg->tls_cert && (!(cert = read_file(cfg->tls_cert, &err)) ||
                          !(key = read_file(cfg->tls_key, &err)))) {
        fprintf(stderr, "tollgate: tls: %s\n", err.msg);
        goto out_free_keys;
    }
    if (seal_backend_passwords(cfg, &err) || prefetch_backends(cfg, &err)) goto out_say;
    /* The metering writer runs before any request can complete, and stops
     * (draining its queue) after the last one has. */
    if (cfg->metering && start_meter(cfg, &err)) goto out_say;
    /* Runaway scripts are killed off the workers' loops (control.h). */
    if (control_start((int)cfg->redis_connect_timeout_ms, &err)) goto out_stop_say;

    if (cfg->quotas && !(shared.q = start_quotas(cfg, &err))) goto out_stop_say;
    if (cfg->quotas && cfg->quota_sample_s &&
        !(sizes = sampler_start(shared.q, cfg->sqlite_path, (int)cfg->quota_sample_s,
                                (int)cfg->redis_command_timeout_ms, &err)))
        goto out_stop_say;
    shared.ring = &current_ring;
    /* The control plane's SQLite work runs on its own threads (ctl.h). */
    ctl_shared csh = {cfg, shared.q};
    if (!(shared.ctl = ctl_threads_start(&csh, &err))) goto out_stop_say;
    http_app app = {
        .ctx = &shared, .routes = gw_routes, .nroutes = gw_nroutes,
        .worker_new = dp_worker_new, .worker_drain = dp_worker_drain,
        .worker_free = dp_worker_free, .deadline = dp_worker_deadline,
        .check_timeouts = dp_worker_check_timeouts, .flush = dp_worker_flush,
        .request_done = accounting_done, .on_headers = dp_headers,
    };
    if (servers_start(cfg, app, cert, key, &sv, &err)) goto out_stop_say;
    if (pipe(stop_pipe)) {
        tg_fail(&err, 500, "pipe: %s", strerror(errno));
        goto out_stop_say;
    }
    if (http_server_run(sv.data, &err) || (sv.control && http_server_run(sv.control, &err)))
        goto out_stop_say;
    fprintf(stderr, "tollgate: serving %s://%s:%d with %d threads\n",
            cert ? "https" : "http", cfg->listen, http_server_port(sv.data),
            http_server_threads(sv.data));
    fflush(stderr);
    wait_for_stop(&ko, &keys, &retired);
    fprintf(stderr, "tollgate: shutting down\n");
    servers_stop(&sv, DRAIN_MS);
    meter_totals mt;
    meter_snapshot(&mt);
    fprintf(stderr, "tollgate: served %llu requests, %llu commands\n",
            (unsigned long long)mt.requests, (unsigned long long)mt.commands);
    if (cfg->quota_store == CFG_QUOTA_STORE_REDIS && quota_remote_failed_open())
        fprintf(stderr, "tollgate: quota store unreachable: %llu requests let through "
                "(quota_fail = open)\n", (unsigned long long)quota_remote_failed_open());
    rc = 0;
    goto out_stop;

out_stop_say:
    fprintf(stderr, "tollgate: %s\n", err.msg);
out_stop:
    servers_free(&sv);
    workq_stop(shared.ctl);  /* after the workers: their ports are drained */
    control_stop();
    sampler_stop(sizes);    /* before the quotas it reports to */
    quota_free(shared.q);   /* after the workers: they held it */
    backend_setup_clear();
    meter_stop();
    sync_token_free_all();
    if (cfg->metering) rc = report_meter(rc);
    goto out_free_keys;
out_say:
    fprintf(stderr, "tollgate: %s\n", err.msg);
out_free_keys:
    free(cert);
    free(key);
    auth_keys_free(keys);
    while (retired) {
        retired_keys *next = retired->next;
        auth_keys_free(retired->keys);
        free(retired);
        retired = next;
    }
    return rc;
}
