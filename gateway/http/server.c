/* server.c - see server.h: worker threads and their event loops. */
#include "gateway/http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/clock.h"
#include "common/mem.h"
#include "gateway/http/conn.h"
#include "gateway/http/request.h"
#include "gateway/http/stream.h"
#include "gateway/http/tls.h"
#include "gateway/http/worker.h"

struct http_server {
    tg_config cfg;              /* threads resolved */
    const tg_config *published; /* http_server_configure's, read by the
                                   workers with __atomic; NULL: cfg */
    bool tls;
    http_app app;
    int port;
    int nworkers;               /* started daemons */
    http_worker *ws;
    http_peers *peers;          /* connections per client address */
    pthread_t *tids;
    int nthreads;               /* running threads */
};


/* ==== The event loop ==== */

static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s); /* arguments are percent-decoded per segment by the handlers */
}

static void on_mhd(ev_watch *self, uint32_t events)
{
    http_worker *w = (http_worker *)((char *)self - offsetof(http_worker, mhd_watch));
    (void)events;
    w->mhd_ready = true;
}

static void on_wake(ev_watch *self, uint32_t events)
{
    http_worker *w = (http_worker *)((char *)self - offsetof(http_worker, wake_watch));
    uint64_t v;
    (void)events;
    if (read(w->wakefd, &v, sizeof v) < 0) { /* spurious */ }
}

static void worker_tick(http_worker *w, bool run_mhd)
{
    const http_app *a = w->app;
    uint64_t now = clock_mono_ms();
    conn_check_deadlines(w, now);
    if (a->check_timeouts) a->check_timeouts(w->state, now);
    if (run_mhd || w->answered) {
        w->progress = w->answered; /* sending answers is progress too */
        w->answered = false;
        MHD_run(w->mhd);
        w->mhd_only_waiting = !w->progress;
    }
    if (a->flush) a->flush(w->state);
}

/* How long the loop may sleep. libmicrohttpd asks for 0 (run me again at
 * once) while any request waits without a response, since those
 * connections stay in its ready list; obeying that would spin the loop
 * until the answer comes (measured: 7 epoll_wait calls per request, a
 * third of the throughput). So while requests wait and the last MHD_run
 * did nothing but poll them, its 0 is ignored: the answer to a waiting
 * request wakes the loop (its backend's socket), and that run serves
 * whatever else libmicrohttpd had ready. */
static int worker_timeout(http_worker *w)
{
    MHD_UNSIGNED_LONG_LONG mt;
    uint64_t t = UINT64_MAX;
    bool spin = w->waiting > 0 && w->mhd_only_waiting;
    if (MHD_get_timeout(w->mhd, &mt) == MHD_YES && !(mt == 0 && spin)) t = mt;
    if (w->app->deadline) {
        uint64_t d = w->app->deadline(w->state), now = clock_mono_ms();
        if (d != UINT64_MAX) {
            uint64_t left = d > now ? d - now : 0;
            if (left < t) t = left;
        }
    }
    if (w->answered) t = 0;
    /* Head deadlines are checked at least every 200 ms, drains each 50. */
    uint64_t most = w->draining ? 50 : w->nconns ? 200 : 1000;
    return t > most ? (int)most : (int)t;
}

/* After a burst (its requests once held TRIM_AFTER_BYTES or more), a
 * worker that has drained to TRIM_IDLE_BYTES hands the allocator's free
 * memory back to the system: glibc keeps freed heap pages (and, after a
 * large free, raises its mmap threshold so later large buffers come from
 * the heap too), so without this RSS stays at the burst's peak for good.
 * malloc_trim walks every arena's free lists; it runs once per burst, not
 * per request. */
#define TRIM_AFTER_BYTES (32u << 20)
#define TRIM_IDLE_BYTES (4u << 20)

static void worker_trim(http_worker *w)
{
    if (w->held_peak < TRIM_AFTER_BYTES || w->held > TRIM_IDLE_BYTES) return;
    malloc_trim(0);
    w->held_peak = w->held;
}

/* Takes the settings http_server_configure published last, if they are
 * new: from this loop turn on, every request of this worker reads them
 * (through w->cfg, which points at the worker's own copy). */
static void worker_take_config(http_worker *w)
{
    const tg_config *p = __atomic_load_n(w->published, __ATOMIC_ACQUIRE);
    if (!p || p == w->seen) return;
    long threads = w->live.threads;
    w->live = *p;
    w->live.threads = threads;   /* as resolved at start */
    w->seen = p;
}

/* Shutdown, first turn: libmicrohttpd stops accepting; connections the
 * kernel had already queued on the listening socket are taken in and
 * served (closing a listening socket resets its queue: a client that had
 * connected, and perhaps sent its request, would get a reset); then the
 * socket is closed, so new connections are refused, not left waiting. */
