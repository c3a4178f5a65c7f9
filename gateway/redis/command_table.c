/* command.c - see command.h: the backend's command table and the policy. */
#include "gateway/redis/command_table.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/mem.h"

struct cmd_table {
    cmd_info *cmds;          /* sorted by name */
    size_t n;
};

/* ==== Policy tables ==== */

/* Commands refused for every token, with the reason shown to the caller.
 * Flag-based rules (admin, blocking) live in policy_check below; these are
 * the ones whose flags do not say what they do to a shared connection. */
static const struct {
    const char *name;
    const char *why;
} refused[] = {
    {"acl", "administration"},
    {"asking", "cluster connection state"},
    {"auth", "the gateway authenticates you with your token"},
    {"client", "connection state"},
    {"cluster", "administration"},
    {"config", "administration"},
    {"debug", "administration"},
    {"discard", "transactions use the /multi-exec endpoint"},
    {"exec", "transactions use the /multi-exec endpoint"},
    {"failover", "administration"},
    {"function", "functions are shared by every database on the backend"},
    {"hello", "connection state"},
    {"info", "server-wide information"},
    {"memory", "server-wide information"},
    {"migrate", "moves keys to another server"},
    {"module", "administration"},
    {"monitor", "streaming is not served on this endpoint"},
    {"move", "moves keys to another database"},
    {"multi", "transactions use the /multi-exec endpoint"},
    {"psubscribe", "subscriptions are not served on this endpoint"},
    {"pubsub", "server-wide information"},
    {"psync", "replication"},
    {"punsubscribe", "subscriptions are not served on this endpoint"},
    {"quit", "connection state"},
    {"readonly", "cluster connection state"},
    {"readwrite", "cluster connection state"},
    {"replicaof", "replication"},
    {"reset", "connection state"},
    {"script|debug", "connection state"},
    {"script|flush", "scripts are shared by every database on the backend"},
    {"script|kill", "scripts are shared by every database on the backend"},
    {"select", "a token is bound to one database"},
    {"shutdown", "administration"},
    {"slaveof", "replication"},
    {"ssubscribe", "subscriptions are not served on this endpoint"},
    {"subscribe", "subscriptions are not served on this endpoint"},
    {"sunsubscribe", "subscriptions are not served on this endpoint"},
    {"swapdb", "touches other databases"},
    {"copy", "copies between databases are not isolated yet"},
    {"sync", "replication"},
    {"unsubscribe", "subscriptions are not served on this endpoint"},
    {"unwatch", "connection state"},
    {"wait", "blocks the connection"},
    {"waitaof", "blocks the connection"},
    {"watch", "connection state"},
};

/* Read-only tokens: like Upstash, no key enumeration either. */
static const char *const ro_refused[] = {"keys", "scan"};

/* Billing: connection housekeeping is free (Upstash's rule). */
static const char *const free_cmds[] = {
    "auth", "command", "config", "echo", "hello", "info", "ping", "quit",
    "reset", "select",
};

static const char *const stream_reads[] = {"xread", "xreadgroup"};

/* Deserialise client-made payloads: only on a backend that checks them. */
static const char *const restores[] = {"restore", "restore-asking"};

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

static bool in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(name, list[i])) return true;
    return false;
}

#define IN(name, list) in_list(name, list, sizeof list / sizeof list[0])

/* Index of the entry called name in a table of structs whose first member
 * is `const char *name`, or -1. */
static int find_named(const void *table, size_t n, size_t stride, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(name, *(const char *const *)(const void *)((const char *)table + i * stride)))
            return (int)i;
    return -1;
}
#define FIND_NAMED(table, name) find_named(table, sizeof table / sizeof table[0], sizeof table[0], name)

static const char *refusal_of(const char *name)
{
    int i = FIND_NAMED(refused, name);
    return i < 0 ? NULL : refused[i].why;
}

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

/* Decides, once per command when the table is built, what the tables say
 * of it; subcommands inherit their parent's refusal. */
