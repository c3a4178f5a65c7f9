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
 * Scripts run past every check made here: Redis does not ask the gateway
 * about the commands a script calls. So a token whose limits Redis cannot
 * enforce inside a script runs no script: read-only tokens (a script could
 * enumerate keys, which they may not) and tokens with --allow / --deny
 * rules. And on a Redis that other databases use too, a script that wrote
 * and then loops stops every tenant (UNKILLABLE): shared_scripts bounds
 * scripts there, whatever the database's isolation.
 *
 * Pure functions over immutable tables; thread-safe. A policy_scripts set
 * is immutable once loaded, so shared freely too.
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
    CMD_POLICY_SCRIPT = 1 << 6,      /* runs or loads a script: EVAL*, EVALSHA*,
                                        FCALL*, SCRIPT LOAD */
    CMD_POLICY_SERVER = 1 << 7,      /* refused, except to a database that owns
                                        its server (FUNCTION, INFO, SCRIPT FLUSH,
                                        MEMORY STATS) */
    CMD_POLICY_INFO = 1 << 8,        /* INFO: safe sections only */
    CMD_POLICY_COPY = 1 << 9,        /* COPY: no DB option; runs as the URL's user */
};


typedef struct cmd_verdict {
    const cmd_info *info;    /* NULL for commands unknown to the backend */
    bool is_write;           /* bumps the sync token */
    bool is_free;            /* housekeeping: not billed (PING, ECHO...) */
    bool as_url;             /* run as the backend URL's own user: COPY, which
                                the restricted ACL users may not run (a Lua
                                script could add a DB option there); checked
                                here instead. Never inside /multi-exec. */
    int argc;                /* argc > 0: send argv/lens (static) instead */
    char **argv;             /* (INFO without a section, on a database */
    size_t *lens;            /*  that owns its server: the safe sections) */
} cmd_verdict;


/* Decides whether argv may run for a token of the given scope on a backend
 * with caps. owns_server: the database owns its whole backend (isolation
 * `server`): FUNCTION, FCALL, SCRIPT FLUSH, FLUSHALL, INFO (safe sections),
 * MEMORY STATS run there (CMD_POLICY_SERVER), what the backend flags admin
 * still does not. 0 and a verdict, or -1 with err: 400 for a command no
 * token may run here, 403 for one this token's scope forbids. May rewrite
 * argv in place to a safer equivalent (FLUSHALL -> FLUSHDB on a database
 * that is one logical DB), or hand a replacement in out->argv. */
int policy_check(const cmd_table *t, auth_scope scope, bool owns_server, const cmd_caps *caps,
                 int argc, char **argv, size_t *lens, cmd_verdict *out, tg_err *err);

/* HEAD is a safe method (RFC 9110 9.2.1): a verdict that writes (or may:
 * scripts, publishes) is refused to it, 0 or -1 with a 405 err (the
 * caller adds `Allow: GET, POST, PUT, OPTIONS`). Reads still answer HEAD. */
int policy_check_head(const cmd_verdict *v, tg_err *err);

/* Per-token command rules (auth_claims.cmd_allow / cmd_deny: comma-joined
 * command names, "parent|sub" subcommands and @categories; NULL for none):
 * the command must match allow when given and must not match deny. A
 * command the backend does not know matches names only. A token with
 * rules runs no script (CMD_POLICY_SCRIPT): its rules would not hold for
 * the commands the script calls. 0, or -1 with a 403 err naming the
 * command. */
int policy_check_rules(const cmd_info *c, const char *name, size_t name_len,
                       const char *allow, const char *deny, tg_err *err);

/* -1 unless every @category in rules is one Redis defines (checked when a
 * token is issued, so a typo cannot silently widen a deny list). */
int policy_rules_valid(const char *rules, tg_err *err);

/* ==== Scripts on a shared server ==== */

/* A set of approved script SHA-1s (the approved_scripts setting). */
typedef struct policy_scripts policy_scripts;

/* tools/approved-scripts.txt, embedded at build time. */
extern const char policy_builtin_scripts[];

/* Parses setting: NULL or "" is the list shipped with tollgate
 * (policy_builtin_scripts: @upstash/ratelimit's scripts); "none" the empty
 * set; a comma- (or space-) separated list of 40-hex-digit SHA-1s; else
 * the name of a file with one SHA-1 a line (anything after it on the
 * line, blank lines and lines starting with '#' are ignored). Case is not
 * significant. The set, or NULL with a 400 err naming the file and line.
 * Free with policy_scripts_free (NULL accepted). */
policy_scripts *policy_scripts_load(const char *setting, tg_err *err);
void policy_scripts_free(policy_scripts *s);
size_t policy_scripts_count(const policy_scripts *s);
/* Whether hex[0..40) (either case) is in s (NULL: the empty set). */
bool policy_scripts_has(const policy_scripts *s, const char *hex, size_t n);

/* shared_scripts (CFG_SHARED_SCRIPTS_*), for a database on a Redis that
 * other databases use too (auth_grant.server_shared), whatever its
 * isolation: a script that wrote and then loops can be neither killed nor
 * waited out, and keeps that Redis BUSY for every tenant.
 *   - all: any script;
 *   - approved: what read-only admits, FCALL (functions are loaded by the
 *     operator only: FUNCTION is refused on a shared server), and writing
 *     scripts whose SHA-1 is in approved: EVAL's body is hashed as sent
 *     (before any rewriting), EVALSHA's argument is the SHA-1;
 *   - read-only: only scripts Redis itself keeps from writing (EVAL_RO,
 *     EVALSHA_RO, FCALL_RO), and SCRIPT LOAD / EXISTS, which run nothing;
 *   - off: no scripting command.
 * 0, or -1 with a 400 err (naming an unapproved script's SHA-1). */
int policy_check_shared_scripts(int mode, const policy_scripts *approved, const cmd_info *c,
                                int argc, char **argv, const size_t *lens, tg_err *err);

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
