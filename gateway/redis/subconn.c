/* subconn.c - see subconn.h: a non-blocking connection for pushed replies. */
#include "gateway/redis/subconn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/ev.h"
#include "common/mem.h"
#include "gateway/redis/nbconn.h"
#include "gateway/redis/redis_url.h"

#define RETRY_MS 200              /* after a failed connect, before another */

struct subconn {
    ev_watch watch;
    redis_url u;
    char name[64];
    int epfd, connect_timeout_ms;
    uint64_t max_reply_bytes;
    subconn_ops ops;
    void *ctx;
    int fd;
    bool connecting;              /* connect() in progress */
    uint32_t ev;
    int hs_pending;               /* handshake replies still expected */
    buf out;
    size_t opos;
    redisReader *reader;
    uint64_t conn_deadline, retry_at;
};

static void on_event(ev_watch *w, uint32_t events);

subconn *subconn_new(const char *url, const char *name, int epfd, int connect_timeout_ms,
                     uint64_t max_reply_bytes, const subconn_ops *ops, void *ctx, tg_err *err)
{
    subconn *c = xcalloc(1, sizeof *c);
    if (redis_url_parse(url, &c->u, err)) {
        free(c);
        return NULL;
    }
    c->watch.on_event = on_event;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->epfd = epfd;
    c->connect_timeout_ms = connect_timeout_ms;
    c->max_reply_bytes = max_reply_bytes ? max_reply_bytes : (64u << 20);
    c->ops = *ops;
    c->ctx = ctx;
    c->fd = -1;
    buf_init(&c->out);
    return c;
}

static void set_events(subconn *c, uint32_t ev)
{
    if (c->fd < 0 || ev == c->ev) return;
    struct epoll_event e = {.events = ev, .data.ptr = &c->watch};
    epoll_ctl(c->epfd, c->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e);
    c->ev = ev;
}

static void close_conn(subconn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->ev = 0;
    c->connecting = false;
    c->hs_pending = 0;
    buf_reset(&c->out);
    c->opos = 0;
    if (c->reader) redisReaderFree(c->reader);
    c->reader = NULL;
}

static void fail(subconn *c, const char *why)
{
    close_conn(c);
    c->retry_at = clock_mono_ms() + RETRY_MS;
    if (c->ops.on_down) c->ops.on_down(c->ctx, why);
}

void subconn_fail(subconn *c, const char *why)
{
    if (c && c->fd >= 0) fail(c, why);
}

void subconn_free(subconn *c)
{
    if (!c) return;
    close_conn(c);
    buf_release(&c->out);
    free(c);
}

bool subconn_is_up(const subconn *c)
{
    return c->fd >= 0;
}

static void put_cmd(buf *out, int argc, const char *const *argv, const size_t *lens)
{
    buf_putc(out, '*');
    buf_put_i64(out, argc);
    buf_append(out, "\r\n", 2);
    for (int i = 0; i < argc; i++) {
        size_t n = lens ? lens[i] : strlen(argv[i]);
        buf_putc(out, '$');
        buf_put_i64(out, (long long)n);
        buf_append(out, "\r\n", 2);
        buf_append(out, argv[i], n);
        buf_append(out, "\r\n", 2);
    }
}

/* The handshake goes first in the output: AUTH as the URL's user, then
 * the name. Commands queued after it are sent behind it, and a refused
 * AUTH fails the connection before any of their replies is passed on. */
static void put_handshake(subconn *c)
{
    if (c->u.password[0]) {
        const char *a2[] = {"AUTH", c->u.password}, *a3[] = {"AUTH", c->u.user, c->u.password};
        if (c->u.user[0]) put_cmd(&c->out, 3, a3, NULL);
        else put_cmd(&c->out, 2, a2, NULL);
        c->hs_pending++;
    }
    const char *nm[] = {"CLIENT", "SETNAME", c->name};
    put_cmd(&c->out, 3, nm, NULL);
    c->hs_pending++;
}

