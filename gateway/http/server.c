/* server.c - see server.h: worker threads and their event loops. */
#include "gateway/http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/siphash.h"
#include "common/mem.h"
#include "gateway/http/request.h"

#define DRAIN_MS 5000   /* longest wait for in-flight requests at shutdown */

static _Atomic uint64_t sync_counter;
static volatile sig_atomic_t stop_requested;
static int stop_pipe[2] = {-1, -1};   /* signal handlers -> main thread */
/* The keyring in force; swapped by SIGHUP (reload_keys), read by every
 * worker's auth_ctx. Replaced keyrings are kept until exit: a worker may
 * still be verifying with one. */
static const auth_keyring *current_ring;

uint64_t sync_token_bump(void)
{
    return atomic_fetch_add_explicit(&sync_counter, 1, memory_order_relaxed) + 1;
}

uint64_t sync_token_current(void)
{
    return atomic_load_explicit(&sync_counter, memory_order_relaxed);
}

/* ==== Backends of a worker ==== */

int worker_backend(worker *w, const char *url, int db, backend **out,
                   const backend_info **info, tg_err *err)
{
    for (be_slot *s = w->backends; s; s = s->next)
        if (backend_db(s->b) == db && !strcmp(backend_url(s->b), url)) {
            *out = s->b;
            *info = s->info;
            return 0;
        }
    /* First use on this thread: set-up may need a (blocking, bounded)
     * round trip if start-up could not reach this backend. */
    const backend_info *bi = backend_info_for(url, (int)w->cfg->redis_connect_timeout_ms, err);
    if (!bi) return -1;
    backend_opts o = {w->epfd, (int)w->cfg->redis_connect_timeout_ms,
                      (int)w->cfg->redis_command_timeout_ms,
                      (uint64_t)w->cfg->max_reply_bytes};
    backend *b = backend_new(url, db, bi, &o, err);
    if (!b) return -1;
    be_slot *s = xcalloc(1, sizeof *s);
    s->b = b;
    s->info = bi;
    s->next = w->backends;
    w->backends = s;
    *out = b;
    *info = bi;
    return 0;
}

/* ==== The event loop ==== */

static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s); /* arguments are percent-decoded by argv.c, per segment */
}

static void worker_tick(worker *w, bool run_mhd)
{
    uint64_t now = now_ms();
    for (be_slot *s = w->backends; s; s = s->next) backend_check_timeouts(s->b, now);
    if (run_mhd || w->answered) {
        w->progress = w->answered; /* sending answers is progress too */
        w->answered = false;
        MHD_run(w->mhd);
        w->mhd_only_waiting = !w->progress;
    }
    for (be_slot *s = w->backends; s; s = s->next)
        if (backend_has_output(s->b)) backend_flush(s->b);
}

/* How long the loop may sleep. libmicrohttpd asks for 0 (run me again at
 * once) while any request waits for Redis without a response, since those
 * connections stay in its ready list; obeying that would spin the loop
 * until the reply comes (measured: 7 epoll_wait calls per request, a third
 * of the throughput). So while requests are in flight and the last MHD_run
 * did nothing but poll them, its 0 is ignored: the reply to an in-flight
 * request wakes the loop within a Redis round trip, and that run serves
 * whatever else libmicrohttpd had ready. */
static int worker_timeout(worker *w)
{
    MHD_UNSIGNED_LONG_LONG mt;
    uint64_t t = UINT64_MAX;
    bool spin = w->inflight > 0 && w->mhd_only_waiting;
    if (MHD_get_timeout(w->mhd, &mt) == MHD_YES && !(mt == 0 && spin)) t = mt;
    uint64_t now = now_ms();
    for (be_slot *s = w->backends; s; s = s->next) {
        uint64_t d = backend_deadline(s->b);
        if (d != UINT64_MAX) t = t < (d > now ? d - now : 0) ? t : (d > now ? d - now : 0);
    }
    if (w->answered) t = 0;
    return t > 1000 ? 1000 : (int)t;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    struct epoll_event evs[128];
    bool draining = false;
    uint64_t drain_deadline = 0;
    for (;;) {
        int n = epoll_wait(w->epfd, evs, 128, worker_timeout(w));
        bool run_mhd = n == 0;
        for (int i = 0; i < n; i++) {
            int kind = *(int *)evs[i].data.ptr;
            if (kind == WORKER_EV_MHD) run_mhd = true;
            else if (kind == WORKER_EV_BACKEND)
                backend_on_event(((backend_tag *)evs[i].data.ptr)->b, evs[i].events);
            else if (kind == WORKER_EV_WAKE) {
                uint64_t v;
                if (read(w->wakefd, &v, sizeof v) < 0) { /* spurious */ }
            }
        }
        worker_tick(w, run_mhd);
        if (stop_requested && !draining) {
            draining = true;
            drain_deadline = now_ms() + DRAIN_MS;
            MHD_quiesce_daemon(w->mhd);
        }
        if (draining && (w->inflight == 0 || now_ms() >= drain_deadline)) break;
    }
    /* Anything still waiting on Redis gets a 503; let it be written. */
    for (be_slot *s = w->backends; s; s = s->next) backend_free(s->b);
    for (be_slot *s = w->backends, *next; s; s = next) {
        next = s->next;
        free(s);
    }
    w->backends = NULL;
    uint64_t until = now_ms() + 200;
    while (now_ms() < until) {
        worker_tick(w, true);
        usleep(2000);
    }
    return NULL;
}

