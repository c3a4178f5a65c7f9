/* stream.c - see stream.h: streamed answers over suspended connections. */
#include "gateway/http/stream.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "common/buf.h"
#include "common/mem.h"
#include "gateway/http/respond.h"
#include "gateway/http/worker.h"

struct http_stream {
    ev_watch hup;                /* the client's hang-up (EPOLLRDHUP) */
    tg_request *r;
    struct MHD_Response *resp;   /* while being built */
    buf out;                     /* out.data[pos..len): not yet taken */
    size_t pos;
    size_t max_buffered;
    uint64_t sent;
    int fd;                      /* watched for the hang-up, or -1 */
    int sock;                    /* the connection's socket */
    bool suspended, ended, clean;
    stream_drain_fn on_drain;
    void *ctx;
    http_stream *prev, *next;    /* the worker's streams */
};

static void wake(http_stream *s)
{
    if (!s->suspended) return;
    s->suspended = false;
    MHD_resume_connection(s->r->conn);
    s->r->w->answered = true;    /* run libmicrohttpd this turn */
}

/* libmicrohttpd asks for body bytes: what is buffered, else the end, else
 * nothing yet (the connection is suspended until a write). */
static ssize_t stream_reader(void *cls, uint64_t pos, char *dst, size_t max)
{
    http_stream *s = cls;
    size_t avail = s->out.len - s->pos;
    (void)pos;
    if (avail) {
        size_t n = avail < max ? avail : max;
        memcpy(dst, s->out.data + s->pos, n);
        s->pos += n;
        s->sent += n;
        if (s->pos == s->out.len) {
            buf_reset(&s->out);
            s->pos = 0;
        }
        return (ssize_t)n;
    }
    if (s->ended) return s->clean ? MHD_CONTENT_READER_END_OF_STREAM
                                  : MHD_CONTENT_READER_END_WITH_ERROR;
    MHD_suspend_connection(s->r->conn);
    s->suspended = true;
    return 0;
}

static void stream_release(tg_request *r);

static void on_hup(ev_watch *self, uint32_t events)
{
    http_stream *s = (http_stream *)((char *)self - offsetof(http_stream, hup));
    (void)events;
    if (s->fd >= 0) epoll_ctl(s->r->w->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    s->fd = -1;
    stream_end(s, false);
}

http_stream *request_stream(tg_request *r, const char *content_type, size_t max_buffered,
                            stream_drain_fn on_drain, void *ctx)
{
    http_worker *w = r->w;
    http_stream *s = xcalloc(1, sizeof *s);
    s->hup.on_event = on_hup;
    s->r = r;
    s->max_buffered = max_buffered;
    s->on_drain = on_drain;
    s->ctx = ctx;
    s->fd = s->sock = -1;
    buf_init(&s->out);
    s->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader, s, NULL);
    respond_stream_headers(w->cfg, request_header(r, "Origin"), s->resp, content_type);
    r->stream = s;
    r->stream_release = stream_release;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) {
        struct epoll_event e = {.events = EPOLLRDHUP | EPOLLET, .data.ptr = &s->hup};
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, ci->connect_fd, &e) == 0) s->fd = ci->connect_fd;
        s->sock = ci->connect_fd;
    }
    s->next = w->streams;
    if (w->streams) w->streams->prev = s;
    w->streams = s;
    w->nstreams++;
    request_respond(r, MHD_HTTP_OK, s->resp);   /* queued now if r waited */
    s->resp = NULL;
    return s;
}

int stream_write(http_stream *s, const void *data, size_t n)
{
    if (s->ended) return -1;
    size_t held = s->out.len - s->pos;
    if (held && held + n > s->max_buffered) return -1;   /* one event may exceed it */
    if (s->pos && s->pos >= s->out.len / 2) { /* compact before growing */
        memmove(s->out.data, s->out.data + s->pos, s->out.len - s->pos);
        s->out.len -= s->pos;
        s->pos = 0;
    }
    buf_append(&s->out, data, n);
    wake(s);
    return 0;
}

void stream_end(http_stream *s, bool clean)
{
    if (s->ended) return;
    s->ended = true;
    s->clean = clean;
    if (!clean) {
        /* Nothing more is sent, and the connection goes now: a client that
         * stopped reading leaves libmicrohttpd waiting to write, and would
         * hold it (and the stream's channels) until its idle timeout. */
        buf_reset(&s->out);
        s->pos = 0;
        if (s->sock >= 0) shutdown(s->sock, SHUT_RDWR);
    }
    wake(s);
}

bool stream_ended(const http_stream *s)
{
    return s->ended;
}

size_t stream_buffered(const http_stream *s)
{
    return s->out.len - s->pos;
}

uint64_t stream_bytes_sent(const http_stream *s)
{
    return s->sent;
}

int stream_count(const tg_request *r)
{
    return r->w->nstreams;
}

/* Releases r's stream: request.c calls it through r->stream_release when
 * r completes, after r's hook (request.c does not include this module). */
static void stream_release(tg_request *r)
{
    http_stream *s = r->stream;
    if (!s) return;
    http_worker *w = r->w;
    r->stream = NULL;
    if (s->fd >= 0) epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    if (s->prev) s->prev->next = s->next;
    else w->streams = s->next;
    if (s->next) s->next->prev = s->prev;
    w->nstreams--;
    buf_release(&s->out);
    free(s);
}

void stream_drain_all(http_worker *w)
{
    for (http_stream *s = w->streams; s; s = s->next) {
        if (s->ended) continue;
        if (s->on_drain) s->on_drain(s, s->ctx);
        stream_end(s, true);
    }
}
