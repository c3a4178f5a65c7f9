/*
 * keyspace.h - key-prefix isolation: many databases on one Redis.
 *
 * A shared database owns every key that starts with its prefix
 * (`<database id>:`). On the way in, each key argument gets the prefix, at
 * the positions Redis's own key specs give (command.h: cmd_mark_keys), and
 * so does a PUBLISH channel. The commands that reach the whole keyspace
 * without naming keys are replaced by confined equivalents: KEYS and SCAN
 * get the prefix in front of their pattern; DBSIZE, FLUSHDB, FLUSHALL and
 * RANDOMKEY become fixed Lua scripts that walk only the prefix. On the way
 * out, key names in replies (KEYS, SCAN, RANDOMKEY, LMPOP, XREAD...) and
 * error texts lose the prefix again.
 *
 * Anything whose keys cannot be located (an unknown key spec, a keyless
 * command not known to be harmless, SORT BY/GET patterns) is refused, not
 * passed through. Behind this, Redis checks the database's own ACL user
 * (backend_setup.h), so a mistake here ends in a permission error.
 *
 * The confined keyspace commands run as the gateway's own ACL user: the
 * database's user may not enumerate keys, or a Lua script could list
 * every tenant's. They cannot run inside a transaction, which runs as one
 * user.
 *
 * Pure functions over the caller's arena; thread-safe.
 */
#ifndef TG_KEYSPACE_H
#define TG_KEYSPACE_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "gateway/protocol/argv.h"
#include "gateway/redis/command_table.h"
#include "common/err.h"

#define KEYSPACE_PREFIX_MAX 64

typedef struct keyspace {
    const char *prefix;          /* e.g. "db_0123456789abcdef:" */
    size_t len;
} keyspace;

/* What became of one command. */
typedef struct keyspace_out {
    uint8_t reply;               /* CMD_REPLY_*: key names to strip */
    bool as_gateway;             /* run as the gateway's ACL user */
} keyspace_out;

/* Rewrites cmd (described by c, which may be NULL for a command the
 * backend does not know) for database ks, in place, new strings in a.
 * transaction: the command is inside /multi-exec. 0, or -1 with a 400
 * err saying why the command cannot run on a shared database. */
int keyspace_rewrite(arena *a, const keyspace *ks, const cmd_info *c, bool transaction,
                     tg_cmd *cmd, keyspace_out *out, tg_err *err);

/* Strips the prefix from the key names in r (as reply says) and from an
 * error's text, in place. */
void keyspace_unprefix(const keyspace *ks, uint8_t reply, redisReply *r);

/* Writes the glob pattern matching every key of ks ("<prefix>*", with
 * glob characters of the prefix escaped) into out (cap bytes). Returns its
 * length, or 0 if it does not fit. */
size_t keyspace_glob(const keyspace *ks, char *out, size_t cap);

/* The fixed scripts (also used by `tollgate db delete`): ARGV[1] is the
 * glob of keyspace_glob. */
extern const char keyspace_flush_lua[];

#endif
