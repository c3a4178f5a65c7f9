/*
 * fake_redis.h - a scripted fake Redis for the unit tests (one thread).
 *
 * Listens on 127.0.0.1 (port 0: F.port says which), accepts up to
 * FAKE_CONNS connections and reads RESP commands from them. Every command
 * is logged per connection as "user: CMD arg...\n" (the user it ran as,
 * after the AUTHs it saw). Answers: AUTH switches user (or WRONGPASS for
 * refuse_user), COMMAND serves tests/unit/fixtures/redis-7.0-command.resp,
 * CONFIG GET says sanitize-dump-payload yes, EVAL answers the CR/LF probe
 * framed, ACL/PING/SELECT OK (SELECT refused with refuse_select), SCRIPT
 * NOTBUSY; anything else is refused NOPERM as the no-rights user, else
 * answered by the script table (exact command line -> RESP bytes, HOLD: no
 * answer to this or anything after it on the connection), else "user|key"
 * as a bulk string, so a reply tells whom its command ran as. hold_all:
 * log, never answer (the test then writes to conns[i].fd itself).
 *
 * State is shared with the fake's thread: read it through the functions
 * (they lock), or set the knobs between operations.
 */
#ifndef TG_TEST_FAKE_REDIS_H
#define TG_TEST_FAKE_REDIS_H

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/mem.h"
#include "gateway/redis/setup.h"

#define FAKE_CONNS 16
#define HOLD "(hold)"   /* a script answer: this and everything after waits */

typedef struct fake_conn {
    int fd;
    buf in;
    char user[96];      /* whom the connection runs as */
    bool held;          /* answers nothing more */
    buf log;            /* "user: CMD arg...\n" per command */
} fake_conn;

typedef struct fake {
    int lfd, port, wake[2];
    pthread_t th;
    pthread_mutex_t mu;
    fake_conn conns[FAKE_CONNS];
    int nconns;
    bool stop;
    bool hold_all;              /* log, never answer (the test writes) */
    const char *refuse_user;    /* AUTH as this user: WRONGPASS */
    bool refuse_select;
    struct { const char *cmd, *reply; } script[8];
    int nscript;
    buf command_reply;          /* COMMAND: tests/unit/fixtures */
} fake;

/* One command off c->in: argc, words NUL-terminated in place. 0 if
 * incomplete, else the bytes it took. */
static size_t fake_parse(fake_conn *c, int *argc, char **argv, int cap)
{
    char *p = c->in.data, *end = p + c->in.len, *nl;
    if (c->in.len == 0 || *p != '*' || !(nl = memchr(p, '\n', (size_t)(end - p)))) return 0;
    int n = atoi(p + 1);
    p = nl + 1;
    for (int i = 0; i < n; i++) {
        if (p >= end || *p != '$' || !(nl = memchr(p, '\n', (size_t)(end - p)))) return 0;
        size_t len = (size_t)atol(p + 1);
        p = nl + 1;
        if ((size_t)(end - p) < len + 2) return 0;
        if (i < cap) argv[i] = p;
        p[len] = '\0';
        p += len + 2;
    }
    *argc = n < cap ? n : cap;
    return (size_t)(p - c->in.data);
}

