/*
 * ready.h - the readiness prober: a thread that decides, once a second,
 * whether this gateway can do its work, and publishes the verdict for
 * /readyz (gateway/handlers/health.h), so that answering /readyz costs a
 * copy under a mutex and never a check.
 *
 * Each round: the state file opens read-write and takes a write lock
 * (BEGIN IMMEDIATE; ROLLBACK, within 250 ms), so a missing, read-only or
 * locked file is not ready; every distinct backend of a live database
 * answers a PING on a fresh connection (any reply, even NOAUTH, is an
 * answer; at most READY_BACKENDS_MAX checked, each within the connect
 * timeout); the metering queue holds less than three quarters of its
 * capacity. The first round starts at once (until it ends, /readyz says
 * "starting"), so a slow backend never delays start-up. Reasons are counted
 * ("1 of 2 backends unreachable"), never named: the page is public. What
 * failed, with its address, goes to the log at level warn when the
 * verdict changes.
 */
#ifndef TG_READY_H
#define TG_READY_H

#include "common/config.h"
#include "common/err.h"

typedef struct ready_prober ready_prober;

/* cfg must outlive ready_stop. NULL + err if the thread cannot start. */
ready_prober *ready_start(const tg_config *cfg, tg_err *err);

/* Stops and frees it (waits for a round under way). NULL accepted. */
void ready_stop(ready_prober *p);

#endif
