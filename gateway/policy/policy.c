/* policy.c - see policy.h: what a token may run. */
#include "gateway/policy/policy.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/mem.h"
#include "common/table.h"
#include "gateway/policy/keyspace.h"
#include "gateway/protocol/script_flags.h"

/* ==== Tables ==== */

/* Commands refused for every token, with the reason shown to the caller
 * (NULL: allowed, though its container is refused: MEMORY USAGE reads one
 * key), and whether a database that owns its whole server (isolation
 * `server`) runs it after all: there, what it reaches is the tenant's own.
 * Flag-based rules (admin, blocking) live in policy_check below and hold
 * in every isolation; these are the ones whose flags do not say what they
 * do to a shared connection or server. Subcommands inherit their
 * container's row unless they have their own. */
static const struct {
    const char *name;
    const char *why;
    bool server;             /* allowed where the database owns the server */
} refused[] = {
    {"acl", "administration", false},
    {"asking", "cluster connection state", false},
    {"auth", "the gateway authenticates you with your token", false},
    {"client", "connection state", false},
    {"cluster", "administration", false},
    {"config", "administration", false},
    {"debug", "administration", false},
    {"discard", "transactions use the /multi-exec endpoint", false},
    {"exec", "transactions use the /multi-exec endpoint", false},
    {"failover", "administration", false},
    {"function", "functions are shared by every database on the backend", true},
    {"hello", "connection state", false},
    {"info", "server-wide information", true},
    {"memory", "server-wide information", false},
    {"memory|stats", "server-wide information", true},
    {"memory|usage", NULL, false},
    {"migrate", "moves keys to another server", false},
    {"module", "administration", false},
    {"monitor", "streaming is not served on this endpoint", false},
    {"move", "moves keys to another database", false},
    {"multi", "transactions use the /multi-exec endpoint", false},
    {"psubscribe", "subscriptions are not served on this endpoint", false},
    {"pubsub", "server-wide information", false},
    {"psync", "replication", false},
    {"punsubscribe", "subscriptions are not served on this endpoint", false},
    {"quit", "connection state", false},
    {"readonly", "cluster connection state", false},
    {"readwrite", "cluster connection state", false},
    {"replicaof", "replication", false},
    {"reset", "connection state", false},
    {"script|debug", "connection state", false},
    {"script|flush", "scripts are shared by every database on the backend", true},
    {"script|kill", "scripts are shared by every database on the backend", false},
    {"select", "a token is bound to one database", false},
    {"shutdown", "administration", false},
    {"slaveof", "replication", false},
    {"ssubscribe", "subscriptions are not served on this endpoint", false},
    {"subscribe", "subscriptions are not served on this endpoint", false},
    {"sunsubscribe", "subscriptions are not served on this endpoint", false},
    {"swapdb", "touches other databases", false},
    {"sync", "replication", false},
    {"unsubscribe", "subscriptions are not served on this endpoint", false},
    {"unwatch", "connection state", false},
    {"wait", "blocks the connection", false},
    {"waitaof", "blocks the connection", false},
    {"watch", "connection state", false},
};

/* INFO where the database owns its server: the sections about the
 * tenant's data and load, not the host's (server: paths, pid, ports, OS;
 * replication: other hosts' addresses; modules). INFO without a section
 * asks for all of these (Redis 7 takes several). */
static const char *const info_sections[] = {
    "clients", "memory", "persistence", "stats", "cpu", "commandstats",
    "errorstats", "latencystats", "keyspace", "cluster",
};
#define INFO_SECTIONS_N (sizeof info_sections / sizeof info_sections[0])
/* `INFO <every safe section>`, the argument vector INFO alone becomes
 * (never written to: argv is char ** only by the convention of tg_cmd). */
static char *info_safe_argv[INFO_SECTIONS_N + 1];
static size_t info_safe_lens[INFO_SECTIONS_N + 1];
static pthread_once_t info_once = PTHREAD_ONCE_INIT;