static void annotate(cmd_info *c, const char *parent_refusal, int parent_shared)
{
    c->shared = shared_mode(c, parent_shared);
    int r = FIND_NAMED(shared_replies, c->name);
    c->shared_reply = r < 0 ? CMD_REPLY_PLAIN : shared_replies[r].reply;
    c->refused_why = parent_refusal ? parent_refusal : refusal_of(c->name);
    c->policy = (IN(c->name, ro_refused) ? CMD_POLICY_RO_REFUSED : 0) |
                (IN(c->name, free_cmds) ? CMD_POLICY_FREE : 0) |
                (IN(c->name, stream_reads) ? CMD_POLICY_STREAM_READ : 0) |
                (!strcmp(c->name, "flushall") ? CMD_POLICY_FLUSHALL : 0) |
                (IN(c->name, restores) ? CMD_POLICY_RESTORE : 0);
    for (size_t i = 0; i < c->nsubs; i++)
        annotate(&c->subs[i], c->refused_why, c->shared);
}

/* ==== Parsing the COMMAND reply ==== */

static const struct {
    const char *name;
    uint32_t bit;
} flag_names[] = {
    {"write", CMD_WRITE},           {"readonly", CMD_READONLY},
    {"admin", CMD_ADMIN},           {"blocking", CMD_BLOCKING},
    {"pubsub", CMD_PUBSUB},         {"noscript", CMD_NOSCRIPT},
    {"may_replicate", CMD_MAY_REPLICATE}, {"movablekeys", CMD_MOVABLEKEYS},
    {"fast", CMD_FAST},             {"denyoom", CMD_DENYOOM},
};

const char *const cmd_category_names[] = {
    "keyspace", "read", "write", "set", "sortedset", "list", "hash",
    "string", "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin",
    "fast", "slow", "blocking", "dangerous", "connection", "transaction",
    "scripting", NULL,
};

