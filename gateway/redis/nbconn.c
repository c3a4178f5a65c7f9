/* nbconn.c - see nbconn.h. */
#include "gateway/redis/nbconn.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/un.h>

static int resolve(const redis_url *u, nbconn_addr *a, tg_err *err)
{
    memset(a, 0, sizeof *a);
    if (u->path[0]) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&a->ss;
        sun->sun_family = AF_UNIX;
        if (strlen(u->path) >= sizeof sun->sun_path)
            return tg_fail(err, 503, "ERR backend unavailable: socket path too long");
        memcpy(sun->sun_path, u->path, strlen(u->path) + 1);
        a->len = sizeof *sun;
        a->family = AF_UNIX;
        return 0;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    char port[8];
    snprintf(port, sizeof port, "%d", u->port);
    /* Numeric addresses resolve without blocking; names go through the
     * resolver once per (re)connect. */
    if (getaddrinfo(u->host, port, &hints, &res) || !res) {
        if (res) freeaddrinfo(res);
        return tg_fail(err, 503, "ERR backend unavailable: cannot resolve host");
    }
    memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
    a->len = res->ai_addrlen;
    a->family = res->ai_family;
    freeaddrinfo(res);
    return 0;
}

int nbconn_socket(const redis_url *u, nbconn_addr *a, tg_err *err)
{
    if (resolve(u, a, err)) return -1;
    int fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return tg_fail(err, 503, "ERR backend unavailable: %s", strerror(errno));
    if (a->family != AF_UNIX) { /* kept across connect() */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

int nbconn_start(int fd, const nbconn_addr *a)
{
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0) return 0;
    return errno == EINPROGRESS ? 1 : -1;
}

int nbconn_check(int fd, uint32_t events, int *why)
{
    int soerr = 0;
    socklen_t l = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l) || soerr) {
        *why = soerr ? soerr : errno;
        return -1;
    }
    return events & (EPOLLOUT | EPOLLERR | EPOLLHUP) ? 0 : 1;
}
