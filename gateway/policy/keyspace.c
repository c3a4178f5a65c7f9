/* keyspace.c - see keyspace.h: key-prefix isolation, in and out. */
#include "gateway/policy/keyspace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"

#include "common/table.h"
#include "gateway/redis/keyscan.h"

/* ==== Tables, applied when a backend's command table is built ==== */

/* Shared (key-prefix) databases: commands without key specs that still
 * reach the keyspace or a channel, and the keyless ones known to be
 * harmless. A keyless command missing here is refused on a shared
 * database; "help" subcommands are keyless everywhere. */
static const struct {
    const char *name;
    uint8_t shared;
} shared_rules[] = {
    {"command", CMD_SHARED_KEYLESS},   {"echo", CMD_SHARED_KEYLESS},
    {"lolwut", CMD_SHARED_KEYLESS},    {"ping", CMD_SHARED_KEYLESS},
    {"script|exists", CMD_SHARED_KEYLESS}, {"script|load", CMD_SHARED_KEYLESS},
    {"time", CMD_SHARED_KEYLESS},
    {"publish", CMD_SHARED_CHANNEL},
    {"sort", CMD_SHARED_SORT},         {"sort_ro", CMD_SHARED_SORT},
    {"georadius", CMD_SHARED_GEORADIUS}, {"georadiusbymember", CMD_SHARED_GEORADIUS},
    {"keys", CMD_SHARED_KEYS},         {"scan", CMD_SHARED_SCAN},
    {"randomkey", CMD_SHARED_RANDOMKEY}, {"dbsize", CMD_SHARED_DBSIZE},
    {"flushdb", CMD_SHARED_FLUSH},     {"flushall", CMD_SHARED_FLUSH},
};

/* Replies that name keys (blocking variants included for completeness). */
static const struct {
    const char *name;
    uint8_t reply;
} shared_replies[] = {
    {"keys", CMD_REPLY_KEYS},     {"scan", CMD_REPLY_SCAN},
    {"randomkey", CMD_REPLY_KEY}, {"lmpop", CMD_REPLY_FIRST},
    {"zmpop", CMD_REPLY_FIRST},   {"blmpop", CMD_REPLY_FIRST},
    {"bzmpop", CMD_REPLY_FIRST},  {"blpop", CMD_REPLY_FIRST},
    {"brpop", CMD_REPLY_FIRST},   {"bzpopmin", CMD_REPLY_FIRST},
    {"bzpopmax", CMD_REPLY_FIRST}, {"xread", CMD_REPLY_STREAMS},
    {"xreadgroup", CMD_REPLY_STREAMS},
};

static uint8_t shared_mode(const cmd_info *c, int parent_shared)
{
    int listed = FIND_NAMED(shared_rules, c->name);
    if (listed >= 0) return shared_rules[listed].shared;
    const char *bar = strchr(c->name, '|');
    if (bar && !strcmp(bar + 1, "help")) return CMD_SHARED_KEYLESS;
    if (c->nspecs == 0) /* keyless: as its parent says, else refused */
        return parent_shared == CMD_SHARED_KEYLESS ? CMD_SHARED_KEYLESS
                                                   : CMD_SHARED_REFUSED;
    for (size_t i = 0; i < c->nspecs; i++)
        if (c->specs[i].begin == KS_UNKNOWN || c->specs[i].find == KS_UNKNOWN)
            return CMD_SHARED_REFUSED;
    return CMD_SHARED_KEYED;
}

void keyspace_annotate(cmd_info *c, const cmd_info *parent)
{
    c->shared = shared_mode(c, parent ? parent->shared : CMD_SHARED_REFUSED);
    int r = FIND_NAMED(shared_replies, c->name);
    c->shared_reply = r < 0 ? CMD_REPLY_PLAIN : shared_replies[r].reply;
}

/* ==== Helpers ==== */


static char *prefixed(arena *a, const keyspace *ks, const char *s, size_t n, size_t *outlen)
{
    char *p = arena_alloc(a, ks->len + n + 1);
    memcpy(p, ks->prefix, ks->len);
    memcpy(p + ks->len, s, n);
    p[ks->len + n] = '\0';
    *outlen = ks->len + n;
    return p;
}

static void prefix_arg(arena *a, const keyspace *ks, tg_cmd *cmd, int i)
{
    cmd->argv[i] = prefixed(a, ks, cmd->argv[i], cmd->lens[i], &cmd->lens[i]);
}

