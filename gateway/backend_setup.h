/*
 * backend_setup.h - what tollgate prepares on each Redis backend before
 * serving from it, once per backend URL per process:
 *
 *   - the command table (command.h), from the backend's own COMMAND reply;
 *   - a restricted ACL user, `tollgate-dataplane`, that every data-plane
 *     connection switches to after selecting its logical DB. The user may
 *     not SELECT, SWAPDB, MOVE, COPY, FLUSHALL, read server-wide INFO,
 *     manage functions or kill scripts, so a Lua script (which runs with
 *     its caller's permissions) cannot reach another database either. Its
 *     password is derived from the JWT secret, so every gateway node
 *     sharing the secret computes the same one.
 *
 * If the backend refuses ACL SETUSER (an old Redis, a restricted account),
 * scripts_contained is false and policy refuses scripting there.
 *
 * The registry is process-wide, filled under a mutex (blocking, bounded by
 * the timeout) on first use of a URL, and read-only afterwards.
 */
#ifndef TG_BACKEND_SETUP_H
#define TG_BACKEND_SETUP_H

#include <stdbool.h>

#include "command.h"
#include "err.h"

#define BACKEND_ACL_USER "tollgate-dataplane"

typedef struct backend_info {
    const cmd_table *cmds;
    bool scripts_contained;      /* the ACL user is in place */
    char acl_pass[40];           /* hex; empty when !scripts_contained */
} backend_info;

/* Derives ACL passwords from this secret (call once before serving). */
void backend_setup_init(const void *secret, size_t len);

/* The info for url, set up on first call. NULL + 503 err if the backend
 * cannot be reached (a later call tries again). */
const backend_info *backend_info_for(const char *url, int timeout_ms, tg_err *err);

void backend_setup_clear(void);

/* Fills argv with `ACL SETUSER <user> <rules...>` for password pass.
 * pwbuf (48 bytes) holds the ">pass" argument. Returns argc (<= cap).
 * Connections re-issue it in their handshake: a restarted Redis has
 * forgotten the user. */
int backend_acl_setuser_argv(const char *pass, char *pwbuf, const char **argv, int cap);

#endif
