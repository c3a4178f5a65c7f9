/* gateway.c - see gateway.h. */
#include "gateway/gateway.h"

#include <errno.h>
#include <fcntl.h>
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
#include "common/log.h"
#include "common/metrics.h"
#include "common/mem.h"
#include "common/redact.h"
#include "common/siphash.h"
#include "gateway/control/purger.h"
#include "gateway/handlers/accounting.h"
#include "gateway/handlers/ctl.h"
#include "gateway/handlers/dataplane.h"
#include "gateway/handlers/observe.h"
#include "gateway/handlers/quota_remote.h"
#include "gateway/handlers/routes.h"
#include "gateway/http/server.h"
#include "gateway/protocol/sync_token.h"
#include "gateway/policy/policy.h"
#include "gateway/redis/control.h"
#include "gateway/redis/setup.h"
#include "gateway/ops_server.h"
#include "gateway/ready.h"
#include "gateway/sampler.h"
#include "gateway/user.h"
#include "migrations/migrate.h"

static volatile sig_atomic_t stop_requested;
static int stop_pipe[2] = {-1, -1};   /* signal handlers -> main thread */
/* The keyring in force; swapped by SIGHUP (reload), read by every
 * worker's token cache. */
static const auth_keyring *current_ring;
/* The settings and keys in force for the control threads (ctl.h);
 * swapped by SIGHUP with the keyring. */
static const ctl_config *current_ctl;

/* What SIGHUP replaced, kept until exit: a worker may still be verifying
 * with an old keyring or reading an old generation's strings. */
typedef struct retired {
    struct retired *next;
    auth_keys *keys;
    tg_config *cfg;
    ctl_config *ctl;
} retired;

/* The running gateway, as the main thread sees it. */
typedef struct running {
    tg_config *cfg;             /* the settings in force (a generation) */
    auth_keys *keys;
    ctl_config *ctl;            /* cfg and keys, for the control threads */
    http_server *srv;
    http_server *control;       /* control_listen's server, or NULL */
    retired *old;
} running;

/* The settings SIGHUP changes on a running gateway: each is read per
 * request (gateway/http/ through request_config, the keys through the
 * keyring pointer, the certificate at each handshake) or at shutdown.
 * Any other that differs in the reloaded configuration is reported as
 * needing a restart, and its running value stays. A name without a row
 * in common/config.c is skipped. */
static const char *const live_settings[] = {
    "cors_origins", "log_requests", "log_level", "max_request_bytes", "quota_headers",
    "max_response_bytes", "max_inflight_bytes", "header_timeout_s", "shared_scripts",
    "shutdown_grace_s", "admin_jwt_secret",
    /* the keys (auth_keys_opts), reloaded together */
    "jwt_secret", "jwt_alg", "jwt_kid", "jwt_keys_file", "jwt_issuer", "jwt_audience",
    /* while serving HTTPS: the certificate, read anew even if unchanged */
    "tls_cert", "tls_key",
};
#define NLIVE (sizeof live_settings / sizeof live_settings[0])

static ctl_config *ctl_config_new(const tg_config *cfg, const auth_keys *keys)
{
    ctl_config *c = xcalloc(1, sizeof *c);
    c->cfg = cfg;
    c->keys = keys;
    return c;
}

static void on_signal(int sig)
{
    if (sig != SIGHUP) stop_requested = 1;
    if (stop_pipe[1] >= 0) {
        ssize_t r = write(stop_pipe[1], sig == SIGHUP ? "h" : "x", 1);
        (void)r;
    }
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

static bool is_live(const char *name, bool tls)
{
    if (!tls && !strncmp(name, "tls_", 4)) return false;   /* HTTPS needs a restart */
    for (size_t i = 0; i < NLIVE; i++)
        if (!strcmp(live_settings[i], name)) return true;
    return false;
}

/* The settings that differ but cannot change live, as one line. */
static void say_restart_needed(const tg_config *now, const tg_config *fresh, bool tls)
{
    const char *names[128];
    size_t n = config_diff(now, fresh, names, 128);
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < n && i < 128; i++) {
        if (is_live(names[i], tls)) continue;
        buf_printf(&b, "%s%s", b.len ? ", " : "", names[i]);
    }
    if (b.len)
        fprintf(stderr, "tollgate: reload: %.*s changed: a restart applies %s (the running "
                "value stays)\n", (int)b.len, b.data, strchr(b.data, ',') ? "them" : "it");
    buf_release(&b);
}