size_t keyspace_channel_ns(int db, char *out, size_t cap)
{
    int n = snprintf(out, cap, "db%d:", db);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

void keyspace_dedicated_channel(arena *a, int db, const cmd_info *c, tg_cmd *cmd)
{
    char ns[KEYSPACE_PREFIX_MAX];
    keyspace ks = {ns, 0};
    if (!c || c->shared != CMD_SHARED_CHANNEL || cmd->argc < 2) return;
    ks.len = keyspace_channel_ns(db, ns, sizeof ns);
    prefix_arg(a, &ks, cmd, 1);
}

static uint64_t rand64(void)
{
    static _Thread_local uint64_t s;
    if (!s) {
        s = clock_mono_ns() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)&s;
        s |= 1;
    }
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

/* ==== Commands ==== */

static bool is_uint(const char *s, size_t n, unsigned long long max)
{
    unsigned long long v = 0;
    if (n == 0 || n > 20) return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned long long d = (unsigned long long)(s[i] - '0');
        if (v > (max - d) / 10) return false;
        v = v * 10 + d;
    }
    return true;
}

static int refuse(const char *name, const char *why, tg_err *err)
{
    return tg_fail(err, 400, "ERR command '%s' is not allowed on a shared database: %s",
                   name, why);
}

/* The glob of ks's keys followed by pattern[0..n): a's copy, in *out. */
static int prefix_glob(arena *a, const keyspace *ks, const char *pattern, size_t n,
                       keywalk_spec *out, tg_err *err)
{
    char *g = arena_alloc(a, 2 * ks->len + n + 2);
    size_t gl = keyscan_glob(ks->prefix, ks->len, g, 2 * ks->len + 2);
    if (!gl) return tg_fail(err, 400, "ERR database key prefix too long");
    gl--; /* drop the '*': the pattern follows */
    memcpy(g + gl, pattern, n);
    g[gl + n] = '\0';
    out->match = g;
    out->match_len = gl + n;
    return 0;
}

/* SCAN cursor [MATCH pattern] [COUNT n] [TYPE t] -> a SCAN walk with the
 * pattern behind the prefix. */
static int scan_walk(arena *a, const keyspace *ks, const tg_cmd *cmd, keywalk_spec *s,
                     tg_err *err)
{
    if (cmd->argc < 2) return tg_fail(err, 400, "ERR wrong number of arguments for 'scan' command");
    if (!is_uint(cmd->argv[1], cmd->lens[1], ~0ULL)) return tg_fail(err, 400, "ERR invalid cursor");
    const char *match = "*";
    size_t mlen = 1;
    s->cursor = cmd->argv[1];
    s->cursor_len = cmd->lens[1];
    s->count = 10;
    for (int i = 2; i < cmd->argc; i += 2) {
        if (i + 1 >= cmd->argc) return tg_fail(err, 400, "ERR syntax error");
        const char *v = cmd->argv[i + 1];
        size_t vl = cmd->lens[i + 1];
        if (cmd_word_is(cmd->argv[i], "match")) {
            match = v;
            mlen = vl;
        } else if (cmd_word_is(cmd->argv[i], "count")) {
            if (!is_uint(v, vl, ~0ULL) || (vl == 1 && v[0] == '0'))
                return tg_fail(err, 400, "ERR value is not an integer or out of range");
            /* A hint to Redis; capped so one call walks at most
             * KEYWALK_SCAN_ROUNDS slices of 1,000 keys. */
            bool big = vl > 4 || (vl == 4 && strncmp(v, "1000", 4) > 0);
            s->count = big ? 1000 : (uint32_t)strtoul(v, NULL, 10);
        } else if (cmd_word_is(cmd->argv[i], "type")) {
            s->type = v;
            s->type_len = vl;
        } else {
            return tg_fail(err, 400, "ERR syntax error");
        }
    }
    return prefix_glob(a, ks, match, mlen, s, err);
}