/* ==== Start-up ==== */

static int listen_socket(const char *addr, int port, tg_err *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE |
                             AI_NUMERICHOST}, *res = NULL;
    char ps[8];
    snprintf(ps, sizeof ps, "%d", port);
    if (getaddrinfo(addr, ps, &hints, &res) || !res)
        return tg_fail(err, 500, "listen: '%s' is not a numeric address", addr);
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0) {
        freeaddrinfo(res);
        return tg_fail(err, 500, "socket: %s", strerror(errno));
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 1024)) {
        int e = errno;
        freeaddrinfo(res);
        close(fd);
        return tg_fail(err, 500, "listen on %s:%d: %s", addr, port, strerror(e));
    }
    freeaddrinfo(res);
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t l = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &l)) return -1;
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
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

static void on_signal(int sig)
{
    if (sig != SIGHUP) stop_requested = 1;
    if (stop_pipe[1] >= 0) {
        ssize_t r = write(stop_pipe[1], sig == SIGHUP ? "h" : "x", 1);
        (void)r;
    }
}

typedef struct retired_keys {
    struct retired_keys *next;
    auth_keys *keys;
} retired_keys;

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

static void prefetch_table(const char *url, void *arg)
{
    const tg_config *cfg = arg;
    tg_err err;
    if (!backend_info_for(url, (int)cfg->redis_connect_timeout_ms, &err))
        fprintf(stderr, "tollgate: warning: backend %s: %s (will retry on use)\n",
                url, err.msg);
}

