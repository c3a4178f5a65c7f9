/*
 * command.h - what the backend says about its commands, and what a token
 * may run.
 *
 * The table is built from the backend's own `COMMAND` reply (flags, ACL
 * categories, key positions, subcommands), never from a hand-kept list of
 * command names, so read-only scope follows the Redis version in use. A
 * small table of policy rules (policy_rules in command.c) then refuses
 * what a stateless HTTP gateway must not pass through: blocking commands,
 * connection state, administration.
 *
 * A cmd_table is immutable once built and shared by all threads
 * (backend_setup.h keeps one per backend URL).
 */
#ifndef TG_COMMAND_H
#define TG_COMMAND_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/jwt.h"
#include "common/err.h"

enum {
    CMD_WRITE = 1 << 0,
    CMD_READONLY = 1 << 1,
    CMD_ADMIN = 1 << 2,
    CMD_BLOCKING = 1 << 3,
    CMD_PUBSUB = 1 << 4,
    CMD_NOSCRIPT = 1 << 5,
    CMD_MAY_REPLICATE = 1 << 6,
    CMD_MOVABLEKEYS = 1 << 7,
    CMD_FAST = 1 << 8,
    CMD_DENYOOM = 1 << 9,
};

/* One Redis 7 key specification: where a command's keys start
 * (begin_search) and how many follow (find_keys). */
enum { KS_UNKNOWN, KS_INDEX, KS_KEYWORD, KS_RANGE, KS_KEYNUM };

typedef struct cmd_keyspec {
    uint8_t begin, find;     /* KS_* */
    int index;               /* KS_INDEX: position; KS_KEYWORD: startfrom */
    char *keyword;           /* KS_KEYWORD */
    int a, b, c;             /* KS_RANGE: lastkey, keystep, limit;
                                KS_KEYNUM: keynumidx, firstkey, keystep */
} cmd_keyspec;

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

typedef struct cmd_info {
    char *name;              /* lowercase; "parent|sub" for subcommands */
    int arity;
    uint32_t flags;          /* CMD_* */
    uint64_t categories;     /* bit i: cmd_category_names[i] */
    int first_key, last_key, key_step;
    cmd_keyspec *specs;      /* Redis 7 key specs, or first/last/step */
    size_t nspecs;
    struct cmd_info *subs;   /* container commands (CONFIG, SCRIPT...) */
    size_t nsubs;
    /* Policy, decided once when the table is built (policy_check). */
    const char *refused_why; /* refused for every token, and why; or NULL */
    uint8_t policy;          /* CMD_POLICY_* */
    uint8_t shared;          /* CMD_SHARED_* */
    uint8_t shared_reply;    /* CMD_REPLY_* */
} cmd_info;

enum {
    CMD_POLICY_RO_REFUSED = 1 << 0,  /* refused to read-only tokens */
    CMD_POLICY_FREE = 1 << 1,        /* housekeeping: not billed */
    CMD_POLICY_STREAM_READ = 1 << 2, /* XREAD*: blocks only with BLOCK */
    CMD_POLICY_FLUSHALL = 1 << 3,    /* runs as FLUSHDB */
    CMD_POLICY_RESTORE = 1 << 4,     /* needs cmd_caps.restore_checked */
};

typedef struct cmd_table cmd_table;

extern const char *const cmd_category_names[];
/* Bits of cmd_info.categories for the categories policy looks at. */
#define CMD_CAT_PUBSUB (1ULL << 12)
#define CMD_CAT_SCRIPTING (1ULL << 20)

/* Builds a table from a COMMAND reply. NULL + err if it is malformed. */
cmd_table *cmd_table_from_reply(const redisReply *r, tg_err *err);
void cmd_table_free(cmd_table *t);
size_t cmd_table_size(const cmd_table *t);

/* Finds argv[0] (any case) and, for container commands, argv[1]. NULL if
 * the backend does not know the command. */
const cmd_info *cmd_lookup(const cmd_table *t, int argc, char **argv,
                           const size_t *lens);

/* Whether argument arg (NUL-terminated) is the option word, compared the
 * way Redis's parsers compare options: as C strings, ignoring case. An
 * argument "STORE\0x" is STORE to Redis, so it must be to the gateway. */
bool cmd_word_is(const char *arg, const char *word);

/* Marks is_key[i] (argc entries, zeroed by the caller) for each argument
 * of argv that Redis reads as a key name, following c's key specs the way
 * Redis itself does. 0; -1 if a spec cannot locate its keys (unknown);
 * -2 if a key count argument is not a number of keys. */
int cmd_mark_keys(const cmd_info *c, int argc, char *const *argv, const size_t *lens,
                  uint8_t *is_key);

/* ==== Policy ==== */

typedef struct cmd_verdict {
    const cmd_info *info;    /* NULL for commands unknown to the backend */
    bool is_write;           /* bumps the sync token */
    bool is_free;            /* housekeeping: not billed (PING, ECHO...) */
} cmd_verdict;

/* What the backend makes safe (backend_setup.h). */
typedef struct cmd_caps {
    bool scripts_contained;  /* connections run as the restricted ACL user;
                                without it scripting is refused */
    bool scripts_framed;     /* script replies cannot carry line breaks
                                (CVE-2025-67733): else scripting is refused */
    bool restore_checked;    /* sanitize-dump-payload yes: RESTORE payloads
                                are checked, else RESTORE is refused (a
                                crafted one could crash a shared server) */
} cmd_caps;

/* Decides whether argv may run for a token of the given scope on a backend
 * with caps. 0 and a
 * verdict, or -1 with err: 400 for a command no token may run here, 403
 * for one this token's scope forbids. May rewrite argv in place to a safer
 * equivalent (FLUSHALL -> FLUSHDB: a database is one logical DB). */
int policy_check(const cmd_table *t, auth_scope scope, const cmd_caps *caps,
                 int argc, char **argv, size_t *lens, cmd_verdict *out, tg_err *err);

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

#endif
