/* test_backend.c - gateway/redis/backend.h against a scripted fake Redis.
 *
 * The fake runs in a thread on a loopback TCP port the test owns: it reads
 * what the backend sends (each command logged with the user it ran as) and
 * answers scripted RESP - or holds its answers, or leaves the writing to the
 * test, which then feeds a reply one byte per loop turn. The backend is
 * driven the way a worker drives it: its own epoll fd, epoll_wait, then
 * backend_on_event / backend_flush / backend_check_timeouts.
 *
 * The backend_info comes from backend_info_for against the fake (setup.c's
 * own conversation: COMMAND, CONFIG GET, the CR/LF probe, ACL SETUSER): a
 * backend_info built by hand would not do, as backend.c hands it back to
 * setup.c (backend_users_stale), which reads it
 * as the head of its registry entry. */
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/mem.h"
#include "gateway/redis/backend.h"
#include "gateway/redis/control.h"
#include "gateway/redis/setup.h"
#include "tests/unit/gateway/redis/fake_redis.h"
#include "tests/unit/testhelp.h"

static fake F;

/* ==== Driving the backend like a worker ==== */

typedef struct op_rec {
    backend_cmd cmds[8];
    char *argv[8][4];
    size_t lens[8][4];
    char words[8][64];
    redisReply *replies[10];
    int n;
    bool done;
    int status;          /* 0: success, else the err's */
    char msg[512];
    uint64_t at;         /* when done was called */
} op_rec;

static void on_done(void *ctx, const tg_err *err, bool sent)
{
    (void)sent;
    op_rec *o = ctx;
    o->done = true;
    o->at = clock_mono_ms();
    if (err) {
        o->status = err->status;
        snprintf(o->msg, sizeof o->msg, "%s", err->msg);
    }
}

static void op_free(op_rec *o)
{
    for (int i = 0; i < o->n + 2 && i < 10; i++)
        if (o->replies[i]) freeReplyObject(o->replies[i]);
    memset(o, 0, sizeof *o);
}

/* Submits cmds ("GET a", words split at spaces) as one operation. */
static int submit(backend *b, op_rec *o, const char *db_user, const bool *as_gateway, int n,
                  const char *const *cmds)
{
    memset(o, 0, sizeof *o);
    o->n = n;
    for (int i = 0; i < n; i++) {
        snprintf(o->words[i], sizeof o->words[i], "%s", cmds[i]);
        int argc = 0;
        for (char *w = strtok(o->words[i], " "); w && argc < 4; w = strtok(NULL, " ")) {
            o->argv[i][argc] = w;
            o->lens[i][argc++] = strlen(w);
        }
        o->cmds[i] = (backend_cmd){.cmd = {argc, o->argv[i], o->lens[i]},
                                   .as_gateway = as_gateway && as_gateway[i]};
    }
    tg_err err;
    int rc = backend_submit(b, o->cmds, n, false, db_user, o->replies, on_done, o, &err);
    if (rc) {
        o->status = err.status;
        snprintf(o->msg, sizeof o->msg, "%s", err.msg);
    }
    return rc;
}

/* One turn of the worker loop, waiting at most max_ms. */
static void turn(backend *b, int epfd, int max_ms)
{
    if (backend_has_output(b)) backend_flush(b);
    uint64_t now = clock_mono_ms(), d = backend_deadline(b);
    int wait = max_ms;
    if (d != UINT64_MAX) wait = d <= now ? 0 : d - now < (uint64_t)max_ms ? (int)(d - now) : max_ms;
    struct epoll_event evs[8];
    int n = epoll_wait(epfd, evs, 8, wait);
    for (int i = 0; i < n; i++) {
        ev_watch *w = evs[i].data.ptr; /* common/ev.h, as the worker loop does */
        w->on_event(w, evs[i].events);
    }
    backend_check_timeouts(b, clock_mono_ms());
}

/* Turns until *done (or limit_ms): true if it came. */
static bool run_until(backend *b, int epfd, const bool *done, int limit_ms)
{
    uint64_t end = clock_mono_ms() + (uint64_t)limit_ms;
    while (!*done && clock_mono_ms() < end) turn(b, epfd, 20);
    return *done;
}

