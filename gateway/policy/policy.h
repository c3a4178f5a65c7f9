/*
 * policy.h - what a token may run.
 *
 * Decided from the backend's own command table (gateway/redis/
 * command_table.h: flags, ACL categories), annotated once when the table
 * is built by the small tables in policy.c, so read-only scope and the
 * refusals follow the Redis version in use: blocking commands, connection
 * state and administration are refused to every token (a stateless HTTP
 * gateway must not pass them through), writes to read-only tokens, and
 * per-token rules (--allow / --deny) on top. Shared databases add their
 * own confinement (keyspace.h), annotated in the same pass.
 *
 * Pure functions over immutable tables; thread-safe.
 */
#ifndef TG_POLICY_H
#define TG_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/jwt.h"
#include "common/config.h"
#include "common/err.h"
#include "gateway/redis/command_table.h"

enum {
    CMD_POLICY_RO_REFUSED = 1 << 0,  /* refused to read-only tokens */
    CMD_POLICY_FREE = 1 << 1,        /* housekeeping: not billed */
    CMD_POLICY_STREAM_READ = 1 << 2, /* XREAD*: blocks only with BLOCK */
    CMD_POLICY_FLUSHALL = 1 << 3,    /* runs as FLUSHDB */
    CMD_POLICY_RESTORE = 1 << 4,     /* needs cmd_caps.restore_checked */
    CMD_POLICY_SIZED = 1 << 5,       /* has size arguments (policy_check_sizes) */
};


typedef struct cmd_verdict {
    const cmd_info *info;    /* NULL for commands unknown to the backend */
    bool is_write;           /* bumps the sync token */
    bool is_free;            /* housekeeping: not billed (PING, ECHO...) */
} cmd_verdict;


/* Decides whether argv may run for a token of the given scope on a backend
 * with caps. 0 and a
 * verdict, or -1 with err: 400 for a command no token may run here, 403
 * for one this token's scope forbids. May rewrite argv in place to a safer
 * equivalent (FLUSHALL -> FLUSHDB: a database is one logical DB). */
int policy_check(const cmd_table *t, auth_scope scope, const cmd_caps *caps,
                 int argc, char **argv, size_t *lens, cmd_verdict *out, tg_err *err);

/* HEAD is a safe method (RFC 9110 9.2.1): a verdict that writes (or may:
 * scripts, publishes) is refused to it, 0 or -1 with a 405 err (the
 * caller adds `Allow: GET, POST, PUT, OPTIONS`). Reads still answer HEAD. */
int policy_check_head(const cmd_verdict *v, tg_err *err);

/* Per-token command rules (auth_claims.cmd_allow / cmd_deny: comma-joined
 * command names, "parent|sub" subcommands and @categories; NULL for none):
 * the command must match allow when given and must not match deny. A
 * command the backend does not know matches names only. 0, or -1 with a
 * 403 err naming the command. */
int policy_check_rules(const cmd_info *c, const char *name, size_t name_len,
                       const char *allow, const char *deny, tg_err *err);

/* -1 unless every @category in rules is one Redis defines (checked when a
 * token is issued, so a typo cannot silently widen a deny list). */
int policy_rules_valid(const char *rules, tg_err *err);

/* shared_scripts (CFG_SHARED_SCRIPTS_*): a script that wrote and then
 * loops can be neither killed nor waited out, and keeps a shared Redis
 * BUSY for every tenant; with read-only, only scripts Redis itself keeps
 * from writing run. 0, or -1 with a 400 err. */
int policy_check_shared_scripts(int mode, const cmd_info *c, tg_err *err);

/* Arguments that make Redis build something large before the gateway sees
 * a byte of it (a 40-byte request, hundreds of megabytes in Redis): a
 * negative SRANDMEMBER / ZRANDMEMBER / HRANDFIELD count (that many
 * elements, repeats allowed), and the offsets of SETBIT, SETRANGE and
 * BITFIELD SET/INCRBY (the value grows to reach them). Bounds, from cap
 * (max_reply_bytes):
 *   - a count: the smallest reply it can produce (6 bytes an element,
 *     `$0\r\n\r\n`) must fit in cap, together with the other counted
 *     commands of the request: *floor (0 for a new request) accumulates
 *     those smallest replies. Any larger count could only be built by
 *     Redis and then dropped by the gateway as too large;
 *   - an offset: the value it makes (offset bytes, or bits / 8, plus what
 *     is written) must fit in cap, so it can still be read back whole.
 * Arguments Redis will refuse itself (not a number) pass. 0, or -1 with a
 * 400 err naming the command and the bound. */
int policy_check_sizes(const cmd_info *c, int argc, char **argv, const size_t *lens,
                       uint64_t cap, uint64_t *floor, tg_err *err);

/* The annotator of command tables (cmd_annotate_fn): the policy tables'
 * word on c, and the shared-database tables' (keyspace_annotate). */
void policy_annotate(cmd_info *c, const cmd_info *parent);

#endif
