/* policy.c - see policy.h: what a token may run. */
#include "gateway/policy/policy.h"

#include <string.h>
#include <strings.h>

#include "common/table.h"
#include "gateway/policy/keyspace.h"

/* ==== Tables ==== */

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



static const char *refusal_of(const char *name)
{
    int i = FIND_NAMED(refused, name);
    return i < 0 ? NULL : refused[i].why;
}

void policy_annotate(cmd_info *c, const cmd_info *parent)
{
    c->refused_why = parent && parent->refused_why ? parent->refused_why
                                                   : refusal_of(c->name);
    c->policy = (IN(c->name, ro_refused) ? CMD_POLICY_RO_REFUSED : 0) |
                (IN(c->name, free_cmds) ? CMD_POLICY_FREE : 0) |
                (IN(c->name, stream_reads) ? CMD_POLICY_STREAM_READ : 0) |
                (!strcmp(c->name, "flushall") ? CMD_POLICY_FLUSHALL : 0) |
                (IN(c->name, restores) ? CMD_POLICY_RESTORE : 0);
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

int policy_check(const cmd_table *t, auth_scope scope, const cmd_caps *caps,
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
    if (!cmd_name_lower(lower, sizeof lower, name, name_len))
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

/* ==== Scripts on a shared server ==== */

int policy_check_shared_scripts(int mode, const cmd_info *c, tg_err *err)
{
    if (!c || !(c->categories & CMD_CAT_SCRIPTING) || mode == CFG_SHARED_SCRIPTS_ALL)
        return 0;
    bool harmless = (c->flags & CMD_READONLY) || !strcmp(c->name, "script|load") ||
                    !strcmp(c->name, "script|exists");
    if (mode == CFG_SHARED_SCRIPTS_READ_ONLY && harmless) return 0;
    return tg_fail(err, 400, "ERR command '%s' is not allowed on a shared database here "
                   "(shared_scripts = %s)%s", c->name, config_shared_scripts_names[mode],
                   mode != CFG_SHARED_SCRIPTS_OFF ? ": use EVAL_RO / EVALSHA_RO" : "");
}