/* A bulk string's bytes, with NUL, CR and LF spelled out. */
static void put_escaped(buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0') buf_puts(out, "\\0");
        else if (s[i] == '\r') buf_puts(out, "\\r");
        else if (s[i] == '\n') buf_puts(out, "\\n");
        else buf_putc(out, s[i]);
    }
}

static void reply_text(const redisReply *r, buf *out)
{
    switch (r->type) {
    case REDIS_REPLY_STRING:
        buf_putc(out, '$');
        put_escaped(out, r->str, r->len);
        break;
    case REDIS_REPLY_STATUS: buf_printf(out, "+%s", r->str); break;
    case REDIS_REPLY_ERROR: buf_printf(out, "-%s", r->str); break;
    case REDIS_REPLY_INTEGER: buf_printf(out, ":%lld", r->integer); break;
    case REDIS_REPLY_NIL: buf_puts(out, "nil"); break;
    case REDIS_REPLY_ARRAY:
        buf_putc(out, '[');
        for (size_t i = 0; i < r->elements; i++) {
            if (i) buf_putc(out, ',');
            reply_text(r->element[i], out);
        }
        buf_putc(out, ']');
        break;
    default: buf_printf(out, "?%d", r->type);
    }
}

/* An operation's replies as text, one per line. */
static char *op_text(const op_rec *o)
{
    buf t;
    buf_init(&t);
    for (int i = 0; i < o->n; i++) {
        if (o->replies[i]) reply_text(o->replies[i], &t);
        else buf_puts(&t, "(none)");
        buf_putc(&t, '\n');
    }
    buf_putc(&t, '\0');
    return buf_detach(&t, NULL);
}

#define CHECK_OP(o, want)                                                    \
    do {                                                                     \
        char *t_ = op_text(o);                                               \
        CHECK_STR(t_, want);                                                 \
        free(t_);                                                            \
    } while (0)

/* ==== Cases ==== */

static char url[128];
static const backend_info *bi;
static int epfd;

static backend *open_backend(const char *u, int db, const backend_info *info, int timeout_ms,
                             uint64_t max_reply)
{
    backend_opts o = {.epfd = epfd, .connect_timeout_ms = 500, .command_timeout_ms = timeout_ms,
                      .max_reply_bytes = max_reply};
    tg_err err;
    return backend_new(u, db, info, &o, &err);
}

/* A ready backend (its handshake done and logged away), and its fake
 * connection's index. */
static backend *ready_backend(int db, int timeout_ms, uint64_t max_reply, int *conn)
{
    backend *b = open_backend(url, db, bi, timeout_ms, max_reply);
    op_rec o;
    const char *ping[] = {"GET warmup"};
    if (!b || submit(b, &o, NULL, NULL, 1, ping) || !run_until(b, epfd, &o.done, 2000)) {
        backend_free(b);
        return NULL;
    }
    op_free(&o);
    *conn = fake_nconns(&F) - 1;
    free(fake_take(&F, *conn));
    return b;
}

TEST(setup_against_the_fake)
{
    tg_err err;
    bi = backend_info_for(url, 2000, &err);
    CHECK(bi != NULL);
    if (!bi) return;
    CHECK(bi->caps.scripts_contained && bi->caps.scripts_framed && bi->caps.restore_checked);
    CHECK(bi->acl_pass[0] && bi->nobody_pass[0]);
    char *log = fake_take(&F, 0);
    CHECK(!strncmp(log, "default: AUTH tguser tgpass\ntguser: COMMAND\n"
                   "tguser: CONFIG GET sanitize-dump-payload\ntguser: EVAL ", 86));
    CHECK(strstr(log, "tguser: PING\ntguser: ACL SETUSER tollgate-dataplane ") != NULL);
    free(log);
}

/* AUTH (the URL's user), the two ACL SETUSERs, SELECT, then AUTH as the
 * restricted user - and only then the command submitted before it all. */