static bool is_str(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

static bool is_int(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_INTEGER;
}

/* A RESP2 map: a flat [k1, v1, k2, v2...] array. */
static const redisReply *map_get(const redisReply *m, const char *key)
{
    if (!m || m->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < m->elements; i += 2)
        if (is_str(m->element[i]) && !strcasecmp(m->element[i]->str, key))
            return m->element[i + 1];
    return NULL;
}

static int map_int(const redisReply *m, const char *key, bool *ok)
{
    const redisReply *v = map_get(m, key);
    if (!is_int(v)) {
        *ok = false;
        return 0;
    }
    return (int)v->integer;
}

/* One key spec; anything not understood stays KS_UNKNOWN, which makes the
 * command unusable on a shared database rather than guessed at. */
static void parse_keyspec(const redisReply *r, cmd_keyspec *ks)
{
    const redisReply *bs = map_get(r, "begin_search"), *fk = map_get(r, "find_keys");
    const redisReply *bt = map_get(bs, "type"), *ft = map_get(fk, "type");
    const redisReply *bsp = map_get(bs, "spec"), *fsp = map_get(fk, "spec");
    const redisReply *flags = map_get(r, "flags");
    bool ok = true;
    memset(ks, 0, sizeof *ks);
    /* INCOMPLETE: the spec may miss keys (MIGRATE's KEYS). */
    for (size_t i = 0; flags && flags->type == REDIS_REPLY_ARRAY && i < flags->elements; i++)
        if (is_str(flags->element[i]) && !strcasecmp(flags->element[i]->str, "incomplete"))
            return;
    if (is_str(bt) && !strcmp(bt->str, "index")) {
        ks->index = map_int(bsp, "index", &ok);
        if (ok) ks->begin = KS_INDEX;
    } else if (is_str(bt) && !strcmp(bt->str, "keyword")) {
        const redisReply *kw = map_get(bsp, "keyword");
        ks->index = map_int(bsp, "startfrom", &ok);
        if (ok && is_str(kw) && ks->index != 0) {
            ks->keyword = xstrndup(kw->str, kw->len);
            ks->begin = KS_KEYWORD;
        }
    }
    ok = true;
    if (is_str(ft) && !strcmp(ft->str, "range")) {
        ks->a = map_int(fsp, "lastkey", &ok);
        ks->b = map_int(fsp, "keystep", &ok);
        ks->c = map_int(fsp, "limit", &ok);
        if (ok && ks->b > 0 && ks->c >= 0 && (ks->a >= -1 || ks->c == 0))
            ks->find = KS_RANGE;
    } else if (is_str(ft) && !strcmp(ft->str, "keynum")) {
        ks->a = map_int(fsp, "keynumidx", &ok);
        ks->b = map_int(fsp, "firstkey", &ok);
        ks->c = map_int(fsp, "keystep", &ok);
        if (ok && ks->a >= 0 && ks->b > 0 && ks->c > 0) ks->find = KS_KEYNUM;
    }
}

/* Redis 7 sends key specs; older servers only first/last/step, which
 * cannot describe movable keys. */
static void parse_keyspecs(const redisReply *e, cmd_info *out)
{
    const redisReply *specs = e->elements > 8 ? e->element[8] : NULL;
    if (specs && specs->type == REDIS_REPLY_ARRAY) {
        if (specs->elements == 0) return;
        out->specs = xcalloc(specs->elements, sizeof *out->specs);
        for (size_t i = 0; i < specs->elements; i++)
            parse_keyspec(specs->element[i], &out->specs[out->nspecs++]);
        return;
    }
    if (out->first_key <= 0 && !(out->flags & CMD_MOVABLEKEYS)) return;
    out->specs = xcalloc(1, sizeof *out->specs);
    out->nspecs = 1;
    if (out->flags & CMD_MOVABLEKEYS) return; /* KS_UNKNOWN */
    cmd_keyspec *ks = out->specs;
    ks->begin = KS_INDEX;
    ks->index = out->first_key;
    ks->find = KS_RANGE;
    ks->a = out->last_key < 0 ? out->last_key : out->last_key - out->first_key;
    ks->b = out->key_step > 0 ? out->key_step : 1;
}

static int parse_entry(const redisReply *e, const char *parent, cmd_info *out,
                       tg_err *err)
{
    memset(out, 0, sizeof *out);
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 6 || !is_str(e->element[0]) ||
        e->element[1]->type != REDIS_REPLY_INTEGER ||
        e->element[2]->type != REDIS_REPLY_ARRAY)
        return tg_fail(err, 503, "backend COMMAND reply has an unexpected shape");
    out->name = xstrndup(e->element[0]->str, e->element[0]->len);
    for (char *p = out->name; *p; p++) *p = (char)tolower((unsigned char)*p);
    (void)parent;
    out->arity = (int)e->element[1]->integer;
    const redisReply *flags = e->element[2];
    for (size_t i = 0; i < flags->elements; i++) {
        if (!is_str(flags->element[i])) continue;
        for (size_t k = 0; k < sizeof flag_names / sizeof flag_names[0]; k++)
            if (!strcasecmp(flags->element[i]->str, flag_names[k].name))
                out->flags |= flag_names[k].bit;
    }
    out->first_key = is_int(e->element[3]) ? (int)e->element[3]->integer : 0;
    out->last_key = is_int(e->element[4]) ? (int)e->element[4]->integer : 0;
    out->key_step = is_int(e->element[5]) ? (int)e->element[5]->integer : 0;
    parse_keyspecs(e, out);
    if (e->elements > 6 && e->element[6]->type == REDIS_REPLY_ARRAY) {
        const redisReply *cats = e->element[6];
        for (size_t i = 0; i < cats->elements; i++) {
            if (!is_str(cats->element[i])) continue;
            const char *c = cats->element[i]->str;
            if (*c == '@') c++;
            for (int k = 0; cmd_category_names[k]; k++)
                if (!strcasecmp(c, cmd_category_names[k])) out->categories |= 1ULL << k;
        }
    }
    if (e->elements > 9 && e->element[9]->type == REDIS_REPLY_ARRAY &&
        e->element[9]->elements > 0) {
        const redisReply *subs = e->element[9];
        out->subs = xcalloc(subs->elements, sizeof *out->subs);
        for (size_t i = 0; i < subs->elements; i++) {
            /* Counted even on failure, so info_free releases it. */
            int rc = parse_entry(subs->element[i], out->name, &out->subs[out->nsubs], err);
            out->nsubs++;
            if (rc) return -1;
        }
    }
    return 0;
}