static void info_init(void)
{
    info_safe_argv[0] = (char *)"INFO";
    for (size_t i = 0; i < INFO_SECTIONS_N; i++) info_safe_argv[i + 1] = (char *)info_sections[i];
    for (size_t i = 0; i <= INFO_SECTIONS_N; i++) info_safe_lens[i] = strlen(info_safe_argv[i]);
}

/* COPY src dst [DB n] [REPLACE]: the DB option writes into another logical
 * database, so it is refused; within the caller's database COPY runs as
 * the backend URL's user (policy.h: cmd_verdict.as_url), since the
 * restricted users may not COPY (Lua could name a DB there). */
static const char *const copies[] = {"copy"};

/* Read-only tokens: like Upstash, no key enumeration either (RANDOMKEY
 * names keys one at a time). */
static const char *const ro_refused[] = {"keys", "scan", "randomkey"};

/* Commands that run or load a script, and where the script is named (the
 * approved list of shared_scripts = approved). */
typedef enum { SCRIPT_BODY, SCRIPT_SHA, SCRIPT_FUNCTION, SCRIPT_LOAD } script_arg;

static const struct {
    const char *name;
    script_arg arg;
} script_runners[] = {
    {"eval", SCRIPT_BODY},         {"eval_ro", SCRIPT_BODY},
    {"evalsha", SCRIPT_SHA},       {"evalsha_ro", SCRIPT_SHA},
    {"fcall", SCRIPT_FUNCTION},    {"fcall_ro", SCRIPT_FUNCTION},
    {"script|load", SCRIPT_LOAD},
};

/* Billing: connection housekeeping is free (Upstash's rule). */
static const char *const free_cmds[] = {
    "auth", "command", "config", "echo", "hello", "info", "ping", "quit",
    "reset", "select",
};

static const char *const stream_reads[] = {"xread", "xreadgroup"};

/* Deserialise client-made payloads: only on a backend that checks them. */
static const char *const restores[] = {"restore", "restore-asking"};

/* Size arguments (policy_check_sizes): where they are and what they make
 * Redis build. A keyword row applies after each occurrence of the keyword
 * among the options (arg counts from it: BITFIELD SET <type> <offset>). */
typedef enum {
    SIZE_COUNT,       /* negative: that many reply elements */
    SIZE_BIT_OFFSET,  /* the value grows to offset / 8 + 1 bytes */
    SIZE_BYTE_OFFSET, /* the value grows to offset + len(next argument) */
    SIZE_FIELD_OFFSET /* BITFIELD: arg is the offset, arg - 1 its type */
} size_rule;

static const struct {
    const char *name;
    const char *keyword; /* NULL: arg is a position in argv */
    int arg;
    size_rule rule;
} sized_args[] = {
    {"srandmember", NULL, 2, SIZE_COUNT},
    {"zrandmember", NULL, 2, SIZE_COUNT},
    {"hrandfield", NULL, 2, SIZE_COUNT},
    {"setbit", NULL, 2, SIZE_BIT_OFFSET},
    {"setrange", NULL, 2, SIZE_BYTE_OFFSET},
    {"bitfield", "set", 2, SIZE_FIELD_OFFSET},
    {"bitfield", "incrby", 2, SIZE_FIELD_OFFSET},
};

/* BITFIELD's operations and their argument counts, to walk its options
 * the way Redis does (a value may read "set"). */
static const struct {
    const char *name;
    int nargs;
} bitfield_ops[] = {{"get", 2}, {"set", 3}, {"incrby", 3}, {"overflow", 1}};



static const char *refusal_of(const char *name)
{
    int i = FIND_NAMED(refused, name);
    return i < 0 ? NULL : refused[i].why;
}