/* The running settings with the live ones taken from fresh. */
static tg_config *live_update(const tg_config *now, const tg_config *fresh, bool tls)
{
    tg_config *eff = xcalloc(1, sizeof *eff);
    config_copy(eff, now);
    for (size_t i = 0; i < NLIVE; i++)
        if (is_live(live_settings[i], tls)) config_copy_setting(eff, fresh, live_settings[i]);
    return eff;
}

/* The certificate and key files of cfg, installed. 0, or -1 with err. */
static int reload_tls(http_server *srv, const tg_config *cfg, tg_err *err)
{
    char *cert = read_file(cfg->tls_cert, err), *key = NULL;
    int rc = -1;
    if (cert && (key = read_file(cfg->tls_key, err)))
        rc = http_server_set_tls(srv, cert, key, err);
    free(cert);
    free(key);
    return rc;
}

/* SIGHUP: the configuration file (and the environment and flags as
 * started) loaded again; the live settings, the keys and the certificate
 * taken from it all at once, or none of them: a file that does not load,
 * keys or a certificate that do not, leave everything as it was, and the
 * log says why. */
static void reload(running *run)
{
    tg_err err;
    tg_config fresh;
    bool tls = http_server_tls(run->srv);
    if (config_reload(&fresh, &err)) {
        fprintf(stderr, "tollgate: reload: configuration not reloaded, the old one stays: "
                "%s\n", err.msg);
        return;
    }
    if (config_validate_serve(&fresh, &err) || config_validate_acl_secret(&fresh, &err)) {
        fprintf(stderr, "tollgate: reload: configuration not reloaded, the old one stays: "
                "%s\n", err.msg);
        config_free(&fresh);
        return;
    }
    say_restart_needed(run->cfg, &fresh, tls);
    tg_config *eff = live_update(run->cfg, &fresh, tls);
    config_free(&fresh);
    const char *changed[128];
    size_t nchanged = config_diff(run->cfg, eff, changed, 128);
    auth_keys_opts ko;
    auth_keys_opts_from_config(eff, &ko);
    auth_keys *keys = auth_keys_load(&ko, &err);
    if (!keys) {
        fprintf(stderr, "tollgate: reload: keys not reloaded, the old configuration stays: "
                "%s\n", err.msg);
        goto out_drop;
    }
    if (tls && reload_tls(run->srv, eff, &err)) {
        fprintf(stderr, "tollgate: reload: certificate not reloaded, the old configuration "
                "stays: %s\n", err.msg);
        auth_keys_free(keys);
        goto out_drop;
    }
    retired *r = xcalloc(1, sizeof *r);
    r->keys = run->keys;
    r->cfg = run->cfg;
    r->ctl = run->ctl;
    r->next = run->old;
    run->old = r;
    run->keys = keys;
    run->cfg = eff;
    run->ctl = ctl_config_new(eff, keys);
    __atomic_store_n(&current_ring, auth_keys_ring(keys), __ATOMIC_RELEASE);
    __atomic_store_n(&current_ctl, run->ctl, __ATOMIC_RELEASE);
    http_server_configure(run->srv, eff);
    if (run->control) http_server_configure(run->control, eff);
    log_set_level(eff->log_level);
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < nchanged && i < 128; i++)
        buf_printf(&b, "%s%s", b.len ? ", " : "", changed[i]);
    fprintf(stderr, "tollgate: reloaded %zu key(s)%s; settings changed: %.*s\n",
            auth_keys_ring(keys)->n, tls ? " and the certificate" : "",
            b.len ? (int)b.len : 4, b.len ? b.data : "none");
    buf_release(&b);
    return;