TEST(handshake_then_the_held_command)
{
    if (!bi) {
        CHECK(bi);
        return;
    }
    backend *b = open_backend(url, 3, bi, 1000, 0);
    op_rec o;
    const char *get[] = {"GET k"};
    CHECK(submit(b, &o, NULL, NULL, 1, get) == 0);
    CHECK(run_until(b, epfd, &o.done, 2000) && o.status == 0);
    /* DB 3's own restricted user, its channels DB 3's. */
    char dn[BACKEND_USER_MAX], dp[40];
    backend_acl_user(url, 3, dn, dp);
    CHECK_STR(dn, BACKEND_ACL_USER "-3");
    CHECK(strcmp(dp, bi->acl_pass) != 0);
    CHECK_OP(&o, "$" BACKEND_ACL_USER "-3|k\n");
    const char *argv[64];
    backend_acl_bufs bufs;
    int n = backend_acl_setuser_argv(dn, dp, 3, true, &bufs, argv, 64);
    buf want;
    buf_init(&want);
    buf_puts(&want, "default: AUTH tguser tgpass\ntguser:");
    for (int i = 0; i < n; i++) buf_printf(&want, " %s", argv[i]);
    buf_printf(&want, "\ntguser: ACL SETUSER " BACKEND_NOBODY_USER " on nocommands resetkeys "
               "resetchannels clearselectors resetpass >%s\n", bi->nobody_pass);
    buf_printf(&want, "tguser: SELECT 3\ntguser: AUTH " BACKEND_ACL_USER "-3 %s\n", dp);
    buf_puts(&want, BACKEND_ACL_USER "-3: GET k\n");
    buf_putc(&want, '\0');
    char *log = fake_take(&F, fake_nconns(&F) - 1);
    CHECK_STR(log, want.data);
    CHECK(strstr(want.data, " ~* +@all -@admin ") && strstr(want.data, " &db3:* >") &&
          !strstr(want.data, "&*"));
    free(log);
    buf_release(&want);
    op_free(&o);
    backend_free(b);
}

/* Without set-up info and credentials, DB 0: nothing but the command. */
TEST(no_handshake_without_credentials)
{
    char plain[64];
    snprintf(plain, sizeof plain, "redis://127.0.0.1:%d", F.port);
    backend *b = open_backend(plain, 0, NULL, 1000, 0);
    op_rec o;
    const char *get[] = {"GET k"};
    CHECK(submit(b, &o, NULL, NULL, 1, get) == 0);
    CHECK(run_until(b, epfd, &o.done, 2000) && o.status == 0);
    CHECK_OP(&o, "$default|k\n");
    char *log = fake_take(&F, fake_nconns(&F) - 1);
    CHECK_STR(log, "default: GET k\n");
    free(log);
    op_free(&o);
    backend_free(b);
}

/* A refused handshake step fails the operation (503) and the held command
 * never reaches Redis. */
TEST(handshake_refused_fails_closed)
{
    if (!bi) {
        CHECK(bi);
        return;
    }
    F.refuse_select = true;
    backend *b = open_backend(url, 4, bi, 1000, 0);
    op_rec o;
    const char *get[] = {"GET k"};
    CHECK(submit(b, &o, NULL, NULL, 1, get) == 0);
    CHECK(run_until(b, epfd, &o.done, 2000));
    CHECK(o.status == 503 && strstr(o.msg, "handshake refused"));
    for (int i = 0; i < 5; i++) turn(b, epfd, 10); /* nothing more is sent */
    char *log = fake_take(&F, fake_nconns(&F) - 1);
    CHECK(strstr(log, "SELECT 4\n") && !strstr(log, "GET"));
    free(log);
    op_free(&o);
    backend_free(b);
    fake_reset(&F);
}

/* Requests of two shared databases and the gateway's own in one pipeline:
 * AUTH appears only where the user changes, a database's user is reached
 * through the no-rights user, and each reply comes from the right user. */