void policy_annotate(cmd_info *c, const cmd_info *parent)
{
    int row = FIND_NAMED(refused, c->name);
    bool server_ok;
    if (row >= 0) { /* its own row, else its container's */
        c->refused_why = refused[row].why;
        server_ok = refused[row].server;
    } else {
        c->refused_why = parent ? parent->refused_why : NULL;
        server_ok = parent && (parent->policy & CMD_POLICY_SERVER);
    }
    c->policy = (IN(c->name, ro_refused) ? CMD_POLICY_RO_REFUSED : 0) |
                (server_ok ? CMD_POLICY_SERVER : 0) |
                (!strcmp(c->name, "info") ? CMD_POLICY_INFO : 0) |
                (IN(c->name, copies) ? CMD_POLICY_COPY : 0) |
                (IN(c->name, free_cmds) ? CMD_POLICY_FREE : 0) |
                (IN(c->name, stream_reads) ? CMD_POLICY_STREAM_READ : 0) |
                (!strcmp(c->name, "flushall") ? CMD_POLICY_FLUSHALL : 0) |
                (IN(c->name, restores) ? CMD_POLICY_RESTORE : 0) |
                (FIND_NAMED(sized_args, c->name) >= 0 ? CMD_POLICY_SIZED : 0) |
                (FIND_NAMED(script_runners, c->name) >= 0 ? CMD_POLICY_SCRIPT : 0);
    keyspace_annotate(c, parent);
}

/* ==== Policy ==== */


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

/* INFO where the database owns its server: only the sections of
 * info_sections; none asks for them all (out->argv). */
static int check_info(int argc, char **argv, cmd_verdict *out, tg_err *err)
{
    if (argc == 1) {
        pthread_once(&info_once, info_init);
        out->argv = info_safe_argv;
        out->lens = info_safe_lens;
        out->argc = (int)INFO_SECTIONS_N + 1;
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        bool safe = false;
        for (size_t k = 0; k < INFO_SECTIONS_N; k++)
            if (cmd_word_is(argv[i], info_sections[k])) safe = true;
        if (!safe)
            return tg_fail(err, 400, "ERR INFO section '%.40s' is not available: ask for "
                           "clients, memory, persistence, stats, cpu, commandstats, "
                           "errorstats, latencystats, keyspace or cluster", argv[i]);
    }
    return 0;
}

/* COPY src dst [DB n] [REPLACE]: only within the caller's database. */
static int check_copy(int argc, char **argv, bool owns_server, cmd_verdict *out, tg_err *err)
{
    for (int i = 3; i < argc; i++)
        if (cmd_word_is(argv[i], "db"))
            return tg_fail(err, 400, "ERR command 'copy' is not allowed with the DB option: "
                           "a token is bound to one database (copy within it)");
    out->as_url = !owns_server;
    return 0;
}

int policy_check(const cmd_table *t, auth_scope scope, bool owns_server, const cmd_caps *caps,
                 int argc, char **argv, size_t *lens, cmd_verdict *out, tg_err *err)
{
    memset(out, 0, sizeof *out);
    if (argc < 1 || lens[0] == 0) return tg_fail(err, 400, "ERR empty command");
    char name[64]; /* as the caller wrote it, lowercased, for messages */
    if (!cmd_name_lower(name, sizeof name, argv[0], lens[0]))
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
    if (c->refused_why && !(owns_server && (c->policy & CMD_POLICY_SERVER)))
        /* name the subcommand when the refusal is its own */
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
        /* EVAL_RO cannot write, but may call KEYS / SCAN / RANDOMKEY. */
        if (c->policy & CMD_POLICY_SCRIPT)
            return tg_fail(err, 403, "NOPERM this token is read-only: command '%s' is "
                           "not allowed (a script could enumerate keys)", name);
    }
    /* Scripts and publishes may write: they move the sync token too. */
    out->is_write = (f & (CMD_WRITE | CMD_MAY_REPLICATE)) != 0 ||
                    (c->categories & (CMD_CAT_SCRIPTING | CMD_CAT_PUBSUB)) != 0;
    if ((c->policy & CMD_POLICY_INFO) && owns_server && check_info(argc, argv, out, err))
        return -1;
    if ((c->policy & CMD_POLICY_COPY) && check_copy(argc, argv, owns_server, out, err))
        return -1;
    if ((c->policy & CMD_POLICY_FLUSHALL) && !owns_server) {
        /* A database is one logical DB: FLUSHALL must not empty the others. */
        argv[0] = (char *)"FLUSHDB";
        lens[0] = 7;
    }
    return 0;
}