static int start_connect(subconn *c, tg_err *err)
{
    nbconn_addr a;
    if (clock_mono_ms() < c->retry_at)
        return tg_fail(err, 503, "ERR backend unavailable: reconnecting");
    c->fd = nbconn_socket(&c->u, &a, err);
    if (c->fd < 0) return -1;
    c->reader = redisReaderCreate();
    c->conn_deadline = clock_mono_ms() + (uint64_t)c->connect_timeout_ms;
    put_handshake(c);
    int rc = nbconn_start(c->fd, &a);
    if (rc == 0) {
        set_events(c, EPOLLIN | EPOLLOUT);
        return 0;
    }
    if (rc < 0) {
        int e = errno;
        close_conn(c);
        c->retry_at = clock_mono_ms() + RETRY_MS;
        return tg_fail(err, 503, "ERR backend unavailable: %s", strerror(e));
    }
    c->connecting = true;
    set_events(c, EPOLLOUT);
    return 0;
}

int subconn_connect(subconn *c, tg_err *err)
{
    return c->fd >= 0 ? 0 : start_connect(c, err);
}

int subconn_send(subconn *c, int argc, const char *const *argv, const size_t *lens,
                 tg_err *err)
{
    if (c->fd < 0 && start_connect(c, err)) return -1;
    put_cmd(&c->out, argc, argv, lens);
    return 0;
}

void subconn_flush(subconn *c)
{
    if (c->fd < 0 || c->connecting) return;
    while (c->opos < c->out.len) {
        ssize_t w = send(c->fd, c->out.data + c->opos, c->out.len - c->opos, MSG_NOSIGNAL);
        if (w > 0) {
            c->opos += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_events(c, EPOLLIN | EPOLLOUT);
            return;
        }
        fail(c, w < 0 ? strerror(errno) : "write failed");
        return;
    }
    buf_reset(&c->out);
    c->opos = 0;
    set_events(c, EPOLLIN);
}

/* Hands every complete reply on; false when the connection failed. */
static bool take_replies(subconn *c)
{
    for (;;) {
        void *rep = NULL;
        if (redisReaderGetReply(c->reader, &rep) != REDIS_OK) {
            fail(c, "protocol error");
            return false;
        }
        if (!rep) break;
        redisReply *r = rep;
        if (c->hs_pending > 0) {
            c->hs_pending--;
            bool bad = r->type == REDIS_REPLY_ERROR;
            freeReplyObject(r);
            if (bad) {
                fail(c, "handshake refused");
                return false;
            }
            continue;
        }
        c->ops.on_reply(c->ctx, r);
        freeReplyObject(r);
        if (c->fd < 0) return false;   /* the owner gave up on it */
    }
    if (c->reader->len - c->reader->pos > c->max_reply_bytes) {
        fail(c, "reply over max_reply_bytes");
        return false;
    }
    return true;
}

static void do_read(subconn *c)
{
    char tmp[65536];
    for (;;) {
        ssize_t n = read(c->fd, tmp, sizeof tmp);
        if (n > 0) {
            redisReaderFeed(c->reader, tmp, (size_t)n);
            if (!take_replies(c)) return;
            if ((size_t)n < sizeof tmp) return;
            continue;
        }
        if (n == 0) {
            fail(c, "connection closed by backend");
            return;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) fail(c, strerror(errno));
        return;
    }
}

static void on_event(ev_watch *w, uint32_t events)
{
    subconn *c = (subconn *)w;   /* the watch is the struct's first member */
    if (c->connecting) {
        int why = 0, rc = nbconn_check(c->fd, events, &why);
        if (rc < 0) {
            fail(c, strerror(why));
            return;
        }
        if (rc > 0) return;
        c->connecting = false;
        subconn_flush(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        do_read(c);
        if (c->fd < 0) return;
    }
    if (events & EPOLLOUT) subconn_flush(c);
}

uint64_t subconn_deadline(const subconn *c)
{
    return c->fd >= 0 && c->connecting ? c->conn_deadline : UINT64_MAX;
}

void subconn_check_timeouts(subconn *c, uint64_t now_ms)
{
    if (c->fd >= 0 && c->connecting && now_ms >= c->conn_deadline) fail(c, "connect timeout");
}
