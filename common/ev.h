/*
 * ev.h - the one convention between an event loop and what it drives.
 *
 * The HTTP workers (gateway/http/server.c) wait on one epoll instance per
 * thread; anything else that owns sockets on that thread (a Redis
 * connection, gateway/redis/backend.c) registers them on the same epoll
 * fd with data.ptr pointing at an ev_watch embedded in its own struct.
 * The loop calls on_event with the ready events; the owner recovers its
 * struct from the watch. Nothing here locks: a watch belongs to one
 * thread's loop.
 */
#ifndef TG_EV_H
#define TG_EV_H

#include <stdint.h>

typedef struct ev_watch {
    void (*on_event)(struct ev_watch *self, uint32_t events);
} ev_watch;

#endif