static int worker_start(worker *w, const tg_config *cfg, int fd,
                        const char *cert, const char *key, tg_err *err)
{
    w->cfg = cfg;
    w->listen_fd = fd;
    w->ev_mhd_tag = WORKER_EV_MHD;
    w->ev_wake_tag = WORKER_EV_WAKE;
    w->auth = auth_ctx_new(&current_ring, cfg->jwt_leeway_s, cfg->sqlite_path,
                           (size_t)cfg->token_cache_size, err);
    if (!w->auth) return -1;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
    if (cert) flags |= MHD_USE_TLS;
    long per = cfg->max_connections / (cfg->threads ? cfg->threads : 1);
    struct MHD_OptionItem tls_opts[] = {
        {cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)cert},
        {cert ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, (void *)key},
        {MHD_OPTION_END, 0, NULL},
    };
    w->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, request_access, w,
        MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, w,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->idle_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(per > 1 ? per : 1),
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
        /* Per connection, touched whole on every request: it bounds memory
         * per idle connection and the size of a request's headers. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->connection_memory_kb * 1024,
        MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (!w->mhd) return tg_fail(err, 500, "cannot start the HTTP server%s",
                                cert ? " (check the TLS certificate and key)" : "");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &w->ev_mhd_tag};
    epoll_ctl(w->epfd, EPOLL_CTL_ADD, info->epoll_fd, &e);
    struct epoll_event we = {.events = EPOLLIN, .data.ptr = &w->ev_wake_tag};
    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &we);
    return 0;
}

int server_run(const tg_config *cfg_in)
{
    tg_config cfg = *cfg_in;
    tg_err err;
    int rc = 1;
    char *cert = NULL, *key = NULL;
    hash_seed();
    auth_keys_opts ko;
    auth_keys_opts_from_config(&cfg, &ko);
    auth_keys *keys = auth_keys_load(&ko, &err);
    if (!keys) {
        fprintf(stderr, "tollgate: %s\n", err.msg);
        return 1;
    }
    current_ring = auth_keys_ring(keys);
    retired_keys *retired = NULL;
    /* Every node derives the same ACL password from the same key material. */
    const auth_key *k0 = &auth_keys_ring(keys)->keys[0];
    backend_setup_init(k0->secret, k0->secret_len);
    signal(SIGPIPE, SIG_IGN);
    if (cfg.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg.threads = n > 0 ? n : 1;
    }
    if (cfg.tls_cert && (!(cert = read_file(cfg.tls_cert, &err)) ||
                         !(key = read_file(cfg.tls_key, &err)))) {
        fprintf(stderr, "tollgate: tls: %s\n", err.msg);
        goto out_free_tls;
    }

    /* Command tables of the known backends, fetched once before serving. */
    tenancy *t = tenancy_open(cfg.sqlite_path, &err);
    if (!t) {
        fprintf(stderr, "tollgate: %s\n", err.msg);
        goto out_free_tls;
    }
    tenancy_each_backend(t, prefetch_table, &cfg, &err);
    tenancy_free(t);

    /* The metering writer runs before any request can complete, and stops
     * (draining its queue) after the last one has. */
    if (cfg.metering) {
        meter_options mo = {
            .sqlite_path = cfg.sqlite_path, .spill_path = cfg.meter_spill_path,
            .queue_events = (size_t)cfg.meter_queue_events,
            .batch_events = (size_t)cfg.meter_batch_events,
            .flush_ms = (int)cfg.meter_flush_ms, .retention_days = cfg.meter_retention_days,
            .overflow = strcmp(cfg.meter_overflow, "spill") ? METER_OVERFLOW_REJECT
                                                            : METER_OVERFLOW_SPILL,
            .node_id = (int)cfg.meter_node_id,
            .sync_full = !strcmp(cfg.meter_synchronous, "full"),
        };
        if (meter_start(&mo, &err)) {
            fprintf(stderr, "tollgate: %s\n", err.msg);
            goto out_free_tls;
        }
    }

    int nw = (int)cfg.threads;
    worker *ws = xcalloc((size_t)nw, sizeof *ws);
    pthread_t *tids = xcalloc((size_t)nw, sizeof *tids);
    int port = (int)cfg.port, started = 0;
    for (int i = 0; i < nw; i++) {
        int fd = listen_socket(cfg.listen, port, &err);
        if (fd < 0) {
            fprintf(stderr, "tollgate: %s\n", err.msg);
            goto out_stop;
        }
        if (port == 0) port = bound_port(fd);
        ws[i].id = i;
        if (worker_start(&ws[i], &cfg, fd, cert, key, &err)) {
            fprintf(stderr, "tollgate: %s\n", err.msg);
            close(fd);
            auth_ctx_free(ws[i].auth);
                goto out_stop;
        }
        started++;
    }
    if (pipe(stop_pipe)) goto out_stop;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    for (int i = 0; i < nw; i++) pthread_create(&tids[i], NULL, worker_main, &ws[i]);
    fprintf(stderr, "tollgate: serving %s://%s:%d with %d threads\n",
            cert ? "https" : "http", cfg.listen, port, nw);
    fflush(stderr);

    for (;;) {
        char c;
        ssize_t n = read(stop_pipe[0], &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n == 1 && c == 'h' && !stop_requested) {
            reload_keys(&ko, &keys, &retired);
            continue;
        }
        break;
    }
    fprintf(stderr, "tollgate: shutting down\n");
    for (int i = 0; i < nw; i++) {
        uint64_t one = 1;
        ssize_t r = write(ws[i].wakefd, &one, sizeof one);
        (void)r;
    }
    for (int i = 0; i < nw; i++) pthread_join(tids[i], NULL);
    meter_totals mt;
    meter_snapshot(&mt);
    fprintf(stderr, "tollgate: served %llu requests, %llu commands\n",
            (unsigned long long)mt.requests, (unsigned long long)mt.commands);
    rc = 0;

out_stop:
    for (int i = 0; i < started; i++) {
        /* Keep-alive requests served in a worker's last ticks may have
         * opened a backend after its drain: answer and free them (their
         * requests complete, and are metered, in MHD_stop_daemon). */
        for (be_slot *s = ws[i].backends, *next; s; s = next) {
            next = s->next;
            backend_free(s->b);
            free(s);
        }
        ws[i].backends = NULL;
        MHD_stop_daemon(ws[i].mhd);
        close(ws[i].listen_fd);
        close(ws[i].epfd);
        close(ws[i].wakefd);
        auth_ctx_free(ws[i].auth);
        request_pool_free(&ws[i]);
    }
    free(ws);
    free(tids);
    backend_setup_clear();
    meter_stop();
    if (cfg.metering) {
        meter_totals tot;
        char line[512];
        meter_snapshot(&tot);
        meter_format_totals(&tot, line, sizeof line);
        fprintf(stderr, "tollgate: %s\n", line);
        if (tot.lost) rc = 1;
    }
out_free_tls:
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