/* What Redis would answer (into out), or nothing when held. Lock held. */
static void fake_answer(fake *f, fake_conn *c, int argc, char **argv, buf *out)
{
    buf_printf(&c->log, "%s:", c->user);
    for (int i = 0; i < argc; i++) buf_printf(&c->log, " %s", argv[i]);
    buf_putc(&c->log, '\n');
    char line[256] = "";
    for (int i = 0; i < argc && strlen(line) < 200; i++)
        snprintf(line + strlen(line), sizeof line - strlen(line), "%s%.100s", i ? " " : "",
                 argv[i]);
    for (int i = 0; i < f->nscript && !c->held; i++)
        if (!strcmp(line, f->script[i].cmd) && !strcmp(f->script[i].reply, HOLD)) c->held = true;
    if (c->held || f->hold_all) return;
    const char *cmd = argv[0];
    if (!strcasecmp(cmd, "AUTH")) {
        const char *user = argc == 3 ? argv[1] : "default";
        if (f->refuse_user && !strcmp(user, f->refuse_user)) {
            buf_puts(out, "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
            return;
        }
        snprintf(c->user, sizeof c->user, "%s", user);
        buf_puts(out, "+OK\r\n");
    } else if (!strcasecmp(cmd, "COMMAND")) {
        buf_append(out, f->command_reply.data, f->command_reply.len);
    } else if (!strcasecmp(cmd, "CONFIG")) {
        buf_puts(out, "*2\r\n$21\r\nsanitize-dump-payload\r\n$3\r\nyes\r\n");
    } else if (!strcasecmp(cmd, "EVAL")) { /* the CR/LF probe, framed */
        buf_puts(out, "-tollgate  +forged\r\n");
    } else if (!strcasecmp(cmd, "PING")) {
        buf_puts(out, "+PONG\r\n");
    } else if (!strcasecmp(cmd, "ACL")) {
        buf_puts(out, "+OK\r\n");
    } else if (!strcasecmp(cmd, "SELECT")) {
        buf_puts(out, f->refuse_select ? "-ERR DB index is out of range\r\n" : "+OK\r\n");
    } else if (!strcasecmp(cmd, "SCRIPT")) {
        buf_puts(out, "-NOTBUSY No scripts in execution right now.\r\n");
    } else if (!strcmp(c->user, BACKEND_NOBODY_USER)) {
        buf_printf(out, "-NOPERM User %s has no permissions to run the '%s' command\r\n",
                   c->user, cmd);
    } else {
        for (int i = 0; i < f->nscript; i++)
            if (!strcmp(line, f->script[i].cmd)) {
                buf_puts(out, f->script[i].reply);
                return;
            }
        /* GET k: "user|k", so a reply says whom its command ran as. */
        char v[200];
        int n = snprintf(v, sizeof v, "%s|%s", c->user, argc > 1 ? argv[1] : "");
        buf_printf(out, "$%d\r\n%s\r\n", n, v);
    }
}

static void fake_serve(fake *f, fake_conn *c)
{
    char tmp[65536];
    ssize_t r = read(c->fd, tmp, sizeof tmp);
    if (r <= 0) {
        close(c->fd);
        c->fd = -1;
        return;
    }
    buf out;
    buf_init(&out);
    pthread_mutex_lock(&f->mu);
    buf_append(&c->in, tmp, (size_t)r);
    char *argv[64];
    int argc;
    size_t used;
    while ((used = fake_parse(c, &argc, argv, 64)) > 0) {
        fake_answer(f, c, argc, argv, &out);
        buf_consume(&c->in, used);
    }
    pthread_mutex_unlock(&f->mu);
    for (size_t off = 0; off < out.len;) {
        ssize_t w = write(c->fd, out.data + off, out.len - off);
        if (w <= 0) break;
        off += (size_t)w;
    }
    buf_release(&out);
}

static void *fake_main(void *arg)
{
    fake *f = arg;
    for (;;) {
        struct pollfd p[FAKE_CONNS + 2];
        int map[FAKE_CONNS + 2], n = 0;
        pthread_mutex_lock(&f->mu);
        bool stop = f->stop;
        p[n++] = (struct pollfd){.fd = f->lfd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = f->wake[0], .events = POLLIN};
        for (int i = 0; i < f->nconns; i++)
            if (f->conns[i].fd >= 0) {
                map[n] = i;
                p[n++] = (struct pollfd){.fd = f->conns[i].fd, .events = POLLIN};
            }
        pthread_mutex_unlock(&f->mu);
        if (stop) return NULL;
        if (poll(p, (nfds_t)n, 100) <= 0) continue;
        if (p[1].revents) {
            char c;
            if (read(f->wake[0], &c, 1) < 0) { /* only a wake-up */ }
        }
        if ((p[0].revents & POLLIN) && f->nconns < FAKE_CONNS) {
            int fd = accept(f->lfd, NULL, NULL);
            pthread_mutex_lock(&f->mu);
            fake_conn *c = &f->conns[f->nconns++];
            c->fd = fd;
            snprintf(c->user, sizeof c->user, "default");
            pthread_mutex_unlock(&f->mu);
        }
        for (int i = 2; i < n; i++)
            if (p[i].revents) fake_serve(f, &f->conns[map[i]]);
    }
}

static int fake_start(fake *f)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    buf_init(&f->command_reply);
    const char *path = getenv("TG_COMMAND_FIXTURE");
    if (buf_read_file(&f->command_reply, path ? path : "tests/unit/fixtures/redis-7.0-command.resp"))
        return -1;
    for (int i = 0; i < FAKE_CONNS; i++) {
        f->conns[i].fd = -1;
        buf_init(&f->conns[i].in);
        buf_init(&f->conns[i].log);
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof sa) || listen(f->lfd, 16) ||
        getsockname(f->lfd, (struct sockaddr *)&sa, &sl) || pipe(f->wake))
        return -1;
    f->port = ntohs(sa.sin_port);
    return pthread_create(&f->th, NULL, fake_main, f) ? -1 : 0;
}

static void fake_stop(fake *f)
{
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_mutex_unlock(&f->mu);
    if (write(f->wake[1], "x", 1) < 0) { /* the poll times out anyway */ }
    pthread_join(f->th, NULL);
    for (int i = 0; i < FAKE_CONNS; i++) {
        if (f->conns[i].fd >= 0) close(f->conns[i].fd);
        buf_release(&f->conns[i].in);
        buf_release(&f->conns[i].log);
    }
    buf_release(&f->command_reply);
    close(f->lfd);
    close(f->wake[0]);
    close(f->wake[1]);
    pthread_mutex_destroy(&f->mu);
}

/* Each test's knobs, reset between tests. */
static void fake_reset(fake *f)
{
    pthread_mutex_lock(&f->mu);
    f->hold_all = false;
    f->refuse_user = NULL;
    f->refuse_select = false;
    f->nscript = 0;
    pthread_mutex_unlock(&f->mu);
}

static void fake_script(fake *f, const char *cmd, const char *reply)
{
    pthread_mutex_lock(&f->mu);
    f->script[f->nscript].cmd = cmd;
    f->script[f->nscript++].reply = reply;
    pthread_mutex_unlock(&f->mu);
}

static int fake_nconns(fake *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->nconns;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* Connection i's log since the last call (caller frees). */
static char *fake_take(fake *f, int i)
{
    pthread_mutex_lock(&f->mu);
    buf *l = &f->conns[i].log;
    char *s = xmalloc(l->len + 1);
    memcpy(s, l->data, l->len);
    s[l->len] = '\0';
    buf_reset(l);
    pthread_mutex_unlock(&f->mu);
    return s;
}

static size_t fake_logged(fake *f, int i)
{
    pthread_mutex_lock(&f->mu);
    size_t n = f->conns[i].log.len;
    pthread_mutex_unlock(&f->mu);
    return n;
}

#endif