TEST(auth_switches_inside_one_pipeline)
{
    if (!bi) {
        CHECK(bi);
        return;
    }
    int conn;
    backend *b = ready_backend(0, 1000, 0, &conn);
    if (!b) {
        CHECK(b);
        return;
    }
    op_rec o[5];
    const char *c1[] = {"GET a", "GET b"}, *c2[] = {"GET c"}, *c3[] = {"GET d"},
               *c4[] = {"GET e"}, *c5[] = {"GET f", "GET g", "GET h"};
    const bool gw5[] = {false, true, false};
    /* One loop turn: all of it is one write. */
    CHECK(submit(b, &o[0], "db_one", NULL, 2, c1) == 0);
    CHECK(submit(b, &o[1], "db_one", NULL, 1, c2) == 0);
    CHECK(submit(b, &o[2], "db_two", NULL, 1, c3) == 0);
    CHECK(submit(b, &o[3], NULL, NULL, 1, c4) == 0);
    CHECK(submit(b, &o[4], "db_two", gw5, 3, c5) == 0);
    CHECK(run_until(b, epfd, &o[4].done, 2000));
    for (int i = 0; i < 5; i++) CHECK(o[i].done && o[i].status == 0);
    CHECK_OP(&o[0], "$tollgate-db-db_one|a\n$tollgate-db-db_one|b\n");
    CHECK_OP(&o[1], "$tollgate-db-db_one|c\n");
    CHECK_OP(&o[2], "$tollgate-db-db_two|d\n");
    CHECK_OP(&o[3], "$" BACKEND_ACL_USER "|e\n");
    CHECK_OP(&o[4], "$tollgate-db-db_two|f\n$" BACKEND_ACL_USER "|g\n$tollgate-db-db_two|h\n");
    char n1[BACKEND_USER_MAX], p1[40], n2[BACKEND_USER_MAX], p2[40], want[2048];
    backend_db_user(url, "db_one", n1, sizeof n1, p1);
    backend_db_user(url, "db_two", n2, sizeof n2, p2);
    const char *np = bi->nobody_pass, *ap = bi->acl_pass;
    snprintf(want, sizeof want,
             BACKEND_ACL_USER ": AUTH " BACKEND_NOBODY_USER " %s\n"
             BACKEND_NOBODY_USER ": AUTH %s %s\n%s: GET a\n%s: GET b\n%s: GET c\n"
             "%s: AUTH " BACKEND_NOBODY_USER " %s\n"
             BACKEND_NOBODY_USER ": AUTH %s %s\n%s: GET d\n"
             "%s: AUTH " BACKEND_ACL_USER " %s\n" BACKEND_ACL_USER ": GET e\n"
             BACKEND_ACL_USER ": AUTH " BACKEND_NOBODY_USER " %s\n"
             BACKEND_NOBODY_USER ": AUTH %s %s\n%s: GET f\n"
             "%s: AUTH " BACKEND_ACL_USER " %s\n" BACKEND_ACL_USER ": GET g\n"
             BACKEND_ACL_USER ": AUTH " BACKEND_NOBODY_USER " %s\n"
             BACKEND_NOBODY_USER ": AUTH %s %s\n%s: GET h\n",
             np, n1, p1, n1, n1, n1, n1, np, n2, p2, n2, n2, ap, np, n2, p2, n2, n2, ap, np,
             n2, p2, n2);
    char *log = fake_take(&F, conn);
    CHECK_STR(log, want);
    free(log);
    /* Still db_two's user: no AUTH at all. */
    op_rec more;
    const char *c6[] = {"GET i"};
    CHECK(submit(b, &more, "db_two", NULL, 1, c6) == 0);
    CHECK(run_until(b, epfd, &more.done, 2000) && more.status == 0);
    log = fake_take(&F, conn);
    snprintf(want, sizeof want, "%s: GET i\n", n2);
    CHECK_STR(log, want);
    free(log);
    CHECK(fake_nconns(&F) == conn + 1);
    op_free(&more);
    for (int i = 0; i < 5; i++) op_free(&o[i]);
    backend_free(b);
}

/* A refused AUTH (the database's user gone): what was pipelined behind it
 * ran as the no-rights user, and every pending operation fails (503); the
 * next submission reconnects at once. */
TEST(refused_auth_fails_closed)
{
    if (!bi) {
        CHECK(bi);
        return;
    }
    int conn;
    backend *b = ready_backend(0, 1000, 0, &conn);
    if (!b) {
        CHECK(b);
        return;
    }
    F.refuse_user = "tollgate-db-db_bad";
    op_rec o[3];
    const char *c1[] = {"GET a"}, *c2[] = {"GET x"}, *c3[] = {"GET b"};
    CHECK(submit(b, &o[0], "db_one", NULL, 1, c1) == 0);
    CHECK(submit(b, &o[1], "db_bad", NULL, 1, c2) == 0);
    CHECK(submit(b, &o[2], "db_one", NULL, 1, c3) == 0);
    CHECK(run_until(b, epfd, &o[2].done, 2000));
    CHECK(o[0].done && o[0].status == 0);
    CHECK_OP(&o[0], "$tollgate-db-db_one|a\n");
    CHECK(o[1].status == 503 && strstr(o[1].msg, "database user refused"));
    CHECK(o[2].status == 503);
    CHECK(backend_pending(b) == 0);
    for (int i = 0; i < 5; i++) turn(b, epfd, 10);
    char *log = fake_take(&F, conn);
    /* On the wire, GET x ran as nobody (NOPERM), never as db_one's user. */
    CHECK(strstr(log, BACKEND_NOBODY_USER ": GET x\n") != NULL);
    free(log);
    op_rec again;
    CHECK(submit(b, &again, "db_one", NULL, 1, c3) == 0);
    CHECK(run_until(b, epfd, &again.done, 2000) && again.status == 0);
    CHECK_OP(&again, "$tollgate-db-db_one|b\n");
    CHECK(fake_nconns(&F) == conn + 2);
    op_free(&again);
    for (int i = 0; i < 3; i++) op_free(&o[i]);
    backend_free(b);
    fake_reset(&F);
}