static int cmp_info(const void *a, const void *b)
{
    return strcmp(((const cmd_info *)a)->name, ((const cmd_info *)b)->name);
}

static void info_free(cmd_info *c)
{
    for (size_t i = 0; i < c->nspecs; i++) free(c->specs[i].keyword);
    free(c->specs);
    for (size_t i = 0; i < c->nsubs; i++) info_free(&c->subs[i]);
    free(c->subs);
    free(c->name);
}

cmd_table *cmd_table_from_reply(const redisReply *r, tg_err *err)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        tg_fail(err, 503, "backend COMMAND reply is not a list of commands");
        return NULL;
    }
    cmd_table *t = xcalloc(1, sizeof *t);
    t->cmds = xcalloc(r->elements, sizeof *t->cmds);
    for (size_t i = 0; i < r->elements; i++) {
        if (parse_entry(r->element[i], NULL, &t->cmds[t->n], err)) {
            info_free(&t->cmds[t->n]);
            cmd_table_free(t);
            return NULL;
        }
        cmd_info *c = &t->cmds[t->n++];
        if (c->nsubs) qsort(c->subs, c->nsubs, sizeof *c->subs, cmp_info);
        annotate(c, NULL, CMD_SHARED_REFUSED);
    }
    qsort(t->cmds, t->n, sizeof *t->cmds, cmp_info);
    return t;
}

void cmd_table_free(cmd_table *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) info_free(&t->cmds[i]);
    free(t->cmds);
    free(t);
}

size_t cmd_table_size(const cmd_table *t)
{
    return t->n;
}