int policy_check_head(const cmd_verdict *v, tg_err *err)
{
    if (!v->is_write && v->info) return 0;
    /* Unknown to the backend: its effect is unknown too. */
    return tg_fail(err, 405, "ERR command '%s' is not allowed on HEAD: it may write (use "
                   "GET, POST or PUT)", v->info ? v->info->name : "(unknown)");
}

/* ==== Size arguments ==== */

/* argv[i] as Redis reads an integer; false if it is not one. */
static bool arg_int(const char *s, size_t n, long long *out)
{
    char tmp[32];
    if (n == 0 || n >= sizeof tmp) return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    *out = strtoll(tmp, &end, 10);
    return !errno && *end == '\0';
}

/* The bytes a value reaches with offset off under rule (0: no growth), at
 * argv[i]; a BITFIELD offset may be `#N` (N times the type's width). */
static uint64_t grown_bytes(size_rule rule, int argc, char **argv, const size_t *lens, int i)
{
    long long off, width = 1;
    const char *s = argv[i];
    size_t n = lens[i];
    if (rule == SIZE_FIELD_OFFSET) {
        /* type: i<bits> or u<bits>, 1..64 */
        if (!arg_int(argv[i - 1] + 1, lens[i - 1] ? lens[i - 1] - 1 : 0, &width) ||
            width < 1 || width > 64)
            return 0;
        if (n > 0 && s[0] == '#') s++, n--;
        else width = 1;
    }
    if (!arg_int(s, n, &off) || off < 0) return 0;
    uint64_t u = (uint64_t)off;
    switch (rule) {
    case SIZE_BIT_OFFSET: return u / 8 + 1;
    case SIZE_BYTE_OFFSET: return u + (i + 1 < argc ? lens[i + 1] : 0);
    case SIZE_FIELD_OFFSET: /* the field's last bit, in bytes */
        return u > (UINT64_MAX - 64) / 64 ? UINT64_MAX : (u * (uint64_t)width + 64) / 8;
    case SIZE_COUNT: break;
    }
    return 0;
}

/* Where a keyword row's argument is, for each occurrence: BITFIELD's
 * operations walked by their arities. -1 when there is none after from. */
static int keyword_arg(const char *keyword, int arg, int argc, char **argv, int *from)
{
    for (int i = *from; i < argc;) {
        int op = -1;
        for (int k = 0; k < (int)(sizeof bitfield_ops / sizeof bitfield_ops[0]); k++)
            if (cmd_word_is(argv[i], bitfield_ops[k].name)) op = k;
        if (op < 0) return -1; /* Redis refuses the command */
        *from = i + 1 + bitfield_ops[op].nargs;
        if (cmd_word_is(argv[i], keyword) && i + arg < argc) return i + arg;
        i = *from;
    }
    return -1;
}