/* Redis does not answer: at the deadline the operation is answered 504
 * (and a busy script is asked to die, SCRIPT KILL on an admin connection);
 * one timeout later the connection is dropped and the rest fail with 503.
 * After the back-off a new connection serves again. */
TEST(command_timeout_at_the_deadline)
{
    if (!bi) {
        CHECK(bi);
        return;
    }
    const int tmo = 150;
    int conn;
    backend *b = ready_backend(0, tmo, 0, &conn);
    if (!b) {
        CHECK(b);
        return;
    }
    fake_script(&F, "GET slow", HOLD);
    op_rec o[2];
    const char *c1[] = {"GET slow"}, *c2[] = {"GET a"};
    uint64_t t0 = clock_mono_ms();
    CHECK(submit(b, &o[0], NULL, NULL, 1, c1) == 0);
    CHECK(submit(b, &o[1], NULL, NULL, 1, c2) == 0);
    CHECK(run_until(b, epfd, &o[1].done, 3000));
    CHECK(o[0].done && o[0].status == 504);
    CHECK(o[0].at >= t0 + tmo && o[0].at < t0 + tmo + 250);
    CHECK(o[1].status == 503 && strstr(o[1].msg, "command timeout"));
    CHECK(o[1].at >= t0 + 2 * tmo && o[1].at < t0 + 2 * tmo + 300);
    CHECK(backend_pending(b) == 0);
    bool killed = false;
    for (int i = conn + 1; i < fake_nconns(&F); i++) {
        char *log = fake_take(&F, i);
        killed |= strstr(log, "SCRIPT KILL") != NULL;
        free(log);
    }
    CHECK(killed);
    usleep(60 * 1000); /* the back-off */
    fake_reset(&F);
    op_rec again;
    const char *c3[] = {"GET z"};
    CHECK(submit(b, &again, NULL, NULL, 1, c3) == 0);
    CHECK(run_until(b, epfd, &again.done, 2000) && again.status == 0);
    CHECK_OP(&again, "$" BACKEND_ACL_USER "|z\n");
    op_free(&again);
    for (int i = 0; i < 2; i++) op_free(&o[i]);
    backend_free(b);
}

/* max_reply_bytes: a reply over it is dropped (its command answers an
 * error), so are replies of one request that add up over it; the others
 * and the connection go on. */
TEST(reply_cap_drops_the_reply_not_the_connection)
{
    if (!bi) {
        CHECK(bi);
        return;
    }
    static char big[2100], mid[700];
    snprintf(big, sizeof big, "$2000\r\n%02000d\r\n", 7);
    snprintf(mid, sizeof mid, "$600\r\n%0600d\r\n", 5);
    int conn;
    backend *b = ready_backend(0, 1000, 1024, &conn);
    if (!b) {
        CHECK(b);
        return;
    }
    fake_script(&F, "GET big", big);
    fake_script(&F, "GET mid", mid);
    op_rec o[3];
    const char *c1[] = {"GET a", "GET big", "GET b"}, *c2[] = {"GET mid", "GET mid"},
               *c3[] = {"GET mid"};
    CHECK(submit(b, &o[0], NULL, NULL, 3, c1) == 0);
    CHECK(submit(b, &o[1], NULL, NULL, 2, c2) == 0);
    CHECK(submit(b, &o[2], NULL, NULL, 1, c3) == 0);
    CHECK(run_until(b, epfd, &o[2].done, 2000));
    for (int i = 0; i < 3; i++) CHECK(o[i].done && o[i].status == 0);
    char *t = op_text(&o[0]);
    CHECK(!strncmp(t, "$" BACKEND_ACL_USER "|a\n-ERR reply too large", 33));
    CHECK(strstr(t, "\n$" BACKEND_ACL_USER "|b\n") != NULL);
    free(t);
    t = op_text(&o[1]);
    CHECK(!strncmp(t, "$00000", 6) && strstr(t, "\n-ERR replies too large"));
    free(t);
    t = op_text(&o[2]);
    CHECK(!strncmp(t, "$00000", 6) && strlen(t) == 602);
    free(t);
    CHECK(fake_nconns(&F) == conn + 1);
    for (int i = 0; i < 3; i++) op_free(&o[i]);
    backend_free(b);
    fake_reset(&F);
}