static const cmd_info *find(const cmd_info *v, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, v[mid].name);
        if (c == 0) return &v[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

/* Lowercases s[0..n) into out (cap bytes). false if it does not fit. */
static bool lower_into(char *out, size_t cap, const char *s, size_t n)
{
    if (n + 1 > cap) return false;
    for (size_t i = 0; i < n; i++) {
        if (!s[i]) return false;
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    out[n] = '\0';
    return true;
}

const cmd_info *cmd_lookup(const cmd_table *t, int argc, char **argv,
                           const size_t *lens)
{
    char name[128];
    if (argc < 1 || !lower_into(name, 64, argv[0], lens[0])) return NULL;
    const cmd_info *c = find(t->cmds, t->n, name);
    if (!c || !c->nsubs || argc < 2) return c;
    size_t nl = strlen(name);
    name[nl] = '|';
    if (!lower_into(name + nl + 1, sizeof name - nl - 1, argv[1], lens[1])) return c;
    const cmd_info *sub = find(c->subs, c->nsubs, name);
    return sub ? sub : c;
}

/* ==== Locating keys ==== */

static bool parse_count(const char *s, size_t n, long long *out)
{
    if (n == 0 || n > 18) return false;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* The same steps as Redis's getKeysUsingKeySpecs, so the gateway and the
 * server agree on which arguments are keys. */
int cmd_mark_keys(const cmd_info *c, int argc, char *const *argv, const size_t *lens,
                  uint8_t *is_key)
{
    for (size_t s = 0; s < c->nspecs; s++) {
        const cmd_keyspec *ks = &c->specs[s];
        int first = 0, last, step;
        if (ks->begin == KS_INDEX) {
            first = ks->index;
        } else if (ks->begin == KS_KEYWORD) {
            int from = ks->index > 0 ? ks->index : argc + ks->index;
            int to = ks->index > 0 ? argc - 1 : 1;
            int seen = 0;
            for (int i = from; i != to; i = from <= to ? i + 1 : i - 1) {
                if (i >= argc || i < 1) break;
                if (cmd_word_is(argv[i], ks->keyword)) {
                    if (!seen++) first = i + 1;
                }
            }
            if (!first) continue; /* keyword absent: no keys from this spec */
            /* The spec takes the first occurrence, but a command's parser
             * may use the last (GEORADIUS ... STORE a STORE b writes b):
             * a repeated keyword leaves the keys unknown - except STREAMS,
             * where XREAD's parser stops at the first too, so a stream
             * named "streams" works. */
            if (seen > 1 && !cmd_word_is(ks->keyword, "streams")) return -1;
        } else {
            return -1;
        }
        if (ks->find == KS_RANGE) {
            if (ks->a >= 0) last = first + ks->a;
            else if (!ks->c) last = argc + ks->a;
            else last = first + ((argc - first) / ks->c + ks->a);
            step = ks->b;
        } else if (ks->find == KS_KEYNUM) {
            long long nk;
            int at = first + ks->a;
            if (at >= argc || !parse_count(argv[at], lens[at], &nk) || nk > argc) return -2;
            first += ks->b;
            last = first + (int)nk - 1;
            step = ks->c;
        } else {
            return -1;
        }
        for (int i = first; i <= last && i < argc; i += step)
            if (i >= 1) is_key[i] = 1;
    }
    return 0;
}

/* ==== Policy ==== */

bool cmd_word_is(const char *arg, const char *word)
{
    return !strcasecmp(arg, word);
}

/* XREAD/XREADGROUP block only with a BLOCK option. Options are read the
 * way Redis reads them: COUNT and GROUP take values (a group or key may be
 * called "block"), and STREAMS ends them. */
static bool stream_read_blocks(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (cmd_word_is(argv[i], "streams")) return false;
        if (cmd_word_is(argv[i], "block")) return true;
        if (cmd_word_is(argv[i], "count")) i += 1;
        else if (cmd_word_is(argv[i], "group")) i += 2;
    }
    return false;
}

int policy_check(const cmd_table *t, auth_scope scope, const cmd_caps *caps,
                 int argc, char **argv, size_t *lens, cmd_verdict *out, tg_err *err)
{
    memset(out, 0, sizeof *out);
    if (argc < 1 || lens[0] == 0) return tg_fail(err, 400, "ERR empty command");
    char name[64]; /* as the caller wrote it, lowercased, for messages */
    if (!lower_into(name, sizeof name, argv[0], lens[0]))
        return tg_fail(err, 400, "ERR unknown command name");
    const cmd_info *c = cmd_lookup(t, argc, argv, lens);
    if (!c) {
        /* Unknown to the backend: Redis answers with its own error, unless
         * it is one of ours by name (a command of a newer Redis). */
        const char *why = refusal_of(name);
        if (why) return tg_fail(err, 400, "ERR command '%s' is not allowed: %s", name, why);
        return 0;
    }
    out->info = c;
    /* A container whose subcommand did not resolve (unknown, or with a NUL
     * byte Redis may still match): never judged as the bare container. */
    if (c->nsubs && argc >= 2)
        return tg_fail(err, 400, "ERR unknown subcommand for '%s'", name);
    if (c->refused_why) /* name the subcommand when the refusal is its own */
        return tg_fail(err, 400, "ERR command '%s' is not allowed: %s",
                       refusal_of(c->name) ? c->name : name, c->refused_why);
    out->is_free = (c->policy & CMD_POLICY_FREE) != 0;

    uint32_t f = c->flags;
    if (f & CMD_ADMIN)
        return tg_fail(err, 400, "ERR command '%s' is not allowed: administration", name);
    /* XREAD/XREADGROUP only block with BLOCK; without it they are reads. */
    if ((f & CMD_BLOCKING) && (!(c->policy & CMD_POLICY_STREAM_READ) ||
                               stream_read_blocks(argc, argv)))
        return tg_fail(err, 400, "ERR command '%s' is not allowed: it blocks "
                       "the connection", name);
    if ((c->policy & CMD_POLICY_RESTORE) && !caps->restore_checked)
        return tg_fail(err, 400, "ERR command '%s' is not allowed: this backend does not "
                       "check dump payloads (sanitize-dump-payload is not yes)", name);
    if (!caps->scripts_framed && (c->categories & CMD_CAT_SCRIPTING))
        return tg_fail(err, 400, "ERR command '%s' is not allowed: scripting is disabled on "
                       "this backend (its script replies can carry line breaks: "
                       "CVE-2025-67733; upgrade Redis)", name);
    if (!caps->scripts_contained && (c->categories & CMD_CAT_SCRIPTING))
        return tg_fail(err, 400, "ERR command '%s' is not allowed: scripting is "
                       "disabled on this backend (tollgate could not create its "
                       "restricted ACL user)", name);
    if (scope == AUTH_SCOPE_RO) {
        bool ro_ok = (f & CMD_READONLY) ||
                     !(f & (CMD_WRITE | CMD_MAY_REPLICATE | CMD_NOSCRIPT | CMD_PUBSUB));
        if (!ro_ok || (c->policy & CMD_POLICY_RO_REFUSED))
            return tg_fail(err, 403, "NOPERM this token is read-only: command "
                           "'%s' is not allowed", name);
    }
    /* Scripts and publishes may write: they move the sync token too. */
    out->is_write = (f & (CMD_WRITE | CMD_MAY_REPLICATE)) != 0 ||
                    (c->categories & (CMD_CAT_SCRIPTING | CMD_CAT_PUBSUB)) != 0;
    if (c->policy & CMD_POLICY_FLUSHALL) {
        /* A database is one logical DB: FLUSHALL must not empty the others. */
        argv[0] = (char *)"FLUSHDB";
        lens[0] = 7;
    }
    return 0;
}

/* ==== Per-token rules ==== */

static int category_bit(const char *name, size_t n)
{
    for (int k = 0; cmd_category_names[k]; k++)
        if (strlen(cmd_category_names[k]) == n && !strncmp(cmd_category_names[k], name, n))
            return k;
    return -1;
}

/* Does one rule entry e[0..n) match the command? */
static bool rule_matches(const char *e, size_t n, const cmd_info *c, const char *name)
{
    if (n > 0 && e[0] == '@') {
        int bit = category_bit(e + 1, n - 1);
        return c && bit >= 0 && (c->categories & (1ULL << bit));
    }
    const char *full = c ? c->name : name;
    if (strlen(full) == n && !strncmp(full, e, n)) return true;
    /* "config" covers "config|get". */
    const char *bar = strchr(full, '|');
    return bar && (size_t)(bar - full) == n && !strncmp(full, e, n);
}

static bool rules_match(const char *rules, const cmd_info *c, const char *name)
{
    for (const char *p = rules; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (rule_matches(p, n, c, name)) return true;
        p += n + (comma ? 1 : 0);
    }
    return false;
}

int policy_check_rules(const cmd_info *c, const char *name, size_t name_len,
                       const char *allow, const char *deny, tg_err *err)
{
    char lower[64];
    if (!allow && !deny) return 0;
    if (!lower_into(lower, sizeof lower, name, name_len))
        return tg_fail(err, 403, "NOPERM this token may not run this command");
    /* FLUSHALL runs as FLUSHDB: a rule against flushdb covers it too. */
    bool as_flushdb = c && (c->policy & CMD_POLICY_FLUSHALL);
    if ((allow && !rules_match(allow, c, lower)) ||
        (deny && (rules_match(deny, c, lower) ||
                  (as_flushdb && rules_match(deny, NULL, "flushdb")))))
        return tg_fail(err, 403, "NOPERM this token may not run '%s'", lower);
    return 0;
}

int policy_rules_valid(const char *rules, tg_err *err)
{
    for (const char *p = rules; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n > 0 && p[0] == '@' && category_bit(p + 1, n - 1) < 0)
            return tg_fail(err, 400, "unknown command category '%.*s'", (int)n, p);
        p += n + (comma ? 1 : 0);
    }
    return 0;
}
