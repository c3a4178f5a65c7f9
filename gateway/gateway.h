/*
 * gateway.h - `tollgate serve`: the composition root. Wires the HTTP
 * server (gateway/http/) to the handlers (gateway/handlers/), the keys
 * (auth/), the metering writer (billing/) and the backends' set-up
 * (gateway/redis/setup.h), then serves until SIGTERM/SIGINT; SIGHUP
 * reloads the JWT keys.
 */
#ifndef TG_GATEWAY_H
#define TG_GATEWAY_H

#include "common/config.h"

/* Runs the server until SIGTERM/SIGINT; returns the exit status (0, or 1
 * if it could not start or metered events were lost). */
int gateway_serve(const tg_config *cfg);

#endif