int policy_check_sizes(const cmd_info *c, int argc, char **argv, const size_t *lens,
                       uint64_t cap, uint64_t *floor, tg_err *err)
{
    if (!c || !(c->policy & CMD_POLICY_SIZED)) return 0;
    for (size_t r = 0; r < sizeof sized_args / sizeof sized_args[0]; r++) {
        if (strcmp(sized_args[r].name, c->name)) continue;
        size_rule rule = sized_args[r].rule;
        int i = sized_args[r].keyword ? -1 : sized_args[r].arg, from = 2;
        for (;;) {
            if (sized_args[r].keyword)
                i = keyword_arg(sized_args[r].keyword, sized_args[r].arg, argc, argv, &from);
            if (i < 0 || i >= argc) break;
            long long count;
            if (rule == SIZE_COUNT) {
                if (arg_int(argv[i], lens[i], &count) && count < 0) {
                    /* 6 bytes an element at least; -count fits in uint64 */
                    uint64_t least = ((uint64_t)-(count + 1) + 1) * 6;
                    if (least / 6 != (uint64_t)-(count + 1) + 1 || least > cap - *floor)
                        return tg_fail(err, 400, "ERR count out of range for '%s': a "
                                       "negative count may ask for at most %llu elements "
                                       "in a request (max_reply_bytes / 6)", c->name,
                                       (unsigned long long)((cap - *floor) / 6));
                    *floor += least;
                }
            } else if (grown_bytes(rule, argc, argv, lens, i) > cap) {
                return tg_fail(err, 400, "ERR offset out of range for '%s': values may "
                               "grow to at most %llu bytes here (max_reply_bytes)",
                               c->name, (unsigned long long)cap);
            }
            if (!sized_args[r].keyword) break;
        }
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
    if (!cmd_name_lower(lower, sizeof lower, name, name_len))
        return tg_fail(err, 403, "NOPERM this token may not run this command");
    if (c && (c->policy & CMD_POLICY_SCRIPT))
        return tg_fail(err, 403, "NOPERM this token may not run '%s': its command rules "
                       "(--allow / --deny) do not hold inside scripts", lower);
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

/* ==== Scripts on a shared server ==== */

struct policy_scripts {
    size_t n;
    char (*sha)[41];             /* sorted, lowercase */
};

static bool sha_hex_valid(const char *p, size_t n)
{
    if (n != 40) return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)p[i])) return false;
    return true;
}

static void scripts_add(policy_scripts *s, size_t *cap, const char *hex)
{
    if (s->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        s->sha = xrealloc(s->sha, *cap * sizeof *s->sha);
    }
    for (int i = 0; i < 40; i++) s->sha[s->n][i] = (char)tolower((unsigned char)hex[i]);
    s->sha[s->n++][40] = '\0';
}

static int sha_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 40);
}

/* setting as a list: every item 40 hex digits. False (nothing added) if
 * any is not, so the setting names a file. */
static bool scripts_parse_list(policy_scripts *s, size_t *cap, const char *setting)
{
    const char *sep = ", \t";
    for (const char *p = setting + strspn(setting, sep); *p; p += strspn(p, sep)) {
        size_t n = strcspn(p, sep);
        if (!sha_hex_valid(p, n)) return false;
        p += n;
    }
    for (const char *p = setting + strspn(setting, sep); *p; p += strspn(p, sep)) {
        scripts_add(s, cap, p);
        p += strcspn(p, sep);
    }
    return true;
}

/* Reads SHA-1 lines from f (name: for messages). */
static int scripts_read(policy_scripts *s, size_t *cap, FILE *f, const char *name,
                        tg_err *err)
{
    char line[512];
    for (int no = 1; fgets(line, sizeof line, f); no++) {
        const char *p = line + strspn(line, " \t");
        size_t n = strcspn(p, " \t\r\n");
        if (n == 0 || p[0] == '#') continue;
        if (!sha_hex_valid(p, n))
            return tg_fail(err, 400, "approved_scripts: %s:%d: not a SHA-1 (40 hex digits)",
                           name, no);
        scripts_add(s, cap, p);
    }
    return 0;
}

static int scripts_read_file(policy_scripts *s, size_t *cap, const char *path, tg_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return tg_fail(err, 400, "approved_scripts: %s: %s (a file of SHA-1 lines, or "
                       "a comma-separated list)", path, strerror(errno));
    int rc = scripts_read(s, cap, f, path, err);
    fclose(f);
    return rc;
}

