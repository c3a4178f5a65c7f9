/*
 * server.h - the HTTP server: worker threads, each an event loop owning
 * one libmicrohttpd daemon (external epoll mode, sharing the listening
 * port through SO_REUSEPORT) and its own Redis connections.
 *
 * A request never leaves the thread that accepted it: the handler parses
 * it and queues its commands on the worker's backend connection; the
 * reply, read in the same loop, answers it. The only locks on the request
 * path are the metering queue's (one copy of the event) and, for script
 * commands, the script-SHA map's. Only server.c, request.c and
 * dataplane.c see the worker struct.
 */
#ifndef TG_SERVER_H
#define TG_SERVER_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "auth/keys.h"
#include "gateway/redis/backend.h"
#include "gateway/redis/setup.h"
#include "gateway/redis/command_table.h"
#include "common/config.h"

enum { WORKER_EV_MHD = 1, WORKER_EV_BACKEND = 2, WORKER_EV_WAKE = 3 };

typedef struct be_slot {
    struct be_slot *next;
    backend *b;
    const backend_info *info;
} be_slot;

typedef struct worker {
    int id;
    int epfd;
    int wakefd;
    int listen_fd;
    struct MHD_Daemon *mhd;
    const tg_config *cfg;
    auth_ctx *auth;
    be_slot *backends;          /* few: one per (backend URL, logical DB) */
    int inflight;               /* requests awaiting Redis */
    struct tg_request *free_requests; /* finished, ready for reuse */
    int nfree;
    bool answered;              /* a waiting request got its answer: run MHD */
    bool progress;              /* set by request_access when it did work */
    bool mhd_only_waiting;      /* the last MHD_run only re-polled waiting
                                   requests (see worker_timeout) */
    int ev_mhd_tag, ev_wake_tag;
} worker;

/* Runs the server until SIGTERM/SIGINT; returns the exit status. */
int server_run(const tg_config *cfg);

/* The backend for (url, db) on this worker, created on first use, with
 * what backend_setup knows of it. -1 with a 503 err if it cannot be had. */
int worker_backend(worker *w, const char *url, int db, backend **out,
                   const backend_info **info, tg_err *err);

/* The upstash-sync-token value: bumped after every write, shared by all
 * workers (one atomic counter). */
uint64_t sync_token_bump(void);
uint64_t sync_token_current(void);

#endif