/* The keyspace commands as walks of the prefix (keywalk.h). */
static int to_walk(arena *a, const keyspace *ks, const cmd_info *c, const tg_cmd *cmd,
                   keyspace_out *out, tg_err *err)
{
    keywalk_spec s = {0};
    char cursor[24];
    switch (c->shared) {
    case CMD_SHARED_KEYS:
        if (cmd->argc != 2)
            return tg_fail(err, 400, "ERR wrong number of arguments for 'keys' command");
        s.kind = KEYWALK_KEYS;
        if (prefix_glob(a, ks, cmd->argv[1], cmd->lens[1], &s, err)) return -1;
        break;
    case CMD_SHARED_SCAN:
        s.kind = KEYWALK_SCAN;
        if (scan_walk(a, ks, cmd, &s, err)) return -1;
        break;
    case CMD_SHARED_RANDOMKEY:
        if (cmd->argc != 1)
            return tg_fail(err, 400, "ERR wrong number of arguments for 'randomkey' command");
        s.kind = KEYWALK_RANDOMKEY;
        /* From a random cursor, picking a random key of the first page. */
        s.cursor_len = (size_t)snprintf(cursor, sizeof cursor, "%llu",
                                        (unsigned long long)(rand64() & 0xffffff));
        s.cursor = cursor;
        s.pick = rand64() & 0xffffff;
        if (prefix_glob(a, ks, "*", 1, &s, err)) return -1;
        break;
    case CMD_SHARED_DBSIZE:
        if (cmd->argc != 1)
            return tg_fail(err, 400, "ERR wrong number of arguments for 'dbsize' command");
        s.kind = KEYWALK_DBSIZE;
        if (prefix_glob(a, ks, "*", 1, &s, err)) return -1;
        break;
    case CMD_SHARED_FLUSH:
        if (cmd->argc > 2 || (cmd->argc == 2 && !cmd_word_is(cmd->argv[1], "async") &&
                              !cmd_word_is(cmd->argv[1], "sync")))
            return tg_fail(err, 400, "ERR syntax error");
        s.kind = KEYWALK_FLUSH;
        if (prefix_glob(a, ks, "*", 1, &s, err)) return -1;
        break;
    default:
        return refuse(c->name, "it reaches beyond this database", err);
    }
    out->walk = keywalk_new(a, &s);
    return 0;
}

/* SORT key [BY pattern] [LIMIT offset count] [GET pattern...] [ASC|DESC]
 * [ALPHA] [STORE destination]. BY with a pattern and GET read other keys
 * by name: Redis refuses them to a user restricted to a key prefix, and so
 * does the gateway, with a clearer message. */
static int rewrite_sort(arena *a, const keyspace *ks, const cmd_info *c, tg_cmd *cmd,
                        tg_err *err)
{
    if (cmd->argc < 2) return tg_fail(err, 400, "ERR wrong number of arguments for 'sort' command");
    bool ro = !strcmp(c->name, "sort_ro");
    prefix_arg(a, ks, cmd, 1);
    for (int i = 2; i < cmd->argc; i++) {
        const char *w = cmd->argv[i];
        int left = cmd->argc - i - 1;
        if (cmd_word_is(w, "asc") || cmd_word_is(w, "desc") || cmd_word_is(w, "alpha")) {
            continue;
        } else if (cmd_word_is(w, "limit") && left >= 2) {
            i += 2;
        } else if (cmd_word_is(w, "by") && left >= 1) {
            i++;
            if (memchr(cmd->argv[i], '*', cmd->lens[i]))
                return tg_fail(err, 400, "ERR SORT BY a pattern is not available on a "
                               "shared database (it reads other keys by name)");
        } else if (cmd_word_is(w, "get") && left >= 1) {
            return tg_fail(err, 400, "ERR SORT GET is not available on a shared database "
                           "(it reads other keys by name)");
        } else if (!ro && cmd_word_is(w, "store") && left >= 1) {
            prefix_arg(a, ks, cmd, ++i);
        } else {
            return tg_fail(err, 400, "ERR syntax error");
        }
    }
    return 0;
}

/* GEORADIUS[BYMEMBER] key ...: Redis's ACL checks the first STORE key but
 * the command writes the last, so the database's user may not run these
 * at all; without STORE they run as their read-only twins. */