/* The list shipped with tollgate (tools/approved-scripts.txt, embedded). */
static int scripts_read_builtin(policy_scripts *s, size_t *cap, tg_err *err)
{
    FILE *f = fmemopen((void *)policy_builtin_scripts, strlen(policy_builtin_scripts), "r");
    if (!f) return tg_fail(err, 500, "approved_scripts: %s", strerror(errno));
    int rc = scripts_read(s, cap, f, "(built in)", err);
    fclose(f);
    return rc;
}

policy_scripts *policy_scripts_load(const char *setting, tg_err *err)
{
    policy_scripts *s = xcalloc(1, sizeof *s);
    size_t cap = 0;
    int rc = 0;
    if (!setting || !*setting) rc = scripts_read_builtin(s, &cap, err);
    else if (strcmp(setting, "none") && !scripts_parse_list(s, &cap, setting))
        rc = scripts_read_file(s, &cap, setting, err);
    if (rc) {
        policy_scripts_free(s);
        return NULL;
    }
    if (s->n) qsort(s->sha, s->n, sizeof *s->sha, sha_cmp);
    return s;
}

void policy_scripts_free(policy_scripts *s)
{
    if (!s) return;
    free(s->sha);
    free(s);
}

size_t policy_scripts_count(const policy_scripts *s)
{
    return s ? s->n : 0;
}

bool policy_scripts_has(const policy_scripts *s, const char *hex, size_t n)
{
    if (!s || !s->n || !sha_hex_valid(hex, n)) return false;
    char key[41];
    for (int i = 0; i < 40; i++) key[i] = (char)tolower((unsigned char)hex[i]);
    key[40] = '\0';
    return bsearch(key, s->sha, s->n, sizeof *s->sha, sha_cmp) != NULL;
}

/* Whether approved mode runs c: FCALL, or a script whose SHA-1 (into
 * sha, "" when it has none) is approved. */
static bool script_approved(const policy_scripts *approved, const cmd_info *c, int argc,
                            char **argv, const size_t *lens, char sha[41])
{
    sha[0] = '\0';
    int i = FIND_NAMED(script_runners, c->name);
    if (i < 0 || argc < 2) return false;
    switch (script_runners[i].arg) {
    case SCRIPT_FUNCTION: return true;
    case SCRIPT_BODY: script_sha1_hex(argv[1], lens[1], sha); break;
    case SCRIPT_SHA:
        if (!sha_hex_valid(argv[1], lens[1])) return false;
        for (int k = 0; k < 40; k++) sha[k] = (char)tolower((unsigned char)argv[1][k]);
        sha[40] = '\0';
        break;
    case SCRIPT_LOAD: return false;
    }
    return policy_scripts_has(approved, sha, 40);
}

int policy_check_shared_scripts(int mode, const policy_scripts *approved, const cmd_info *c,
                                int argc, char **argv, const size_t *lens, tg_err *err)
{
    if (!c || !(c->categories & CMD_CAT_SCRIPTING) || mode == CFG_SHARED_SCRIPTS_ALL)
        return 0;
    bool harmless = (c->flags & CMD_READONLY) || !strcmp(c->name, "script|load") ||
                    !strcmp(c->name, "script|exists");
    if (mode != CFG_SHARED_SCRIPTS_OFF && harmless) return 0;
    char sha[41] = "";
    if (mode == CFG_SHARED_SCRIPTS_APPROVED &&
        script_approved(approved, c, argc, argv, lens, sha))
        return 0;
    return tg_fail(err, 400, "ERR command '%s' is not allowed on a Redis server other "
                   "databases share (shared_scripts = %s)%s%s%s", c->name,
                   config_shared_scripts_names[mode],
                   mode != CFG_SHARED_SCRIPTS_OFF ? ": use EVAL_RO / EVALSHA_RO" : "",
                   sha[0] ? ", or have the operator approve script " : "", sha);
}