static void worker_stop_accepting(http_worker *w)
{
    MHD_quiesce_daemon(w->mhd);
    if (w->listen_fd < 0) return;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(w->listen_fd, (struct sockaddr *)&ss, &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        /* On failure libmicrohttpd has closed the socket itself. */
        (void)MHD_add_connection(w->mhd, fd, (struct sockaddr *)&ss, len);
    }
    close(w->listen_fd);
    w->listen_fd = -1;
}

/* How long, once draining, a kept-alive connection waiting for its next
 * request stays open: a client busy on it sends that request within this
 * time and gets it answered (with Connection: close) instead of racing
 * the close; one that stays quiet is closed then. */
#define DRAIN_IDLE_MS 1000

static void *worker_main(void *arg)
{
    http_worker *w = arg;
    struct epoll_event evs[128];
    uint64_t drain_deadline = 0, idle_close_at = 0;
    for (;;) {
        worker_take_config(w);
        int n = epoll_wait(w->epfd, evs, 128, worker_timeout(w));
        w->mhd_ready = n == 0;
        for (int i = 0; i < n; i++) {
            ev_watch *ew = evs[i].data.ptr;
            ew->on_event(ew, evs[i].events);
        }
        worker_tick(w, w->mhd_ready);
        worker_trim(w);
        if (!w->draining && __atomic_load_n(&w->stopping, __ATOMIC_ACQUIRE)) {
            w->draining = true;
            uint64_t now = clock_mono_ms();
            drain_deadline = now + (uint64_t)w->drain_ms;
            idle_close_at = now + (w->drain_ms < DRAIN_IDLE_MS ? (uint64_t)w->drain_ms
                                                               : DRAIN_IDLE_MS);
            worker_stop_accepting(w);
            worker_tick(w, true);   /* reads what the taken-in connections sent */
            stream_drain_all(w);   /* streams end cleanly, connections close */
        }
        /* Draining: every answer closes its connection; after
         * DRAIN_IDLE_MS no connection is left waiting for a next request
         * (one with unread bytes is read and answered first). */
        if (w->draining && clock_mono_ms() >= idle_close_at) conn_close_idle(w);
        if (w->draining && ((w->waiting == 0 && w->nconns == 0) ||
                            clock_mono_ms() >= drain_deadline))
            break;
    }
    /* Whatever still waits gets its answer (503); let it be written. */
    if (w->app->worker_drain) w->app->worker_drain(w->state);
    uint64_t until = clock_mono_ms() + 200;
    while (clock_mono_ms() < until) {
        worker_tick(w, true);
        usleep(2000);
    }
    return NULL;
}

/* ==== Start-up ==== */

