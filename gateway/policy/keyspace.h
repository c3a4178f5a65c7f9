/*
 * keyspace.h - key-prefix isolation: many databases on one Redis.
 *
 * A shared database owns every key that starts with its prefix
 * (`<database id>:`). On the way in, each key argument gets the prefix, at
 * the positions Redis's own key specs give (gateway/redis/command_table.h: cmd_mark_keys), and
 * so does a PUBLISH channel. The commands that reach the whole keyspace
 * without naming keys are replaced by confined equivalents: KEYS and SCAN
 * and DBSIZE, FLUSHDB, FLUSHALL and RANDOMKEY become walks of the prefix
 * (keywalk.h), which the gateway runs in bounded slices, one Redis call
 * each, so that no tenant stalls a shared server. On the way
 * out, key names in replies (KEYS, SCAN, RANDOMKEY, LMPOP, XREAD...) and
 * error texts lose the prefix again.
 *
 * Anything whose keys cannot be located (an unknown key spec, a keyless
 * command not known to be harmless, SORT BY/GET patterns) is refused, not
 * passed through. Behind this, Redis checks the database's own ACL user
 * (gateway/redis/setup.h), so a mistake here ends in a permission error.
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
#include "common/err.h"
#include "gateway/policy/keywalk.h"
#include "gateway/redis/command_table.h"
#include "gateway/redis/keyscan.h"

/* How a shared (key-prefix) database treats a command; decided once when
 * the table is built, carried out by keyspace.c. */
enum {
    CMD_SHARED_REFUSED,      /* its keys cannot be located: never sent */
    CMD_SHARED_KEYED,        /* keys found by the key specs, prefixed */
    CMD_SHARED_KEYLESS,      /* touches no key or channel (PING, TIME...) */
    CMD_SHARED_CHANNEL,      /* argument 1 is a channel (PUBLISH) */
    CMD_SHARED_SORT,         /* SORT/SORT_RO: key, STORE; no BY/GET */
    CMD_SHARED_GEORADIUS,    /* GEORADIUS[BYMEMBER]: as _RO; no STORE */
    CMD_SHARED_KEYS,         /* the keyspace commands, run by the gateway */
    CMD_SHARED_SCAN,         /* over the prefix only */
    CMD_SHARED_RANDOMKEY,
    CMD_SHARED_DBSIZE,
    CMD_SHARED_FLUSH,        /* FLUSHDB and FLUSHALL */
};

/* Key names in a reply, which a shared database strips of its prefix. */
enum {
    CMD_REPLY_PLAIN,         /* none */
    CMD_REPLY_KEY,           /* the reply is a key name (RANDOMKEY) */
    CMD_REPLY_KEYS,          /* an array of key names (KEYS) */
    CMD_REPLY_SCAN,          /* [cursor, [keys...]] */
    CMD_REPLY_FIRST,         /* [key, ...] (LMPOP, ZMPOP) */
    CMD_REPLY_STREAMS,       /* [[key, entries]...] (XREAD) */
};

#define KEYSPACE_PREFIX_MAX KEYSCAN_PREFIX_MAX

typedef struct keyspace {
    const char *prefix;          /* e.g. "db_0123456789abcdef:" */
    size_t len;
} keyspace;

/* What became of one command. */
typedef struct keyspace_out {
    uint8_t reply;               /* CMD_REPLY_*: key names to strip */
    bool as_gateway;             /* run as the gateway's ACL user */
    keywalk *walk;               /* a keyspace command: run this walk (in the
                                    arena) instead of the command; NULL */
} keyspace_out;

/* Rewrites cmd (described by c, which may be NULL for a command the
 * backend does not know) for database ks, in place, new strings in a; a
 * keyspace command is left as it is and out->walk says how to run it
 * (its keywalk_free is the caller's).
 * transaction: the command is inside /multi-exec. 0, or -1 with a 400
 * err saying why the command cannot run on a shared database. */
int keyspace_rewrite(arena *a, const keyspace *ks, const cmd_info *c, bool transaction,
                     tg_cmd *cmd, keyspace_out *out, tg_err *err);

/* Pub/sub is server-wide in Redis, whatever the logical DB: a dedicated
 * database's channels live under `db<N>:` (its logical DB), as a shared
 * one's live under its key prefix. Writes that namespace into out (cap
 * bytes, NUL-terminated) and returns its length (0 if it does not fit). */
size_t keyspace_channel_ns(int db, char *out, size_t cap);

/* A dedicated database's command c: a PUBLISH channel gets the database's
 * channel namespace (in the arena). Other commands are left alone. */
void keyspace_dedicated_channel(arena *a, int db, const cmd_info *c, tg_cmd *cmd);

/* Strips the prefix from the key names in r (as reply says) and from an
 * error's text, in place. */
void keyspace_unprefix(const keyspace *ks, uint8_t reply, redisReply *r);



/* The shared-database tables' word on c (cmd_annotate_fn; called by
 * policy_annotate). */
void keyspace_annotate(cmd_info *c, const cmd_info *parent);

#endif
