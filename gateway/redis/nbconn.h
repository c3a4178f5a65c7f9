/*
 * nbconn.h - the non-blocking connect the event-loop connections share
 * (backend.c for commands, subconn.c for subscriptions): resolve a
 * redis_url, open a non-blocking close-on-exec socket (TCP_NODELAY on
 * TCP), start connect(), and on the socket's first event tell whether it
 * completed. Owns no state; the caller keeps the fd and closes it.
 * Thread-safe.
 */
#ifndef TG_NBCONN_H
#define TG_NBCONN_H

#include <stdint.h>
#include <sys/socket.h>

#include "common/err.h"
#include "gateway/redis/redis_url.h"

typedef struct nbconn_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    int family;
} nbconn_addr;

/* Resolves u (a unix socket path, or host:port through getaddrinfo: a
 * numeric address without blocking, a name through the resolver) into *a
 * and opens a socket for it. The fd, or -1 with a 503 err
 * "ERR backend unavailable: ...". */
int nbconn_socket(const redis_url *u, nbconn_addr *a, tg_err *err);

/* Starts connecting fd to a: 0 when connected at once, 1 when in
 * progress (wait for EPOLLOUT, then nbconn_check), -1 with errno set. */
int nbconn_start(int fd, const nbconn_addr *a);

/* On an epoll event of a connecting fd: 0 when connected, 1 when not yet,
 * -1 when the connect failed, *why its errno value. */
int nbconn_check(int fd, uint32_t events, int *why);

#endif