/* Every kind of reply in one answer, delivered whole, then one byte per
 * loop turn: the replies decode identically. */
static const char split_answer[] =
    "+OK\r\n:-42\r\n$-1\r\n$5\r\nhe\r\nl\r\n*3\r\n$1\r\na\r\n*2\r\n:1\r\n$0\r\n\r\n*-1\r\n"
    "-ERR boom\r\n*0\r\n$3\r\n\0\r\n\r\n";
static const char split_want[] =
    "+OK\n:-42\nnil\n$he\\r\\nl\n[$a,[:1,$],nil]\n-ERR boom\n[]\n$\\0\\r\\n\n";

static bool split_round(backend *b, int conn, bool one_byte, char **text)
{
    const char *cmds[] = {"GET s1", "GET s2", "GET s3", "GET s4", "GET s5", "GET s6", "GET s7",
                          "GET s8"};
    op_rec o;
    F.hold_all = true;
    if (submit(b, &o, NULL, NULL, 8, cmds)) return false;
    uint64_t end = clock_mono_ms() + 2000;
    while (fake_logged(&F, conn) < 8 * strlen(BACKEND_ACL_USER ": GET s1\n") && clock_mono_ms() < end)
        turn(b, epfd, 10);
    free(fake_take(&F, conn));
    size_t len = sizeof split_answer - 1;
    bool early = false;
    for (size_t off = 0; off < len;) {
        size_t n = one_byte ? 1 : len;
        if (write(F.conns[conn].fd, split_answer + off, n) != (ssize_t)n) break;
        off += n;
        turn(b, epfd, 1000);
        early |= off < len && o.done;
    }
    run_until(b, epfd, &o.done, 1000);
    *text = o.done && !o.status ? op_text(&o) : NULL;
    op_free(&o);
    F.hold_all = false;
    return !early;
}

TEST(reply_split_at_every_byte)
{
    if (!bi) {
        CHECK(bi);
        return;
    }
    int conn;
    backend *b = ready_backend(0, 5000, 0, &conn);
    if (!b) {
        CHECK(b);
        return;
    }
    char *whole = NULL, *bytes = NULL;
    CHECK(split_round(b, conn, false, &whole));
    CHECK(split_round(b, conn, true, &bytes));
    CHECK(whole && bytes);
    if (whole && bytes) {
        CHECK_STR(whole, split_want);
        CHECK_STR(bytes, whole);
    }
    CHECK(fake_nconns(&F) == conn + 1);
    free(whole);
    free(bytes);
    backend_free(b);
}

int main(void)
{
    backend_setup_init("unit-test-secret", 16, NULL);
    tg_err cerr;
    if (control_start(1000, &cerr)) return 1;
    if (fake_start(&F)) {
        printf("FAIL test_backend.c:fake-redis-started\n");
        return 1;
    }
    snprintf(url, sizeof url, "redis://tguser:tgpass@127.0.0.1:%d", F.port);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    RUN(setup_against_the_fake);
    RUN(handshake_then_the_held_command);
    RUN(no_handshake_without_credentials);
    RUN(handshake_refused_fails_closed);
    RUN(auth_switches_inside_one_pipeline);
    RUN(refused_auth_fails_closed);
    RUN(command_timeout_at_the_deadline);
    RUN(reply_cap_drops_the_reply_not_the_connection);
    RUN(reply_split_at_every_byte);
    close(epfd);
    control_stop();
    fake_stop(&F);
    backend_setup_clear();
    TEST_MAIN_END();
}
