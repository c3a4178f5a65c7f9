/*
 * worker.h - one worker thread's state, shared by server.c (its event
 * loop) and request.c (requests run on it). Private to gateway/http/.
 */
#ifndef TG_WORKER_H
#define TG_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/ev.h"
#include "gateway/http/peers.h"
#include "gateway/http/app.h"

typedef struct http_conn http_conn;   /* conn.c's, one per connection */

typedef struct http_worker {
    int id;
    int epfd;
    int wakefd;
    int listen_fd;
    struct MHD_Daemon *mhd;
    const tg_config *cfg;       /* &live */
    tg_config live;             /* the settings in force on this worker:
                                   the server's, or the last published
                                   (its strings belong to the publisher) */
    const tg_config *const *published;   /* the server's (server.c) */
    const tg_config *seen;      /* the published one live was copied from */
    const http_app *app;
    void *state;                /* app->worker_new's */
    int waiting;                /* requests a handler answers later */
    tg_request *free_requests;  /* finished, ready for reuse */
    int nfree;
    uint64_t requests;          /* ids of an app without new_request_id */
    bool answered;              /* a waiting request got its answer: run MHD */
    bool progress;              /* set by request_access when it did work */
    bool mhd_only_waiting;      /* the last MHD_run only re-polled waiting
                                   requests (see worker_timeout) */
    bool mhd_ready;             /* its epoll fd fired this turn */
    bool stopping;              /* set by http_server_stop (atomics) */
    bool draining;              /* stopping seen: answers close their connection */
    http_conn *conns;           /* open connections (conn.c) */
    http_peers *peers;          /* the server's, shared by the workers */
    int nconns;
    struct http_stream *streams; /* streamed answers in progress (stream.c) */
    int nstreams;
    uint64_t next_conn_check;   /* monotonic ms of the next deadline walk */
    int drain_ms;               /* how long waiting requests may take then */
    /* Memory (request.c's request_charge): bytes its requests hold, in
     * flight or as answers not yet sent; the most held since the
     * allocator last gave memory back (server.c's worker_trim). */
    uint64_t held;
    uint64_t held_peak;
    ev_watch mhd_watch, wake_watch;
} http_worker;

#endif
