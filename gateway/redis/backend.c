/* backend.c - see backend.h: a pipelined non-blocking Redis connection. */
#include "gateway/redis/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/metrics.h"
#include "common/redact.h"
#include "gateway/protocol/reply.h"
#include "gateway/redis/control.h"
#include "gateway/redis/nbconn.h"
#include "gateway/redis/setup.h"
#include "gateway/redis/redis_url.h"
#include "gateway/redis/resp_scan.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000

typedef enum { ST_DOWN, ST_CONNECTING, ST_HANDSHAKE, ST_READY } conn_state;

/* One entry per run of replies: an operation whose commands switch ACL
 * users is several slices of its reply array, with the AUTH replies in
 * between as internal entries; only its last slice has done. */
typedef struct op {
    void *ctx;
    redisReply **replies;     /* NULL once cancelled, and for internal */
    int n, got;
    backend_done_fn done;
    uint64_t deadline;
    bool internal;            /* our AUTH: checked, then dropped */
    bool overdue;             /* answered with a timeout, reply awaited */
    uint64_t bytes;           /* of its request's replies so far
                                 (max_reply_bytes), carried slice to slice */
    bool transaction;         /* MULTI ... EXEC: not capped together */
    uint64_t first_byte;      /* b->written before its first byte was: once
                                 b->written passes it, Redis has (some of)
                                 its commands */
} op;

struct backend {
    ev_watch watch;           /* first: the epoll data points here */
    char *url;
    int db;
    char *acl_pass;           /* NULL: no switch to the restricted user */
    char acl_user[BACKEND_USER_MAX]; /* the restricted user of logical DB db */
    const backend_info *bi;
    char user[BACKEND_USER_MAX]; /* database id whose user the connection
                                    runs as; "" for the restricted user */
    redis_url u;
    backend_opts o;
    int fd;
    conn_state st;
    uint32_t ev;              /* events registered with epoll */
    buf hbuf;                 /* handshake commands */
    size_t hpos;
    int hs_pending;           /* handshake replies still expected */
    buf obuf;                 /* user commands */
    size_t opos;
    uint64_t written;         /* bytes of obuf ever sent */
    redisReader *reader;
    resp_scan scan;           /* reply boundaries, ahead of reader */
    bool dropping;            /* the reply in progress is being dropped */
    op *ops;                  /* ring of pending operations */
    size_t cap, head, count;
    uint64_t conn_deadline;
    uint64_t retry_at;
    int backoff_ms;
    bool connected_before;    /* a connection was started before (reconnects) */
    char last_error[160];
};

static void on_event(ev_watch *w, uint32_t events);


backend *backend_new(const char *url, int db_index, const backend_info *bi,
                     const backend_opts *o, tg_err *err)
{
    backend *b = xcalloc(1, sizeof *b);
    if (redis_url_parse(url, &b->u, err)) {
        free(b);
        return NULL;
    }
    b->watch.on_event = on_event;
    b->url = xstrdup(url);
    b->db = db_index;
    b->bi = bi;
    if (bi && bi->acl_pass[0]) {
        char pass[40];
        backend_acl_user(url, db_index, b->acl_user, pass);
        b->acl_pass = xstrdup(pass);
    }
    b->o = *o;
    b->fd = -1;
    buf_init(&b->hbuf);
    buf_init(&b->obuf);
    b->cap = 64;
    b->ops = xcalloc(b->cap, sizeof *b->ops);
    return b;
}

const char *backend_url(const backend *b)
{
    return b->url;
}

int backend_db(const backend *b)
{
    return b->db;
}

int backend_pending(const backend *b)
{
    return (int)b->count;
}

bool backend_has_output(const backend *b)
{
    return (b->st == ST_READY && b->obuf.len > b->opos) ||
           (b->st == ST_HANDSHAKE && b->hbuf.len > b->hpos);
}

/* ==== Encoding ==== */

static void put_header(buf *out, char c, size_t n)
{
    buf_putc(out, c);
    buf_put_i64(out, (long long)n);
    buf_append(out, "\r\n", 2);
}

static void put_cmd(buf *out, int argc, char *const *argv, const size_t *lens)
{
    put_header(out, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        put_header(out, '$', lens[i]);
        buf_append(out, argv[i], lens[i]);
        buf_append(out, "\r\n", 2);
    }
}