/* A new connection: refused while its address has its cap open. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
    http_worker *w = cls;
    (void)len;
    return peers_admit(w->peers, addr) ? MHD_YES : MHD_NO;
}

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

static int worker_start(http_worker *w, const http_server *s, int fd, tg_err *err)
{
    w->live = s->cfg;
    w->published = &s->published;
    const tg_config *cfg = w->cfg = &w->live;
    w->app = &s->app;
    w->listen_fd = fd;
    w->peers = s->peers;
    w->mhd_watch.on_event = on_mhd;
    w->wake_watch.on_event = on_wake;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->epfd < 0 || w->wakefd < 0) return tg_fail(err, 500, "epoll: %s", strerror(errno));
    w->state = s->app.worker_new(s->app.ctx, cfg, w->epfd, err);
    if (!w->state) return -1;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
    if (s->tls) flags |= MHD_USE_TLS;
    long per = cfg->max_connections / (cfg->threads ? cfg->threads : 1);
    /* The certificate is asked for at each handshake (tls.h), so SIGHUP
     * can replace it without touching the daemons. */
    struct MHD_OptionItem tls_opts[] = {
        {s->tls ? MHD_OPTION_HTTPS_CERT_CALLBACK : MHD_OPTION_END, 0, (void *)tls_retrieve},
        {MHD_OPTION_END, 0, NULL},
    };

    w->mhd = MHD_start_daemon(
        flags, 0, accept_policy, w, request_access, w,
        MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, w,
        MHD_OPTION_NOTIFY_CONNECTION, conn_notify, w,
        MHD_OPTION_URI_LOG_CALLBACK, conn_request_line, w,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->idle_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(per > 1 ? per : 1),
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
        /* Per connection, touched whole on every request: it bounds memory
         * per idle connection and the size of a request's headers. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->connection_memory_kb * 1024,
        MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (!w->mhd) return tg_fail(err, 500, "cannot start the HTTP server%s",
                                s->tls ? " (check the TLS certificate and key)" : "");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &w->mhd_watch};
    epoll_ctl(w->epfd, EPOLL_CTL_ADD, info->epoll_fd, &e);
    struct epoll_event we = {.events = EPOLLIN, .data.ptr = &w->wake_watch};
    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &we);
    return 0;
}

/* Releases worker w (any stage of worker_start). */
static void worker_free(http_worker *w)
{
    /* Keep-alive requests served in a worker's last ticks may have opened
     * backends after its drain: answer them (their requests complete, and
     * are metered, in MHD_stop_daemon). */
    if (w->state && w->app->worker_drain) w->app->worker_drain(w->state);
    /* A daemon not quiesced owns its listening socket and closes it. */
    if (w->mhd) MHD_stop_daemon(w->mhd);
    else if (w->listen_fd >= 0) close(w->listen_fd);
    if (w->state && w->app->worker_free) w->app->worker_free(w->state);
    if (w->epfd >= 0) close(w->epfd);
    if (w->wakefd >= 0) close(w->wakefd);
    request_pool_free(w);
}

http_server *http_server_bind(const tg_config *cfg, tg_err *err)
{
    http_server *s = xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    if (s->cfg.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->cfg.threads = n > 0 ? n : 1;
    }
    int nw = (int)s->cfg.threads;
    s->ws = xcalloc((size_t)nw, sizeof *s->ws);
    s->tids = xcalloc((size_t)nw, sizeof *s->tids);
    s->port = (int)s->cfg.port;
    for (int i = 0; i < nw; i++) {
        http_worker *w = &s->ws[i];
        w->id = i;
        w->epfd = w->wakefd = -1;
        w->listen_fd = listen_socket(s->cfg.listen, s->port, err);
        if (w->listen_fd < 0) {
            http_server_stop(s, 0);
            return NULL;
        }
        s->nworkers++;
        if (s->port == 0) s->port = bound_port(w->listen_fd);
    }
    return s;
}

int http_server_start(http_server *s, const tg_config *cfg, const http_app *app,
                      const char *cert, const char *key, tg_err *err)
{
    long threads = s->cfg.threads;
    s->cfg = *cfg;
    s->cfg.threads = threads;
    s->app = *app;
    if (cert) {
        if (tls_install(cert, key, err)) return -1;
        s->tls = true;
    }
    s->peers = peers_new(s->cfg.max_connections_per_ip, s->cfg.anon_rate_per_ip,
                         s->cfg.anon_burst_per_ip);
    for (int i = 0; i < s->nworkers; i++)
        if (worker_start(&s->ws[i], s, s->ws[i].listen_fd, err)) return -1;
    return 0;
}

http_server *http_server_new(const tg_config *cfg, const http_app *app,
                             const char *cert, const char *key, tg_err *err)
{
    http_server *s = http_server_bind(cfg, err);
    if (s && http_server_start(s, cfg, app, cert, key, err)) {
        http_server_stop(s, 0);
        s = NULL;
    }
    return s;
}

void http_server_configure(http_server *s, const tg_config *cfg)
{
    __atomic_store_n(&s->published, cfg, __ATOMIC_RELEASE);
    for (int i = 0; i < s->nthreads; i++) {
        uint64_t one = 1;
        ssize_t r = write(s->ws[i].wakefd, &one, sizeof one);
        (void)r;
    }
}

int http_server_set_tls(http_server *s, const char *cert, const char *key, tg_err *err)
{
    if (!s->tls) return tg_fail(err, 400, "tls: serving plain HTTP (a restart turns HTTPS on)");
    return tls_install(cert, key, err);
}

bool http_server_tls(const http_server *s)
{
    return s->tls;
}

int http_server_port(const http_server *s)
{
    return s->port;
}

int http_server_threads(const http_server *s)
{
    return s->nworkers;
}

int http_server_run(http_server *s, tg_err *err)
{
    for (int i = 0; i < s->nworkers; i++) {
        int e = pthread_create(&s->tids[i], NULL, worker_main, &s->ws[i]);
        if (e) return tg_fail(err, 500, "pthread_create: %s", strerror(e));
        s->nthreads++;
    }
    return 0;
}

void http_server_stop(http_server *s, int drain_ms)
{
    if (!s) return;
    for (int i = 0; i < s->nthreads; i++) {
        uint64_t one = 1;
        s->ws[i].drain_ms = drain_ms;
        __atomic_store_n(&s->ws[i].stopping, true, __ATOMIC_RELEASE);
        ssize_t r = write(s->ws[i].wakefd, &one, sizeof one);
        (void)r;
    }
    for (int i = 0; i < s->nthreads; i++) pthread_join(s->tids[i], NULL);
    for (int i = 0; i < s->nworkers; i++) worker_free(&s->ws[i]);
    free(s->ws);
    free(s->tids);
    peers_free(s->peers);
    if (s->tls) tls_clear();
    free(s);
}
