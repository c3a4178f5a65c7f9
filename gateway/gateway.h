/*
 * gateway.h - `tollgate serve`: the composition root. Wires the HTTP
 * server (gateway/http/) to the handlers (gateway/handlers/), the keys
 * (auth/), the metering writer (billing/) and the backends' set-up
 * (gateway/redis/setup.h), then serves until SIGTERM/SIGINT.
 *
 * Lifecycle (README, Operations): the listening sockets are bound first,
 * then, with a user, the process becomes that user for good; the state
 * file is migrated and everything else starts. SIGHUP loads the
 * configuration again and applies what can change live (CORS origins,
 * limits, logging, the JWT keys, the TLS certificate; the list is
 * live_settings in gateway.c), all or nothing, and logs the settings that
 * need a restart. SIGTERM/SIGINT: no new connection, requests in flight
 * get shutdown_grace_s, the meter's queue is committed, exit 0.
 */
#ifndef TG_GATEWAY_H
#define TG_GATEWAY_H

#include "common/config.h"

/* Runs the server until SIGTERM/SIGINT; returns the exit status (0, or 1
 * if it could not start or metered events were lost). user: NULL, or the
 * user to run as once the sockets are bound. */
int gateway_serve(const tg_config *cfg, const char *user);

#endif
