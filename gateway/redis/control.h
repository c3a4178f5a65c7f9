/*
 * control.h - the control thread: administrative calls to backends that
 * may block on the network, kept off the workers' event loops.
 *
 * Its job: a backend kept busy by a runaway Lua script (Redis then answers
 * every tenant's command with BUSY). A worker that sees a command outrun
 * its deadline, or a BUSY reply, calls control_busy(url): a flag and a
 * signal, never a network call. The control thread then sends SCRIPT KILL
 * on its own connection to that backend, and keeps doing so until Redis
 * answers NOTBUSY: a pipeline of looping scripts, or several tenants'
 * scripts in a row, are killed one after the other, and nothing a tenant
 * sends can make it stop trying. A script that already wrote cannot be
 * killed (UNKILLABLE): that is logged once per episode and retried, since
 * the script may still end.
 *
 * Thread-safe. Without control_start (the CLI, some tests) control_busy
 * only records the request.
 */
#ifndef TG_CONTROL_H
#define TG_CONTROL_H

#include "common/err.h"

/* Starts the thread; timeout_ms bounds each of its calls. 0, or -1. */
int control_start(int timeout_ms, tg_err *err);

/* Stops and joins it (within about timeout_ms), dropping its connections
 * and watches. Safe without control_start. */
void control_stop(void);

/* Asks for url's runaway script to be killed (until Redis is free). */
void control_busy(const char *url);

typedef struct control_stats {
    unsigned long asked;         /* control_busy calls */
    unsigned long killed;        /* scripts killed */
    unsigned long unkillable;    /* UNKILLABLE answers */
} control_stats;

void control_stats_get(control_stats *out);

#endif