static void put_words(buf *out, int argc, const char **words)
{
    size_t lens[64];
    for (int i = 0; i < argc; i++) lens[i] = strlen(words[i]);
    put_cmd(out, argc, (char *const *)words, lens);
}

/* ==== Failure ==== */

static void set_events(backend *b, uint32_t ev)
{
    if (b->fd < 0 || ev == b->ev) return;
    struct epoll_event e = {.events = ev, .data.ptr = &b->watch};
    epoll_ctl(b->o.epfd, b->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, b->fd, &e);
    b->ev = ev;
}

static void close_conn(backend *b)
{
    if (b->fd >= 0) {
        epoll_ctl(b->o.epfd, EPOLL_CTL_DEL, b->fd, NULL);
        close(b->fd);
        metrics_add(MS_BACKEND_CONNECTIONS, -1);
    }
    b->fd = -1;
    b->ev = 0;
    b->st = ST_DOWN;
    if (b->reader) redisReaderFree(b->reader);
    b->reader = NULL;
    resp_scan_free(&b->scan);
    b->dropping = false;
    buf_reset(&b->hbuf);
    buf_reset(&b->obuf);
    b->hpos = b->opos = 0;
    b->hs_pending = 0;
    b->user[0] = '\0'; /* a new connection starts as the restricted user */
}

/* Fails every pending operation and drops the connection. */
static void fail_all(backend *b, const char *why)
{
    tg_err e;
    tg_fail(&e, 503, "ERR backend unavailable: %s", why);
    if (b->fd >= 0 || b->count) {
        bool closing = !strcmp(why, "shutting down");
        if (!closing) metrics_add(MS_BACKEND_ERRORS, 1);
        if (!closing && log_enabled(LOG_WARN)) {
            char shown[256];
            log_at(LOG_WARN, "backend %s db %d: %s (%zu operation(s) failed)",
                   redact_url(b->url, shown, sizeof shown), b->db, why, b->count);
        }
    }
    snprintf(b->last_error, sizeof b->last_error, "%s", why);
    close_conn(b);
    /* A lost connection may be a restarted Redis, which has forgotten the
     * databases' users: have them made sure of again. */
    if (b->bi) backend_users_stale(b->bi);
    b->backoff_ms = b->backoff_ms ? b->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (b->backoff_ms > BACKOFF_MAX_MS) b->backoff_ms = BACKOFF_MAX_MS;
    b->retry_at = clock_mono_ms() + (uint64_t)b->backoff_ms;
    /* Callbacks may submit again; take the ring out of the way first. */
    while (b->count > 0) {
        op o = b->ops[b->head];
        b->head = (b->head + 1) % b->cap;
        b->count--;
        if (o.replies) {
            for (int i = 0; i < o.got; i++) {
                freeReplyObject(o.replies[i]);
                o.replies[i] = NULL;
            }
            if (o.done) o.done(o.ctx, &e, b->written > o.first_byte);
        }
    }
}

/* ==== Connecting ==== */

static void on_connected(backend *b)
{
    b->reader = redisReaderCreate();
    resp_scan_init(&b->scan, b->o.max_reply_bytes);
    if (b->u.password[0]) {
        const char *auth[] = {"AUTH", b->u.user, b->u.password};
        if (b->u.user[0]) put_words(&b->hbuf, 3, auth);
        else {
            const char *auth1[] = {"AUTH", b->u.password};
            put_words(&b->hbuf, 2, auth1);
        }
        b->hs_pending++;
    }
    if (b->acl_pass) { /* a restarted Redis has forgotten the users */
        const char *argv[64];
        char pw[48];
        backend_acl_bufs bufs;
        put_words(&b->hbuf, backend_acl_setuser_argv(b->acl_user, b->acl_pass, b->db,
                                                    b->bi->caps.restore_checked, &bufs,
                                                    argv, 64), argv);
        /* No rights; its password reset to the one every node derives. */
        const char *nobody[] = {"ACL", "SETUSER", BACKEND_NOBODY_USER, "on", "nocommands",
                                "resetkeys", "resetchannels", "clearselectors", "resetpass",
                                pw};
        snprintf(pw, sizeof pw, ">%s", b->bi->nobody_pass);
        put_words(&b->hbuf, 10, nobody);
        b->hs_pending += 2;
    }
    if (b->db != 0) {
        char num[16];
        snprintf(num, sizeof num, "%d", b->db);
        const char *sel[] = {"SELECT", num};
        put_words(&b->hbuf, 2, sel);
        b->hs_pending++;
    }
    if (b->acl_pass) { /* last: SELECT is not allowed to this user */
        const char *auth[] = {"AUTH", b->acl_user, b->acl_pass};
        put_words(&b->hbuf, 3, auth);
        b->hs_pending++;
    }
    b->st = b->hs_pending ? ST_HANDSHAKE : ST_READY;
    if (b->st == ST_READY) b->backoff_ms = 0;
    set_events(b, EPOLLIN | EPOLLOUT);
}

