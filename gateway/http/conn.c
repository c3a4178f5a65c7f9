/* conn.c - see conn.h: head deadlines and idle closing. */
#include "gateway/http/conn.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/mem.h"
#include "common/metrics.h"
#include "gateway/http/worker.h"

#define DRAIN_ON_CLOSE_MAX 65536   /* unread bytes read away before a close */

struct http_conn {
    struct http_conn *prev, *next;
    int fd;
    struct sockaddr_storage peer;  /* counted in the worker's peers */
    uint64_t head_deadline;        /* monotonic ms; 0 while a request is served */
    bool line_seen;                /* the current request's line has come */
};

static http_conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static uint64_t header_ms(const http_worker *w)
{
    return (uint64_t)w->cfg->header_timeout_s * 1000;
}

/* Reads away what the client sent that nobody will read: closing a socket
 * with unread bytes sends a reset, which can destroy the answer the client
 * has not read yet (libmicrohttpd's own 414 and 431 are answered so). */
static void drain_unread(int fd)
{
    char scratch[4096];
    size_t total = 0;
    while (total < DRAIN_ON_CLOSE_MAX) {
        ssize_t n = recv(fd, scratch, sizeof scratch, MSG_DONTWAIT);
        if (n <= 0) break;
        total += (size_t)n;
    }
}

void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                 enum MHD_ConnectionNotificationCode code)
{
    http_worker *w = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        http_conn *k = xcalloc(1, sizeof *k);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        k->fd = ci ? ci->connect_fd : -1;
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr) {
            /* sized by family: libmicrohttpd keeps only the address's own length */
            size_t len = ci->client_addr->sa_family == AF_INET6
                             ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
            memcpy(&k->peer, ci->client_addr, len);
        }
        peers_count(w->peers, (struct sockaddr *)&k->peer, 1);
        k->head_deadline = clock_mono_ms() + header_ms(w);
        k->next = w->conns;
        if (w->conns) w->conns->prev = k;
        w->conns = k;
        w->nconns++;
        metrics_add(MS_HTTP_CONNECTIONS, 1);
        *socket_context = k;
        return;
    }
    http_conn *k = *socket_context;
    if (!k) return;
    *socket_context = NULL;
    if (k->fd >= 0) drain_unread(k->fd);
    peers_count(w->peers, (struct sockaddr *)&k->peer, -1);
    if (k->prev) k->prev->next = k->next;
    else w->conns = k->next;
    if (k->next) k->next->prev = k->prev;
    w->nconns--;
    metrics_add(MS_HTTP_CONNECTIONS, -1);
    free(k);
}

void *conn_request_line(void *cls, const char *uri, struct MHD_Connection *c)
{
    http_worker *w = cls;
    http_conn *k = conn_of(c);
    (void)uri;
    if (k) {
        uint64_t d = clock_mono_ms() + header_ms(w);
        k->line_seen = true;
        if (k->head_deadline == 0 || d < k->head_deadline) k->head_deadline = d;
    }
    return NULL;
}

void conn_head_done(struct MHD_Connection *c)
{
    http_conn *k = conn_of(c);
    if (k) k->head_deadline = 0;
}

void conn_request_done(http_worker *w, struct MHD_Connection *c)
{
    http_conn *k = conn_of(c);
    if (!k) return;
    k->line_seen = false;
    k->head_deadline = clock_mono_ms() + (uint64_t)w->cfg->idle_timeout_s * 1000;
}

static const char answer_408[] =
    "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
    "Connection: close\r\nContent-Length: 41\r\n\r\n"
    "{\"error\":\"ERR request head took too long\"}";

/* Ends k: libmicrohttpd then reads end-of-file and closes it its own way
 * (and reports the close through conn_notify). */
static void conn_cut(http_conn *k, bool tell)
{
    if (k->fd < 0) return;
    /* No answer is being written: a request had not begun, or it was
     * over (its answer sent) before its connection's deadline started. */
    if (tell) {
        ssize_t n = send(k->fd, answer_408, sizeof answer_408 - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)n;
    }
    shutdown(k->fd, SHUT_RDWR);
    k->head_deadline = 0;
    k->fd = -1; /* once */
}

void conn_check_deadlines(http_worker *w, uint64_t now_ms)
{
    if (now_ms < w->next_conn_check) return;
    w->next_conn_check = now_ms + 200;
    for (http_conn *k = w->conns; k; k = k->next)
        if (k->head_deadline && now_ms >= k->head_deadline) conn_cut(k, k->line_seen);
}

void conn_close_idle(http_worker *w)
{
    for (http_conn *k = w->conns; k; k = k->next) {
        int unread = 0;
        if (!k->head_deadline || k->line_seen || k->fd < 0) continue;
        if (ioctl(k->fd, FIONREAD, &unread) == 0 && unread == 0) conn_cut(k, false);
    }
}
