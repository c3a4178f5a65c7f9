/*
 * command_table.h - what a backend says about its commands.
 *
 * The table is built from the backend's own `COMMAND` reply (flags, ACL
 * categories, key positions, subcommands), never from a hand-kept list of
 * command names, so whatever decides on commands follows the Redis (or
 * Valkey) version in use. While it is built, an annotator supplied by the
 * caller (gateway/policy/policy.h: policy_annotate) records on each entry
 * what the policy tables say of it, so nothing is decided per request
 * that could be decided once.
 *
 * A cmd_table is immutable once built and shared by all threads
 * (setup.h keeps one per backend URL).
 */
#ifndef TG_COMMAND_TABLE_H
#define TG_COMMAND_TABLE_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
    /* Set by the annotator when the table is built (0 / NULL without). */
    const char *refused_why; /* refused for every token, and why; or NULL */
    uint16_t policy;         /* CMD_POLICY_* (gateway/policy/policy.h) */
    uint8_t shared;          /* CMD_SHARED_* (gateway/policy/keyspace.h) */
    uint8_t shared_reply;    /* CMD_REPLY_* (gateway/policy/keyspace.h) */
} cmd_info;

/* Fills the annotations of c; parent is its container command (already
 * annotated) or NULL. */
typedef void (*cmd_annotate_fn)(cmd_info *c, const cmd_info *parent);

typedef struct cmd_table cmd_table;

extern const char *const cmd_category_names[];
/* Bits of cmd_info.categories for the categories policy looks at. */
#define CMD_CAT_PUBSUB (1ULL << 12)
#define CMD_CAT_SCRIPTING (1ULL << 20)

/* Builds a table from a COMMAND reply, annotating every entry (annotate
 * may be NULL). NULL + err if the reply is malformed. */
cmd_table *cmd_table_from_reply(const redisReply *r, cmd_annotate_fn annotate,
                                tg_err *err);
void cmd_table_free(cmd_table *t);
size_t cmd_table_size(const cmd_table *t);

/* Finds argv[0] (any case) and, for container commands, argv[1]. NULL if
 * the backend does not know the command. */
const cmd_info *cmd_lookup(const cmd_table *t, int argc, char **argv,
                           const size_t *lens);

/* Lowercases s[0..n) into out (cap bytes). false if it does not fit or
 * holds a NUL byte. */
bool cmd_name_lower(char *out, size_t cap, const char *s, size_t n);

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

/* What the backend makes safe (setup.h). */
typedef struct cmd_caps {
    bool scripts_contained;  /* connections run as the restricted ACL user;
                                without it scripting is refused */
    bool scripts_framed;     /* script replies cannot carry line breaks
                                (CVE-2025-67733): else scripting is refused */
    bool restore_checked;    /* sanitize-dump-payload yes: RESTORE payloads
                                are checked, else RESTORE is refused (a
                                crafted one could crash a shared server) */
} cmd_caps;

#endif