static int start_connect(backend *b, tg_err *err)
{
    nbconn_addr a;
    b->fd = nbconn_socket(&b->u, &a, err);
    if (b->fd < 0) return -1;
    b->conn_deadline = clock_mono_ms() + (uint64_t)b->o.connect_timeout_ms;
    metrics_add(MS_BACKEND_CONNECTS, 1);
    if (b->connected_before) metrics_add(MS_BACKEND_RECONNECTS, 1);
    b->connected_before = true;
    metrics_add(MS_BACKEND_CONNECTIONS, 1);
    int rc = nbconn_start(b->fd, &a);
    if (rc == 0) {
        on_connected(b);
        return 0;
    }
    if (rc < 0) {
        char why[128];
        snprintf(why, sizeof why, "%s", strerror(errno));
        close(b->fd);
        metrics_add(MS_BACKEND_CONNECTIONS, -1);
        metrics_add(MS_BACKEND_ERRORS, 1);
        b->fd = -1;
        b->backoff_ms = b->backoff_ms ? b->backoff_ms * 2 : BACKOFF_MIN_MS;
        if (b->backoff_ms > BACKOFF_MAX_MS) b->backoff_ms = BACKOFF_MAX_MS;
        b->retry_at = clock_mono_ms() + (uint64_t)b->backoff_ms;
        snprintf(b->last_error, sizeof b->last_error, "%s", why);
        return tg_fail(err, 503, "ERR backend unavailable: %s", why);
    }
    b->st = ST_CONNECTING;
    set_events(b, EPOLLOUT);
    return 0;
}

/* ==== Submitting ==== */

static void push_op(backend *b, op o)
{
    if (b->count == b->cap) {
        op *n = xcalloc(b->cap * 2, sizeof *n);
        for (size_t i = 0; i < b->count; i++) n[i] = b->ops[(b->head + i) % b->cap];
        free(b->ops);
        b->ops = n;
        b->head = 0;
        b->cap *= 2;
    }
    b->ops[(b->head + b->count) % b->cap] = o;
    b->count++;
}

/* b->user while the connection runs as the no-rights user (no database
 * id starts with '-'). */
#define AS_NOBODY "-"

static void put_auth_words(backend *b, const char *user, const char *pass, uint64_t deadline)
{
    const char *auth[] = {"AUTH", user, pass};
    put_words(&b->obuf, 3, auth);
    op o = {.n = 1, .deadline = deadline, .internal = true};
    push_op(b, o);
}

/* Queues the switch to database id's user ("" for the restricted user),
 * with internal entries for the AUTH replies. An AUTH that fails leaves a
 * connection as whom it was, and the commands behind it already in the
 * pipeline run so: a switch to a database's user therefore passes through
 * the no-rights user first, so a refused AUTH (a user deleted, a restarted
 * Redis) fails closed - NOPERM - instead of running with another
 * database's rights or the gateway's. A switch to the restricted user
 * needs no such step: its commands are confined already, and fail under
 * any database's user. */
/* b->user while the connection runs as the URL's own user (after
 * backend_ensure_db_user, or for a command with as_url); like AS_NOBODY,
 * no database id looks so. */
#define AS_URL_USER "-url"

/* Queues AUTH as the URL's user; a URL without a password runs as
 * `default`, which then has no password either (any one works). */
static void put_url_auth(backend *b, uint64_t deadline)
{
    put_auth_words(b, b->u.user[0] ? b->u.user : "default",
                   b->u.password[0] ? b->u.password : "nopass", deadline);
}

static void put_switch(backend *b, const char *id, uint64_t deadline)
{
    if (!strcmp(id, AS_URL_USER)) {
        put_url_auth(b, deadline);
    } else if (*id) {
        char name[BACKEND_USER_MAX], pass[40];
        if (strcmp(b->user, AS_NOBODY))
            put_auth_words(b, BACKEND_NOBODY_USER, b->bi->nobody_pass, deadline);
        backend_db_user(b->url, id, name, sizeof name, pass);
        put_auth_words(b, name, pass, deadline);
    } else {
        put_auth_words(b, b->acl_user, b->acl_pass, deadline);
    }
    snprintf(b->user, sizeof b->user, "%s", id);
}