static int rewrite_georadius(arena *a, const keyspace *ks, const cmd_info *c, tg_cmd *cmd,
                             tg_err *err)
{
    for (int i = 2; i < cmd->argc; i++)
        if (cmd_word_is(cmd->argv[i], "store") ||
            cmd_word_is(cmd->argv[i], "storedist"))
            return tg_fail(err, 400, "ERR %s ... STORE is not available on a shared "
                           "database: use GEOSEARCHSTORE", c->name);
    if (cmd->argc < 2) return 0; /* Redis answers the arity error */
    bool member = !strcmp(c->name, "georadiusbymember");
    cmd->argv[0] = (char *)(member ? "GEORADIUSBYMEMBER_RO" : "GEORADIUS_RO");
    cmd->lens[0] = strlen(cmd->argv[0]);
    prefix_arg(a, ks, cmd, 1);
    return 0;
}

int keyspace_rewrite(arena *a, const keyspace *ks, const cmd_info *c, bool transaction,
                     tg_cmd *cmd, keyspace_out *out, tg_err *err)
{
    out->reply = CMD_REPLY_PLAIN;
    out->as_gateway = false;
    out->walk = NULL;
    if (!c) return tg_fail(err, 400, "ERR unknown command");
    out->reply = c->shared_reply;
    switch (c->shared) {
    case CMD_SHARED_KEYED: {
        uint8_t *is_key = arena_alloc(a, (size_t)cmd->argc);
        memset(is_key, 0, (size_t)cmd->argc);
        int rc = cmd_mark_keys(c, cmd->argc, cmd->argv, cmd->lens, is_key);
        if (rc == -2) return tg_fail(err, 400, "ERR numkeys is not a valid number of keys");
        if (rc) return refuse(c->name, "its keys cannot be located", err);
        for (int i = 1; i < cmd->argc; i++)
            if (is_key[i]) prefix_arg(a, ks, cmd, i);
        return 0;
    }
    case CMD_SHARED_KEYLESS:
        return 0;
    case CMD_SHARED_CHANNEL:
        if (cmd->argc >= 2) prefix_arg(a, ks, cmd, 1);
        return 0;
    case CMD_SHARED_SORT:
        return rewrite_sort(a, ks, c, cmd, err);
    case CMD_SHARED_GEORADIUS:
        return rewrite_georadius(a, ks, c, cmd, err);
    default:
        break;
    }
    if (c->shared == CMD_SHARED_REFUSED)
        return refuse(c->name, c->nspecs ? "its keys cannot be located"
                                         : "it reaches beyond this database", err);
    /* The keyspace commands: confined, run as the gateway's user. */
    if (transaction)
        return refuse(c->name, "it cannot run inside /multi-exec here (use /pipeline)", err);
    out->as_gateway = true;
    return to_walk(a, ks, c, cmd, out, err);
}

/* ==== Replies ==== */

static void strip(const keyspace *ks, redisReply *r)
{
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS) ||
        r->len < ks->len || memcmp(r->str, ks->prefix, ks->len))
        return;
    /* hiredis frees str itself: shift in place, keep the pointer. */
    memmove(r->str, r->str + ks->len, r->len - ks->len + 1);
    r->len -= ks->len;
}

static void strip_all(const keyspace *ks, redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i < r->elements; i++) strip(ks, r->element[i]);
}

/* Errors may quote key names ("No such key 'db_x:k'"). */
static void strip_error(const keyspace *ks, redisReply *r)
{
    size_t w = 0;
    for (size_t i = 0; i < r->len;) {
        if (r->len - i >= ks->len && !memcmp(r->str + i, ks->prefix, ks->len)) {
            i += ks->len;
            continue;
        }
        r->str[w++] = r->str[i++];
    }
    r->str[w] = '\0';
    r->len = w;
}

void keyspace_unprefix(const keyspace *ks, uint8_t reply, redisReply *r)
{
    if (!r || ks->len == 0) return;
    if (r->type == REDIS_REPLY_ERROR) {
        strip_error(ks, r);
        return;
    }
    switch (reply) {
    case CMD_REPLY_KEY:
        strip(ks, r);
        break;
    case CMD_REPLY_KEYS:
        strip_all(ks, r);
        break;
    case CMD_REPLY_SCAN:
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) strip_all(ks, r->element[1]);
        break;
    case CMD_REPLY_FIRST:
        if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) strip(ks, r->element[0]);
        break;
    case CMD_REPLY_STREAMS:
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
            redisReply *e = r->element[i];
            if (e && e->type == REDIS_REPLY_ARRAY && e->elements > 0) strip(ks, e->element[0]);
        }
        break;
    default:
        break;
    }
}
