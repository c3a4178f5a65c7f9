/* test_nbconn.c - gateway/redis/nbconn.h: the non-blocking connect, to a
 * unix socket and to TCP, and its failures. */
#include "gateway/redis/nbconn.h"
#include "tests/unit/testhelp.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/un.h>
#include <unistd.h>

static char dir[] = "/tmp/tollgate-nbconn-XXXXXX";

/* Waits for fd to be writable, then asks nbconn_check: 0 connected. */
static int finish(int fd, int *why)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, 5000) != 1) return 1;
    uint32_t ev = (p.revents & POLLOUT ? EPOLLOUT : 0) | (p.revents & POLLERR ? EPOLLERR : 0) |
                  (p.revents & POLLHUP ? EPOLLHUP : 0);
    return nbconn_check(fd, ev, why);
}

static int connect_to(const redis_url *u, int *why)
{
    tg_err err;
    nbconn_addr a;
    int fd = nbconn_socket(u, &a, &err);
    if (fd < 0) return -2;
    int rc = nbconn_start(fd, &a);
    if (rc == 1) rc = finish(fd, why);
    else if (rc < 0) *why = errno;
    close(fd);
    return rc;
}

TEST(unix_socket)
{
    redis_url u = {0};
    snprintf(u.path, sizeof u.path, "%s/s", dir);
    int why = 0;
    CHECK(connect_to(&u, &why) == -1 && why == ENOENT); /* nobody listens yet */
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s/s", dir);
    CHECK(bind(l, (struct sockaddr *)&sun, sizeof sun) == 0 && listen(l, 4) == 0);
    CHECK(connect_to(&u, &why) == 0);
    close(l);
}

TEST(tcp_sets_nodelay_and_sees_refusal)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sin;
    CHECK(bind(l, (struct sockaddr *)&sin, sizeof sin) == 0 && listen(l, 4) == 0);
    CHECK(getsockname(l, (struct sockaddr *)&sin, &sl) == 0);
    redis_url u = {.port = ntohs(sin.sin_port)};
    snprintf(u.host, sizeof u.host, "127.0.0.1");
    tg_err err;
    nbconn_addr a;
    int fd = nbconn_socket(&u, &a, &err);
    CHECK(fd >= 0 && a.family == AF_INET);
    int nd = 0;
    socklen_t ndl = sizeof nd;
    CHECK(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nd, &ndl) == 0 && nd == 1);
    int why = 0, rc = nbconn_start(fd, &a);
    CHECK(rc >= 0);
    if (rc == 1) CHECK(finish(fd, &why) == 0);
    close(fd);
    close(l); /* now the port refuses */
    why = 0;
    CHECK(connect_to(&u, &why) == -1 && why == ECONNREFUSED);
}

TEST(bad_addresses)
{
    tg_err err = {0, ""};
    nbconn_addr a;
    redis_url u = {0};
    memset(u.path, 'p', sizeof u.path - 1); /* longer than sun_path */
    CHECK(nbconn_socket(&u, &a, &err) == -1 && err.status == 503);
    CHECK(strstr(err.msg, "socket path too long") != NULL);
    memset(&u, 0, sizeof u);
    snprintf(u.host, sizeof u.host, "no such host.invalid");
    u.port = 6379;
    err.status = 0;
    CHECK(nbconn_socket(&u, &a, &err) == -1 && err.status == 503);
    CHECK(strstr(err.msg, "cannot resolve host") != NULL);
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    RUN(unix_socket);
    RUN(tcp_sets_nodelay_and_sees_refusal);
    RUN(bad_addresses);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    TEST_MAIN_END();
}