/* A connection that is down reconnects, unless it is backing off. */
static int ensure_connecting(backend *b, tg_err *err)
{
    if (b->st != ST_DOWN) return 0;
    if (clock_mono_ms() < b->retry_at)
        return tg_fail(err, 503, "ERR backend unavailable: %s", b->last_error);
    return start_connect(b, err);
}

int backend_ensure_db_user(backend *b, const char *database_id, const char *prefix,
                           tg_err *err)
{
    backend_setuser su;
    if (!b->acl_pass)
        return tg_fail(err, 503, "ERR shared databases need ACL users, which this "
                       "backend refused");
    if (backend_db_user_setuser(b->url, database_id, prefix, b->bi->caps.restore_checked,
                                &su, err) ||
        ensure_connecting(b, err))
        return -1;
    uint64_t deadline = clock_mono_ms() + (uint64_t)b->o.command_timeout_ms;
    /* Only the URL's user may create users. */
    put_url_auth(b, deadline);
    put_cmd(&b->obuf, su.argc, (char **)su.argv, su.lens);
    op o = {.n = 1, .deadline = deadline, .internal = true};
    push_op(b, o);
    /* The next switch passes through the no-rights user, as from any
     * other user: a refused AUTH still fails closed. */
    snprintf(b->user, sizeof b->user, "%s", AS_URL_USER);
    return 0;
}

int backend_submit(backend *b, const backend_cmd *cmds, int n, bool transaction,
                   const char *db_user, redisReply **replies, backend_done_fn done,
                   void *ctx, tg_err *err)
{
    if (db_user && !b->acl_pass)
        return tg_fail(err, 503, "ERR shared databases need ACL users, which this "
                       "backend refused");
    if (ensure_connecting(b, err)) return -1;
    static const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    uint64_t deadline = clock_mono_ms() + (uint64_t)b->o.command_timeout_ms;
    op o = {.ctx = ctx, .replies = replies, .deadline = deadline,
            .first_byte = b->written + (b->obuf.len - b->opos)};
    for (int i = 0; i < n; i++) {
        /* Without ACL users the connection runs as the URL's user already. */
        const char *want = cmds[i].as_url && b->acl_pass    ? AS_URL_USER
                           : db_user && !cmds[i].as_gateway ? db_user
                                                            : "";
        if (strcmp(want, b->user)) { /* switch users: close the slice so far */
            if (o.n) {
                push_op(b, o);
                o.replies += o.n;
                o.n = 0;
            }
            put_switch(b, want, deadline);
        }
        if (transaction && i == 0) {
            put_words(&b->obuf, 1, multi);
            o.n++;
        }
        put_cmd(&b->obuf, cmds[i].cmd.argc, cmds[i].cmd.argv, cmds[i].cmd.lens);
        o.n++;
    }
    if (transaction) {
        put_words(&b->obuf, 1, exec);
        o.n++;
    }
    o.done = done;
    o.transaction = transaction;
    push_op(b, o);
    return 0;
}

void backend_cancel(backend *b, void *ctx)
{
    for (size_t i = 0; i < b->count; i++) {
        op *o = &b->ops[(b->head + i) % b->cap];
        if (o->ctx != ctx || !o->replies) continue;
        for (int k = 0; k < o->got; k++) {
            freeReplyObject(o->replies[k]);
            o->replies[k] = NULL;
        }
        o->replies = NULL;
        o->done = NULL;
    }
}

/* ==== I/O ==== */

/* A reply to one of our own commands (handshake, AUTH): an error fails
 * the connection, saying what was refused. Frees r; false on error. */
static bool own_reply_ok(backend *b, redisReply *r, const char *what)
{
    bool ok = r->type != REDIS_REPLY_ERROR;
    char why[160];
    if (!ok) snprintf(why, sizeof why, "%s refused: %.100s", what, r->str);
    freeReplyObject(r);
    if (!ok) fail_all(b, why);
    return ok;
}