out_drop:
    config_free(eff);
    free(eff);
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

/* Serves until a stop signal; SIGHUP reloads meanwhile. Returns the
 * signal's name. */
static const char *wait_for_stop(running *run)
{
    for (;;) {
        char c;
        ssize_t n = read(stop_pipe[0], &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n == 1 && c == 'h' && !stop_requested) {
            reload(run);
            fflush(stderr);
            continue;
        }
        break;
    }
    return "stop signal";
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
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

/* sv->data is bound already (http_server_bind, before `--user`); the
 * control plane's server, if any, binds here. */
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
    return http_server_start(sv->data, cfg, &app, cert, key, err);
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

/* `serve --user`: the state files made usable by the user, then the
 * switch, then a check that the state directory is the user's to write.
 * 0, or -1 with err (the process must stop: it never stays root). */
static int become_user(const tg_config *cfg, const char *name, tg_err *err)
{
    tg_user u;
    char wal[4096], shm[4096], journal[4096], spill[4096];
    snprintf(wal, sizeof wal, "%s-wal", cfg->sqlite_path);
    snprintf(shm, sizeof shm, "%s-shm", cfg->sqlite_path);
    snprintf(journal, sizeof journal, "%s-journal", cfg->sqlite_path);
    snprintf(spill, sizeof spill, "%s", cfg->meter_spill_path ? cfg->meter_spill_path : "");
    if (!cfg->meter_spill_path) snprintf(spill, sizeof spill, "%s.meter-spill", cfg->sqlite_path);
    const char *files[] = {cfg->sqlite_path, wal, shm, journal, spill};
    if (user_lookup(name, &u, err) || user_adopt_files(&u, files, 5, err) ||
        user_drop(&u, err) || user_check_state(cfg->sqlite_path, err))
        return -1;
    fprintf(stderr, "tollgate: running as %s (uid %u, gid %u)\n", u.name, (unsigned)u.uid,
            (unsigned)u.gid);
    return 0;
}

/* The state file's schema brought up to date (as `tollgate migrate`). */
static int migrate_state(const tg_config *cfg, tg_err *err)
{
    sqlite3 *db = migrate_open(cfg->sqlite_path, err);
    int applied = 0;
    if (!db) return -1;
    int rc = migrate_apply(db, &applied, err);
    sqlite3_close(db);
    if (!rc && applied)
        fprintf(stderr, "tollgate: applied %d migration(s) to %s\n", applied, cfg->sqlite_path);
    return rc;
}

/* The keys (made current) and the certificate's PEM text. 0, or -1. */
static int load_secrets(const tg_config *cfg, running *run, char **cert, char **key,
                        tg_err *err)
{
    auth_keys_opts ko;
    auth_keys_opts_from_config(cfg, &ko);
    if (!(run->keys = auth_keys_load(&ko, err))) return -1;
    current_ring = auth_keys_ring(run->keys);
    run->ctl = ctl_config_new(cfg, run->keys);
    current_ctl = run->ctl;
    /* Every node derives the same ACL passwords from the same acl_secret. */
    backend_setup_init(cfg->acl_secret, strlen(cfg->acl_secret), policy_annotate);
    tenancy_set_seal_secret(cfg->acl_secret, strlen(cfg->acl_secret));
    if (cfg->tls_cert && (!(*cert = read_file(cfg->tls_cert, err)) ||
                          !(*key = read_file(cfg->tls_key, err)))) {
        tg_err e = *err;
        return tg_fail(err, 400, "tls: %s", e.msg);
    }
    return 0;
}

/* Before anything logs or counts. */
static int logs_and_metrics(const tg_config *cfg, tg_err *err)
{
    metrics_enabled = cfg->metrics;
    log_set_level(cfg->log_level);
    if (!log_open_access(cfg->access_log, err)) return 0;
    fprintf(stderr, "tollgate: %s\n", err->msg);
    return -1;
}

/* The operations surface: the readiness prober, the metrics listener. */
static int start_ops(const tg_config *cfg, ready_prober **ready, ops_server **ops, tg_err *err)
{
    observe_set_routes(gw_routes, gw_nroutes);
    if (!(*ready = ready_start(cfg, err))) return -1;
    if (!cfg->metrics_listen || !*cfg->metrics_listen) return 0;
    if (!(*ops = ops_server_start(cfg->metrics_listen, err))) return -1;
    fprintf(stderr, "tollgate: metrics on http://%s (port %d)\n", cfg->metrics_listen,
            ops_server_port(*ops));
    return 0;
}

/* After the workers: requests completed on this thread at the stop have
 * their access lines written. */
static void stop_ops(ready_prober *ready, ops_server *ops)
{
    observe_thread_end();
    ops_server_stop(ops);
    ready_stop(ready);
}

/* The control plane's SQLite work runs on its own threads (ctl.h), a
 * deleted database's purge on the purger's (purger.h). sh lives until
 * both are stopped. 0, or -1 with err. */
static int start_control_plane(const tg_config *cfg, ctl_shared *sh, workq **pool, tg_err *err)
{
    if (!(sh->purger = purger_start(cfg->sqlite_path, (int)cfg->redis_connect_timeout_ms, err)))
        return -1;
    return (*pool = ctl_threads_start(sh, err)) ? 0 : -1;
}

/* The request's id is its usage event's (billing/meter_event.h). */
static uint64_t new_request_id(uint64_t time_ms)
{
    return meter_id_next(time_ms);
}

/* The data plane as the HTTP core sees it: routes and hooks (http.h). */
static http_app data_plane_app(dp_shared *shared)
{
    return (http_app){
        .ctx = shared, .routes = gw_routes, .nroutes = gw_nroutes,
        .worker_new = dp_worker_new, .worker_drain = dp_worker_drain,
        .worker_free = dp_worker_free, .deadline = dp_worker_deadline,
        .check_timeouts = dp_worker_check_timeouts, .flush = dp_worker_flush,
        .request_done = accounting_done, .on_headers = dp_headers,
        .new_request_id = new_request_id,
    };
}

/* After the servers stopped: what was served, and what the quota store's
 * absence let through. */
static void report_served(const tg_config *cfg)
{
    meter_totals mt;
    meter_snapshot(&mt);
    fprintf(stderr, "tollgate: served %llu requests, %llu commands\n",
            (unsigned long long)mt.requests, (unsigned long long)mt.commands);
    if (cfg->quota_store == CFG_QUOTA_STORE_REDIS && quota_remote_failed_open())
        fprintf(stderr, "tollgate: quota store unreachable: %llu requests let through "
                "(quota_fail = open)\n", (unsigned long long)quota_remote_failed_open());
}

/* The settings in force and every one a reload retired. */
static void running_free(running *run)
{
    auth_keys_free(run->keys);
    free(run->ctl);
    while (run->old) {
        retired *next = run->old->next;
        auth_keys_free(run->old->keys);
        free(run->old->ctl);
        config_free(run->old->cfg);
        free(run->old->cfg);
        free(run->old);
        run->old = next;
    }
    config_free(run->cfg);
    free(run->cfg);
}

int gateway_serve(const tg_config *start_cfg, const char *user)
{
    tg_err err;
    int rc = 1;
    char *cert = NULL, *key = NULL;
    servers sv = {NULL, NULL, NULL, NULL};
    dp_shared shared = {NULL, NULL, NULL};
    ctl_shared csh = {&current_ctl, NULL, NULL};   /* the control plane's (ctl.h) */
    sampler *sizes = NULL;
    bool metering = false;   /* the writer started */
    /* The settings in force: a copy SIGHUP replaces (reload). */
    running run = {xcalloc(1, sizeof *run.cfg), NULL, NULL, NULL, NULL, NULL};
    config_copy(run.cfg, start_cfg);
    const tg_config *cfg = run.cfg;   /* what was started with */
    ready_prober *ready = NULL;
    ops_server *ops = NULL;
    hash_seed();
    if (logs_and_metrics(cfg, &err)) goto out_free;
    signal(SIGPIPE, SIG_IGN);
    /* Signals are caught from the start: one that comes while starting
     * waits in the pipe (a SIGTERM then stops the gateway as soon as it
     * serves, a SIGHUP reloads), rather than killing the process. */
    if (pipe2(stop_pipe, O_CLOEXEC)) {
        tg_fail(&err, 500, "pipe: %s", strerror(errno));
        goto out_say;
    }
    catch_signals();
    /* Bound first, as whoever started us (a port below 1024 may need
     * root), then everything else as the --user. */
    if (!(run.srv = http_server_bind(cfg, &err))) goto out_say;
    if (user && become_user(cfg, user, &err)) goto out_stop_say;
    if (migrate_state(cfg, &err)) goto out_stop_say;
    if (load_secrets(cfg, &run, &cert, &key, &err)) goto out_stop_say;
    if (seal_backend_passwords(cfg, &err) || prefetch_backends(cfg, &err)) goto out_stop_say;
    /* The metering writer runs before any request can complete, and stops
     * (draining its queue) after the last one has. */
    if (cfg->metering && start_meter(cfg, &err)) goto out_stop_say;
    metering = cfg->metering;
    /* Runaway scripts are killed off the workers' loops (control.h). */
    if (control_start((int)cfg->redis_connect_timeout_ms, &err)) goto out_stop_say;

    if (cfg->quotas && !(shared.q = start_quotas(cfg, &err))) goto out_stop_say;
    if (cfg->quotas && cfg->quota_sample_s &&
        !(sizes = sampler_start(shared.q, cfg->sqlite_path, (int)cfg->quota_sample_s,
                                (int)cfg->redis_command_timeout_ms, &err)))
        goto out_stop_say;
    shared.ring = &current_ring;
    csh.q = shared.q;
    if (start_control_plane(cfg, &csh, &shared.ctl, &err)) goto out_stop_say;
    http_app app = data_plane_app(&shared);
    if (start_ops(cfg, &ready, &ops, &err)) goto out_stop_say;
    sv.data = run.srv;
    if (servers_start(cfg, app, cert, key, &sv, &err)) goto out_stop_say;
    if (http_server_run(sv.data, &err) || (sv.control && http_server_run(sv.control, &err)))
        goto out_stop_say;
    run.control = sv.control;   /* a reload configures it too */
    fprintf(stderr, "tollgate: serving %s://%s:%d with %d threads\n",
            cert ? "https" : "http", cfg->listen, http_server_port(run.srv),
            http_server_threads(run.srv));
    fflush(stderr);
    wait_for_stop(&run);
    /* The grace in force now (SIGHUP may have changed it). */
    fprintf(stderr, "tollgate: shutting down: no new connection; requests in flight have "
            "%lds\n", run.cfg->shutdown_grace_s);
    fflush(stderr);
    servers_stop(&sv, (int)run.cfg->shutdown_grace_s * 1000);
    run.srv = run.control = NULL;
    report_served(cfg);
    rc = 0;
    goto out_stop;

out_stop_say:
    fprintf(stderr, "tollgate: %s\n", err.msg);
out_stop:
    if (!sv.data) sv.data = run.srv;   /* bound, not started */
    run.srv = NULL;
    servers_free(&sv);
    workq_stop(shared.ctl);  /* after the workers: their ports are drained */
    purger_stop(csh.purger); /* after the control threads: they schedule */
    stop_ops(ready, ops);
    control_stop();
    sampler_stop(sizes);    /* before the quotas it reports to */
    quota_free(shared.q);   /* after the workers: they held it */
    backend_setup_clear();
    meter_stop();
    sync_token_free_all();
    if (metering) rc = report_meter(rc);
    goto out_free;
out_say:
    fprintf(stderr, "tollgate: %s\n", err.msg);
out_free:
    log_close_access();
    metrics_free_all();
    free(cert);
    free(key);
    running_free(&run);
    return rc;
}