static void on_reply(backend *b, redisReply *r)
{
    if (b->hs_pending > 0) {
        if (!own_reply_ok(b, r, "handshake")) return;
        if (--b->hs_pending == 0) {
            b->st = ST_READY;
            b->backoff_ms = 0;
        }
        return;
    }
    if (b->count == 0) {
        freeReplyObject(r);
        fail_all(b, "reply without a request");
        return;
    }
    op *o = &b->ops[b->head];
    if (o->internal) {
        /* A refused AUTH (the user missing after a Redis restart, another
         * password): the commands queued behind it ran as someone else,
         * so nothing on this connection stands. */
        if (!own_reply_ok(b, r, "database user")) {
            /* Not an outage: reconnect at once (the user is made sure of
             * again before the next submission, backend_users_stale). */
            b->backoff_ms = 0;
            b->retry_at = 0;
            return;
        }
        b->head = (b->head + 1) % b->cap;
        b->count--;
        return;
    }
    if (r->type == REDIS_REPLY_ERROR && r->len >= 4 && !strncmp(r->str, "BUSY", 4) &&
        (r->len == 4 || r->str[4] == ' '))
        control_busy(b->url); /* Redis is stuck in a script: have it killed */
    if (o->replies) o->replies[o->got] = r;
    else freeReplyObject(r);
    if (++o->got < o->n) return;
    op done = *o;
    b->head = (b->head + 1) % b->cap;
    b->count--;
    if (!done.done && done.replies) /* a slice: its request's byte count goes on */
        for (size_t i = 0; i < b->count; i++) {
            op *next = &b->ops[(b->head + i) % b->cap];
            if (!next->internal && next->ctx == done.ctx) {
                next->bytes += done.bytes;
                break;
            }
        }
    if (done.replies && done.done) done.done(done.ctx, NULL, true);
}

/* An error reply of our own, as hiredis would have built it. */
static redisReply *error_reply(const char *msg)
{
    char line[200];
    int n = snprintf(line, sizeof line, "-%.190s\r\n", msg); /* always whole */
    return reply_from_resp(line, (size_t)n);
}

/* Takes bytes off the wire: the scanner finds each reply's end first, so a
 * reply hiredis cannot read (too deep) or must not hold (too large) is
 * dropped as it arrives - what hiredis holds of it is discarded - and its
 * command answers an error; the connection and everyone else's replies go
 * on. false when the connection failed. */
static bool take_bytes(backend *b, const char *p, size_t n)
{
    while (n > 0) {
        size_t used;
        resp_step st = resp_scan_feed(&b->scan, p, n, &used);
        if (st == RESP_BROKEN) {
            fail_all(b, "protocol error");
            return false;
        }
        if (resp_scan_rejected(&b->scan) && !b->dropping) {
            redisReaderFree(b->reader);
            b->reader = redisReaderCreate();
            b->dropping = true;
        }
        if (!b->dropping && redisReaderFeed(b->reader, p, used) != REDIS_OK) {
            fail_all(b, "protocol error");
            return false;
        }
        p += used;
        n -= used;
        if (st != RESP_DONE) continue;
        void *r = NULL;
        if (b->dropping) {
            char msg[160];
            if (b->scan.too_big)
                snprintf(msg, sizeof msg, "ERR reply too large: over max_reply_bytes "
                         "(%llu bytes); the command ran, its reply is not sent",
                         (unsigned long long)b->o.max_reply_bytes);
            else
                snprintf(msg, sizeof msg, "ERR reply nested deeper than %d levels, which "
                         "the gateway cannot read; the command ran, its reply is not sent",
                         RESP_SCAN_MAX_DEPTH);
            r = error_reply(msg);
            b->dropping = false;
        } else if (redisReaderGetReply(b->reader, &r) != REDIS_OK || !r) {
            fail_all(b, "protocol error");
            return false;
        } else if (b->hs_pending == 0 && b->count > 0 && !b->ops[b->head].internal &&
                   !b->ops[b->head].transaction && b->o.max_reply_bytes &&
                   (b->ops[b->head].bytes += b->scan.last_bytes) > b->o.max_reply_bytes) {
            /* Many replies under the cap still add up: the cap holds for
             * one request's replies together (a transaction's answer is
             * its EXEC reply, capped alone). */
            freeReplyObject(r);
            r = error_reply("ERR replies too large: this request's replies together are "
                            "over max_reply_bytes; the command ran, its reply is not sent");
        }
        conn_state before = b->st;
        on_reply(b, r);
        if (b->st == ST_DOWN) return false;
        if (before == ST_HANDSHAKE && b->st == ST_READY) backend_flush(b);
    }
    return true;
}

static void do_read(backend *b)
{
    char tmp[65536];
    for (;;) {
        ssize_t r = read(b->fd, tmp, sizeof tmp);
        if (r > 0) {
            if (!take_bytes(b, tmp, (size_t)r)) return;
            if ((size_t)r < sizeof tmp) break;
            continue;
        }
        if (r == 0) {
            /* An idle ready connection closed by Redis (its ACL user was
             * deleted, a client timeout, CLIENT KILL) is not an outage:
             * the next submission reconnects at once, no back-off. */
            bool idle = b->st == ST_READY && b->count == 0;
            fail_all(b, "connection closed by backend");
            if (idle) {
                b->backoff_ms = 0;
                b->retry_at = 0;
            }
            return;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        fail_all(b, strerror(errno));
        return;
    }
}

static int write_some(backend *b, buf *out, size_t *pos)
{
    while (*pos < out->len) {
        ssize_t w = send(b->fd, out->data + *pos, out->len - *pos, MSG_NOSIGNAL);
        if (w > 0) {
            *pos += (size_t)w;
            if (out == &b->obuf) b->written += (uint64_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
        fail_all(b, w < 0 ? strerror(errno) : "write failed");
        return -1;
    }
    buf_reset(out);
    *pos = 0;
    return 0;
}

void backend_flush(backend *b)
{
    int rc = 0;
    if (b->st == ST_HANDSHAKE) rc = write_some(b, &b->hbuf, &b->hpos);
    else if (b->st == ST_READY) rc = write_some(b, &b->obuf, &b->opos);
    else return;
    if (rc < 0) return;
    set_events(b, rc == 1 ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

static void on_event(ev_watch *w, uint32_t events)
{
    backend *b = (backend *)w; /* the watch is the struct's first member */
    if (b->st == ST_CONNECTING) {
        int why = 0, rc = nbconn_check(b->fd, events, &why);
        if (rc < 0) {
            fail_all(b, strerror(why));
            return;
        }
        if (rc > 0) return;
        on_connected(b);
        backend_flush(b);
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        do_read(b);
        if (b->st == ST_DOWN) return;
    }
    if (events & EPOLLOUT) backend_flush(b);
}

uint64_t backend_deadline(const backend *b)
{
    uint64_t d = UINT64_MAX;
    if (b->st == ST_CONNECTING || b->st == ST_HANDSHAKE) d = b->conn_deadline;
    if (b->count > 0 && b->ops[b->head].deadline < d) d = b->ops[b->head].deadline;
    return d;
}

/* The head operation outran the command timeout. Redis runs commands in
 * order, so everything behind it waits for it too. First its owner is
 * answered (504) and the connection kept: a script hogging Redis is
 * killed by the control thread (control.h), and the commands behind get
 * their replies. If the reply still has not come after another timeout,
 * Redis is stuck or gone: the connection is dropped and everything
 * pending fails - and the control thread is asked again, so a backend
 * left busy (the next script of a pipeline) is still killed; from then on
 * BUSY replies keep asking. */
void backend_check_timeouts(backend *b, uint64_t now)
{
    if ((b->st == ST_CONNECTING || b->st == ST_HANDSHAKE) && now >= b->conn_deadline) {
        fail_all(b, "connect timeout");
        return;
    }
    if (b->count == 0 || now < b->ops[b->head].deadline) return;
    op *head = &b->ops[b->head];
    if (head->overdue) {
        control_busy(b->url);
        fail_all(b, "command timeout");
        return;
    }
    control_busy(b->url); /* a runaway script? killed off this thread */
    head->overdue = true;
    head->deadline = now + (uint64_t)b->o.command_timeout_ms;
    void *ctx = head->ctx;
    bool sent = b->written > head->first_byte;
    if (head->internal || !head->replies) return;
    backend_done_fn done = NULL;
    for (size_t i = 0; i < b->count; i++) { /* its last slice holds done */
        op *o = &b->ops[(b->head + i) % b->cap];
        if (o->ctx == ctx && o->done) done = o->done;
    }
    backend_cancel(b, ctx);
    if (done) {
        tg_err e;
        tg_fail(&e, 504, "ERR backend command timeout");
        done(ctx, &e, sent);
    }
}

void backend_free(backend *b)
{
    if (!b) return;
    fail_all(b, "shutting down");
    buf_release(&b->hbuf);
    buf_release(&b->obuf);
    free(b->ops);
    free(b->acl_pass);
    free(b->url);
    free(b);
}
