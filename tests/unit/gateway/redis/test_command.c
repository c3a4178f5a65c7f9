/* test_command.c - gateway/redis/command_table.h: the COMMAND table and the policy.
 * The table is built from RESP text shaped like Redis 7's COMMAND reply,
 * parsed by hiredis's reader. */
#include <hiredis/hiredis.h>
#include <stdlib.h>

#include "common/buf.h"
#include "gateway/policy/policy.h"
#include "gateway/redis/command_table.h"
#include "tests/unit/testhelp.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#define LEAKS_NOW() __lsan_do_recoverable_leak_check()
#else
#define LEAKS_NOW() 0 /* only the sanitizer build can see leaks */
#endif

/* ==== Building a COMMAND reply ==== */

static void bulk(buf *b, const char *s)
{
    buf_printf(b, "$%zu\r\n%s\r\n", strlen(s), s);
}

/* Array of space-separated words, as status (flags) or bulk strings. */
static void words(buf *b, const char *list, bool status)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", list);
    int n = 0;
    for (char *w = strtok(tmp, " "); w; w = strtok(NULL, " ")) n++;
    buf_printf(b, "*%d\r\n", n);
    snprintf(tmp, sizeof tmp, "%s", list);
    for (char *w = strtok(tmp, " "); w; w = strtok(NULL, " ")) {
        if (status) buf_printf(b, "+%s\r\n", w);
        else bulk(b, w);
    }
}

/* One 10-element entry: name, arity, flags, first, last, step, categories,
 * tips, key specs, subcommands. The caller writes nsubs entries next. */
static void entry(buf *b, const char *name, int arity, const char *flags,
                  int first, int last, int step, const char *cats, int nsubs)
{
    buf_puts(b, "*10\r\n");
    bulk(b, name);
    buf_printf(b, ":%d\r\n", arity);
    words(b, flags, true);
    buf_printf(b, ":%d\r\n:%d\r\n:%d\r\n", first, last, step);
    words(b, cats, false);
    words(b, first ? "" : "nondeterministic_output", false); /* tips */
    if (first) /* one key spec, nested the way Redis 7 sends it */
        buf_printf(b, "*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+ACCESS\r\n"
                   "$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n"
                   "$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:%d\r\n$9\r\nfind_keys\r\n"
                   "*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n"
                   "$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n",
                   first);
    else
        buf_puts(b, "*0\r\n");
    buf_printf(b, "*%d\r\n", nsubs);
}

static redisReply *parse(const char *s, size_t n)
{
    redisReader *rd = redisReaderCreate();
    void *r = NULL;
    if (redisReaderFeed(rd, s, n) != REDIS_OK || redisReaderGetReply(rd, &r) != REDIS_OK)
        r = NULL;
    redisReaderFree(rd);
    return r;
}

static cmd_table *table;

static cmd_table *build_table(void)
{
    buf b;
    buf_init(&b);
    int n = 0;
#define E(...) (entry(&b, __VA_ARGS__), n++)
    E("set", -3, "write denyoom", 1, 1, 1, "@write @string @slow", 0);
    E("get", 2, "readonly fast", 1, 1, 1, "@read @string @fast", 0);
    E("blpop", -3, "write blocking", 1, -2, 1, "@write @list @slow @blocking", 0);
    E("xread", -4, "readonly blocking movablekeys", 0, 0, 0, "@read @stream @slow @blocking", 0);
    E("xreadgroup", -7, "write blocking movablekeys", 0, 0, 0, "@write @stream @slow @blocking", 0);
    E("keys", 2, "readonly", 0, 0, 0, "@keyspace @read @slow @dangerous", 0);
    E("scan", -2, "readonly", 0, 0, 0, "@keyspace @read @slow", 0);
    E("randomkey", 1, "readonly", 0, 0, 0, "@keyspace @read @slow", 0);
    E("ping", -1, "fast", 0, 0, 0, "@fast @connection", 0);
    E("echo", 2, "fast", 0, 0, 0, "@fast @connection", 0);
    E("eval", -3, "noscript skip_monitor may_replicate no_mandatory_keys stale movablekeys",
      0, 0, 0, "@slow @scripting", 0);
    E("eval_ro", -3, "readonly noscript skip_monitor no_mandatory_keys stale movablekeys",
      0, 0, 0, "@read @slow @scripting", 0);
    E("publish", 3, "pubsub loading stale fast may_replicate", 0, 0, 0, "@pubsub @fast", 0);
    E("flushall", -1, "write", 0, 0, 0, "@keyspace @write @slow @dangerous", 0);
    E("copy", -3, "write denyoom", 1, 2, 1, "@keyspace @write @slow", 0);
    E("dbsize", 1, "readonly fast", 0, 0, 0, "@keyspace @read @fast", 0);
    E("info", -1, "loading stale", 0, 0, 0, "@slow @dangerous", 0);
    E("fcall", -3, "noscript skip_monitor may_replicate no_mandatory_keys stale movablekeys",
      0, 0, 0, "@slow @scripting", 0);
    E("debug", -2, "admin noscript loading stale", 0, 0, 0, "@admin @slow @dangerous", 0);
    E("shutdown", -1, "admin noscript loading stale", 0, 0, 0, "@admin @slow @dangerous", 0);
    E("replicaof", 3, "admin noscript stale", 0, 0, 0, "@admin @slow @dangerous", 0);
    E("memory", -2, "", 0, 0, 0, "@slow", 3);
    entry(&b, "memory|usage", -3, "readonly", 2, 2, 1, "@read @slow", 0);
    entry(&b, "memory|stats", 2, "", 0, 0, 0, "@slow", 0);
    entry(&b, "memory|doctor", 2, "", 0, 0, 0, "@slow", 0);
    E("function", -2, "", 0, 0, 0, "@slow", 8);
    entry(&b, "function|load", -3, "write denyoom noscript", 0, 0, 0, "@write @slow @scripting", 0);
    entry(&b, "function|list", -2, "noscript", 0, 0, 0, "@slow @scripting", 0);
    entry(&b, "function|delete", 3, "write noscript", 0, 0, 0, "@write @slow @scripting", 0);
    entry(&b, "function|flush", -2, "write noscript", 0, 0, 0, "@write @slow @scripting", 0);
    entry(&b, "function|dump", 2, "noscript", 0, 0, 0, "@slow @scripting", 0);
    entry(&b, "function|restore", -3, "write denyoom noscript", 0, 0, 0, "@write @slow @scripting", 0);
    entry(&b, "function|stats", 2, "noscript allow_busy", 0, 0, 0, "@slow @scripting", 0);
    entry(&b, "function|kill", 2, "noscript allow_busy", 0, 0, 0, "@slow @scripting", 0);
    E("acl", -2, "", 0, 0, 0, "@slow", 2);
    entry(&b, "acl|setuser", -3, "admin noscript loading stale", 0, 0, 0, "@admin @slow @dangerous", 0);
    entry(&b, "acl|whoami", 2, "noscript loading stale", 0, 0, 0, "@slow", 0);
    E("module", -2, "", 0, 0, 0, "@slow", 1);
    entry(&b, "module|load", -3, "admin noscript no_async_loading", 0, 0, 0, "@admin @slow @dangerous", 0);
    E("restore", -4, "write denyoom", 1, 1, 1, "@keyspace @write @slow @dangerous", 0);
    E("save", 1, "admin noscript no_async_loading no_multi", 0, 0, 0, "@admin @slow @dangerous", 0);
    E("select", 2, "loading stale fast", 0, 0, 0, "@fast @connection", 0);
    E("multi", 1, "noscript loading stale fast allow_busy", 0, 0, 0, "@fast @transaction", 0);
    E("exec", 1, "noscript loading stale skip_slowlog", 0, 0, 0, "@slow @transaction", 0);
    E("subscribe", -2, "pubsub noscript loading stale", 0, 0, 0, "@pubsub @slow", 0);
    E("auth", -2, "noscript loading stale fast no_auth allow_busy", 0, 0, 0, "@fast @connection", 0);
    E("MGET", -2, "readonly fast", 1, -1, 1, "@read @string @fast", 0); /* case folded */
    E("config", -2, "", 0, 0, 0, "@slow", 2);
    entry(&b, "config|get", -3, "admin noscript loading stale", 0, 0, 0, "@admin @slow @dangerous", 0);
    entry(&b, "config|set", -4, "admin noscript loading stale may_replicate", 0, 0, 0, "@admin @slow @dangerous", 0);
    E("script", -2, "", 0, 0, 0, "@slow", 4);
    entry(&b, "script|debug", 3, "noscript", 0, 0, 0, "@slow @scripting", 0);
    entry(&b, "script|load", 3, "noscript stale", 0, 0, 0, "@slow @scripting", 0);
    entry(&b, "script|exists", -3, "noscript", 0, 0, 0, "@slow @scripting", 0);
    entry(&b, "script|flush", -2, "noscript allow_busy", 0, 0, 0, "@slow @scripting", 0);
    E("client", -2, "", 0, 0, 0, "@slow", 1);
    entry(&b, "client|list", -2, "admin noscript loading stale", 0, 0, 0, "@admin @slow @dangerous @connection", 0);
    E("latency", -2, "", 0, 0, 0, "@slow", 2);
    entry(&b, "latency|reset", -2, "admin noscript loading stale", 0, 0, 0, "@admin @slow @dangerous", 0);
    entry(&b, "latency|help", 2, "loading stale", 0, 0, 0, "@slow", 0);
    E("object", -2, "", 0, 0, 0, "@slow", 1);
    entry(&b, "object|encoding", 3, "readonly", 2, 2, 1, "@keyspace @read @slow", 0);
#undef E
    buf head;
    buf_init(&head);
    buf_printf(&head, "*%d\r\n", n);
    buf_append(&head, b.data, b.len);
    redisReply *r = parse(head.data, head.len);
    tg_err err = {0, ""};
    cmd_table *t = r ? cmd_table_from_reply(r, policy_annotate, &err) : NULL;
    if (!t) fprintf(stderr, "  table: %s\n", r ? err.msg : "RESP did not parse");
    if (r) freeReplyObject(r);
    buf_release(&b);
    buf_release(&head);
    return t;
}

/* ==== Helpers for argv ==== */

typedef struct {
    int argc;
    char *argv[8];
    size_t lens[8];
} cmdv;

/* Words separated by spaces into a cmdv (pointing into a static copy). */
static cmdv mk(const char *line)
{
    static char store[16][256];
    static int slot;
    char *s = store[slot++ % 16];
    snprintf(s, 256, "%s", line);
    cmdv c = {0, {0}, {0}};
    for (char *w = strtok(s, " "); w && c.argc < 8; w = strtok(NULL, " ")) {
        c.argv[c.argc] = w;
        c.lens[c.argc++] = strlen(w);
    }
    return c;
}

/* Whether the backend runs scripts as the restricted ACL user. */
static cmd_caps caps = {.scripts_contained = true, .scripts_framed = true, .restore_checked = true};

static int check(auth_scope scope, const char *line, cmd_verdict *v, tg_err *err)
{
    cmdv c = mk(line);
    return policy_check(table, scope, false, &caps, c.argc, c.argv, c.lens, v, err);
}

static void allowed(auth_scope scope, const char *line)
{
    cmd_verdict v;
    tg_err err = {0, ""};
    int rc = check(scope, line, &v, &err);
    if (rc) fprintf(stderr, "  refused '%s' (%s): %s\n", line, auth_scope_name(scope), err.msg);
    CHECK(rc == 0);
}

static void refused(auth_scope scope, const char *line, int status, const char *word)
{
    cmd_verdict v;
    tg_err err = {0, ""};
    int rc = check(scope, line, &v, &err);
    if (rc != -1 || err.status != status)
        fprintf(stderr, "  '%s' (%s): rc %d status %d, want %d\n", line,
                auth_scope_name(scope), rc, err.status, status);
    CHECK(rc == -1 && err.status == status);
    if (word && !strstr(err.msg, word)) {
        fprintf(stderr, "  message '%s' does not name '%s'\n", err.msg, word);
        CHECK(0);
    }
}

/* ==== Tests ==== */

static const cmd_info *look(const char *line)
{
    cmdv c = mk(line);
    return cmd_lookup(table, c.argc, c.argv, c.lens);
}

/* True if i is the command called name. */
static bool is(const cmd_info *i, const char *name)
{
    return i && !strcmp(i->name, name);
}

TEST(table_from_reply)
{
    CHECK(cmd_table_size(table) == 38);
    const cmd_info *i = look("GeT k");
    CHECK(is(i, "get"));
    if (!i) return;
    CHECK(i->arity == 2 && i->first_key == 1 && i->last_key == 1 && i->key_step == 1);
    CHECK(i->flags == (CMD_READONLY | CMD_FAST));
    uint64_t want = 0;
    for (int k = 0; cmd_category_names[k]; k++)
        if (!strcmp(cmd_category_names[k], "read") || !strcmp(cmd_category_names[k], "string") ||
            !strcmp(cmd_category_names[k], "fast"))
            want |= 1ULL << k;
    CHECK(i->categories == want);
    i = look("mget a b"); /* sent as "MGET" */
    CHECK(is(i, "mget") && i->last_key == -1);
    i = look("eval");
    CHECK(is(i, "eval") && i->flags == (CMD_NOSCRIPT | CMD_MAY_REPLICATE | CMD_MOVABLEKEYS));
    CHECK(i && (i->categories & CMD_CAT_SCRIPTING));
    CHECK(is(look("publish"), "publish") && (look("publish")->categories & CMD_CAT_PUBSUB));
}

TEST(lookup_subcommands_and_misses)
{
    const cmd_info *i = look("CONFIG GET maxmemory");
    CHECK(is(i, "config|get") && (i->flags & CMD_ADMIN));
    i = look("config");
    CHECK(is(i, "config") && i->nsubs == 2);
    CHECK(is(look("config nosuch"), "config"));
    CHECK(is(look("Script LOAD x"), "script|load"));
    CHECK(is(look("get config"), "get")); /* not a container: argv[1] is a key */
    CHECK(look("nosuch") == NULL);
    CHECK(look("") == NULL);
    /* A NUL inside the name, or a name longer than any command. */
    char nul[] = "get\0x", long_name[200];
    char *av[] = {nul};
    size_t lv[] = {5};
    CHECK(cmd_lookup(table, 1, av, lv) == NULL);
    memset(long_name, 'g', sizeof long_name - 1);
    long_name[199] = '\0';
    av[0] = long_name;
    lv[0] = 199;
    CHECK(cmd_lookup(table, 1, av, lv) == NULL);
}

TEST(malformed_replies_rejected)
{
    static const char *const bad[] = {
        ":1\r\n",                                  /* not an array */
        "*0\r\n",                                  /* empty */
        "*1\r\n:1\r\n",                            /* entry not an array */
        "*1\r\n*5\r\n$3\r\nget\r\n:2\r\n*0\r\n:1\r\n:1\r\n", /* too short */
        "*1\r\n*6\r\n:1\r\n:2\r\n*0\r\n:1\r\n:1\r\n:1\r\n",   /* name not a string */
        "*1\r\n*6\r\n$3\r\nget\r\n$1\r\n2\r\n*0\r\n:1\r\n:1\r\n:1\r\n", /* arity */
        "*1\r\n*6\r\n$3\r\nget\r\n:2\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n", /* flags */
        /* A container whose subcommand is malformed. */
        "*1\r\n*10\r\n$6\r\nconfig\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*0\r\n*0\r\n*0\r\n"
        "*1\r\n:7\r\n",
        /* A good command, then a bad one: nothing of the first leaks. */
        "*2\r\n*6\r\n$3\r\nget\r\n:2\r\n*0\r\n:1\r\n:1\r\n:1\r\n$3\r\nbad\r\n",
        "-ERR unknown command\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        redisReply *r = parse(bad[i], strlen(bad[i]));
        CHECK(r != NULL);
        tg_err err = {0, ""};
        cmd_table *t = cmd_table_from_reply(r, policy_annotate, &err);
        if (t) fprintf(stderr, "  accepted malformed reply #%zu\n", i);
        CHECK(t == NULL && err.status == 503);
        cmd_table_free(t);
        freeReplyObject(r);
    }
    tg_err err;
    CHECK(cmd_table_from_reply(NULL, policy_annotate, &err) == NULL);
    cmd_table_free(NULL);
}

TEST(malformed_nested_subcommand_no_leak)
{
    /* A subcommand that itself has a malformed subcommand: rejected, and
     * everything parsed so far freed (LeakSanitizer checks). */
    static const char bad[] =
        "*1\r\n*10\r\n$1\r\na\r\n:1\r\n*0\r\n:0\r\n:0\r\n:0\r\n*0\r\n*0\r\n*0\r\n"
        "*1\r\n*10\r\n$3\r\na|b\r\n:1\r\n*0\r\n:0\r\n:0\r\n:0\r\n*0\r\n*0\r\n*0\r\n"
        "*1\r\n:7\r\n";
    redisReply *r = parse(bad, sizeof bad - 1);
    CHECK(r != NULL);
    tg_err err = {0, ""};
    cmd_table *t = cmd_table_from_reply(r, policy_annotate, &err);
    CHECK(t == NULL && err.status == 503);
    cmd_table_free(t);
    freeReplyObject(r);
    CHECK(LEAKS_NOW() == 0);
}

TEST(policy_read_write_scope)
{
    cmd_verdict v;
    tg_err err;
    CHECK(check(AUTH_SCOPE_RW, "get k", &v, &err) == 0);
    CHECK(v.info && !v.is_write && !v.is_free);
    CHECK(check(AUTH_SCOPE_RW, "SET k v", &v, &err) == 0);
    CHECK(v.info && v.is_write);
    CHECK(check(AUTH_SCOPE_RW, "eval return 0", &v, &err) == 0);
    CHECK(v.is_write);
    CHECK(check(AUTH_SCOPE_RW, "publish ch m", &v, &err) == 0);
    CHECK(v.is_write);
    CHECK(check(AUTH_SCOPE_RW, "eval_ro return 0", &v, &err) == 0);
    CHECK(v.is_write); /* scripts move the sync token */
    CHECK(check(AUTH_SCOPE_RW, "ping", &v, &err) == 0);
    CHECK(v.is_free && !v.is_write);
    CHECK(check(AUTH_SCOPE_RW, "ECHO x", &v, &err) == 0);
    CHECK(v.is_free);
    allowed(AUTH_SCOPE_RW, "keys *");
    allowed(AUTH_SCOPE_RW, "scan 0");
    allowed(AUTH_SCOPE_RW, "script load x");
    allowed(AUTH_SCOPE_RW, "latency help");
}

TEST(policy_read_only_scope)
{
    allowed(AUTH_SCOPE_RO, "get k");
    allowed(AUTH_SCOPE_RO, "MGET a b");
    allowed(AUTH_SCOPE_RO, "ping");
    allowed(AUTH_SCOPE_RO, "echo hi");
    allowed(AUTH_SCOPE_RO, "object encoding k");
    /* Issue 10, finding 5: no key enumeration, not even one key at a time
     * (RANDOMKEY) or inside a script Redis keeps from writing (EVAL_RO). */
    static const char *const no[] = {"set k v", "SET k v", "eval return 0", "publish c m",
                                     "keys *", "KEYS *", "scan 0", "flushall",
                                     "script load x", "randomkey", "RANDOMKEY"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        char word[32];
        snprintf(word, sizeof word, "%s", no[i]);
        word[strcspn(word, " ")] = '\0';
        for (char *p = word; *p; p++) *p = (char)(*p | 0x20);
        refused(AUTH_SCOPE_RO, no[i], 403, word);
    }
    refused(AUTH_SCOPE_RO, "eval_ro return 0", 403, "enumerate keys");
    /* A refused read-only FLUSHALL is not rewritten. */
    cmdv c = mk("flushall");
    cmd_verdict v;
    tg_err err;
    CHECK(policy_check(table, AUTH_SCOPE_RO, false, &caps, c.argc, c.argv, c.lens, &v, &err) == -1);
    CHECK_STR(c.argv[0], "flushall");
}

TEST(policy_blocking)
{
    for (int s = 0; s < 2; s++) {
        auth_scope scope = s ? AUTH_SCOPE_RO : AUTH_SCOPE_RW;
        refused(scope, "blpop q 0", 400, "blpop");
        refused(scope, "BLPOP q 0", 400, "blpop");
        allowed(scope, "xread COUNT 1 STREAMS s 0");
        refused(scope, "xread BLOCK 0 STREAMS s 0", 400, "xread");
        refused(scope, "XREAD count 1 block 100 STREAMS s $", 400, "xread");
        refused(scope, "xread bLoCk 0 STREAMS s 0", 400, "xread");
    }
    allowed(AUTH_SCOPE_RW, "xreadgroup GROUP g c STREAMS s >");
    refused(AUTH_SCOPE_RW, "xreadgroup GROUP g c BLOCK 0 STREAMS s >", 400, "xreadgroup");
    /* Names that look like options are values, as Redis reads them. */
    allowed(AUTH_SCOPE_RW, "xread STREAMS block 0");
    allowed(AUTH_SCOPE_RW, "xread COUNT 1 STREAMS s block 0 0");
    allowed(AUTH_SCOPE_RW, "xreadgroup GROUP block c STREAMS s >");
    refused(AUTH_SCOPE_RW, "xreadgroup GROUP streams c BLOCK 0 STREAMS s >", 400, "xreadgroup");
    refused(AUTH_SCOPE_RW, "xreadgroup GROUP g streams BLOCK 0 STREAMS s >", 400, "xreadgroup");
}

TEST(policy_refused_commands)
{
    static const char *const names[] = {"select", "multi", "exec", "subscribe",
                                        "auth", "client", "config", "watch",
                                        "monitor", "hello", "swapdb", "wait",
                                        "info", "function", "memory", "pubsub"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char line[64];
        snprintf(line, sizeof line, "%s x", names[i]);
        refused(AUTH_SCOPE_RW, line, 400, names[i]);
        refused(AUTH_SCOPE_RO, line, 400, names[i]);
    }
    refused(AUTH_SCOPE_RW, "SELECT 1", 400, "select");
    refused(AUTH_SCOPE_RW, "config get maxmemory", 400, "config");
    refused(AUTH_SCOPE_RW, "client list", 400, "client");
    /* Admin by flag, on a command or on a subcommand. */
    refused(AUTH_SCOPE_RW, "save", 400, "save");
    refused(AUTH_SCOPE_RW, "LATENCY RESET", 400, "latency");
    /* Refused by subcommand: scripts are shared by the whole backend. */
    refused(AUTH_SCOPE_RW, "SCRIPT FLUSH", 400, "script|flush");
    refused(AUTH_SCOPE_RW, "script debug yes", 400, "script|debug");
    allowed(AUTH_SCOPE_RW, "script exists abc");
    /* COPY: only its DB option reaches another database. */
    refused(AUTH_SCOPE_RW, "copy a b DB 1", 400, "DB option");
    refused(AUTH_SCOPE_RW, "COPY a b REPLACE db 1", 400, "DB option");
    refused(AUTH_SCOPE_RO, "copy a b", 403, "copy");
    /* MEMORY: USAGE reads one key; the rest is server-wide. */
    refused(AUTH_SCOPE_RW, "memory stats", 400, "memory|stats");
    refused(AUTH_SCOPE_RW, "MEMORY DOCTOR", 400, "memory");
}

/* policy_check for a database that owns its server (or not). */
static int check_on(bool owns_server, auth_scope scope, cmdv *c, cmd_verdict *v, tg_err *err)
{
    return policy_check(table, scope, owns_server, &caps, c->argc, c->argv, c->lens, v, err);
}

static void refused_on(bool owns_server, const char *line, const char *word)
{
    cmdv c = mk(line);
    cmd_verdict v;
    tg_err err = {0, ""};
    int rc = check_on(owns_server, AUTH_SCOPE_RW, &c, &v, &err);
    if (rc != -1 || err.status != 400 || (word && !strstr(err.msg, word)))
        fprintf(stderr, "  '%s' (server %d): rc %d: %s\n", line, owns_server, rc, err.msg);
    CHECK(rc == -1 && err.status == 400 && (!word || strstr(err.msg, word)));
}

static void allowed_on(bool owns_server, const char *line)
{
    cmdv c = mk(line);
    cmd_verdict v;
    tg_err err = {0, ""};
    int rc = check_on(owns_server, AUTH_SCOPE_RW, &c, &v, &err);
    if (rc) fprintf(stderr, "  refused '%s' (server %d): %s\n", line, owns_server, err.msg);
    CHECK(rc == 0);
}

TEST(policy_copy_and_memory_usage)
{
    for (int srv = 0; srv < 2; srv++) {
        cmdv c = mk("COPY a b REPLACE");
        cmd_verdict v;
        tg_err err;
        CHECK(check_on(srv, AUTH_SCOPE_RW, &c, &v, &err) == 0 && v.is_write);
        /* The restricted users may not COPY (a script could add DB): the
         * checked command runs as the URL's user, except on a server the
         * database owns, whose own user may. */
        CHECK(v.as_url == !srv);
        refused_on(srv, "copy a b db 0", "DB option");
        allowed_on(srv, "memory usage k");
        allowed_on(srv, "MEMORY USAGE k SAMPLES 5");
        c = mk("memory usage k");
        CHECK(check_on(srv, AUTH_SCOPE_RO, &c, &v, &err) == 0 && !v.is_write && !v.as_url);
        refused_on(srv, "memory doctor", "memory");
    }
    allowed(AUTH_SCOPE_RO, "memory usage k");
    /* Not the same as the bare MEMORY row: its own (allowing) row wins. */
    const cmd_info *mu = look("memory usage k");
    CHECK(mu && !strcmp(mu->name, "memory|usage") && !mu->refused_why);
}

TEST(policy_server_isolation)
{
    /* What only a database owning its server may run. */
    static const char *const owner_only[] = {
        "function load x", "FUNCTION LIST", "function delete lib", "function flush",
        "function dump", "function restore x", "function stats", "script flush",
        "info memory", "INFO keyspace stats", "memory stats",
    };
    for (size_t i = 0; i < sizeof owner_only / sizeof owner_only[0]; i++) {
        allowed_on(true, owner_only[i]);
        refused_on(false, owner_only[i], "not allowed");
    }
    allowed_on(true, "fcall f 0");
    allowed_on(true, "dbsize");
    /* Administration stays refused, by the backend's admin flag or a row. */
    static const char *const admin[] = {
        "config set maxmemory 1", "debug sleep 0", "shutdown", "acl setuser x",
        "acl whoami", "module load x", "replicaof no one", "client list", "select 1",
        "script kill", "swapdb 0 1", "monitor", "script debug yes",
    };
    for (size_t i = 0; i < sizeof admin / sizeof admin[0]; i++) {
        refused_on(true, admin[i], NULL);
        refused_on(false, admin[i], NULL);
    }
    /* FLUSHALL empties the server it owns, not just one logical DB. */
    cmdv c = mk("FLUSHALL");
    cmd_verdict v;
    tg_err err;
    CHECK(check_on(true, AUTH_SCOPE_RW, &c, &v, &err) == 0);
    CHECK_MEM(c.argv[0], c.lens[0], "FLUSHALL", 8);
    c = mk("FLUSHALL");
    CHECK(check_on(false, AUTH_SCOPE_RW, &c, &v, &err) == 0);
    CHECK_MEM(c.argv[0], c.lens[0], "FLUSHDB", 7);
    /* INFO: the safe sections; none asked is all of them. */
    c = mk("info");
    CHECK(check_on(true, AUTH_SCOPE_RW, &c, &v, &err) == 0 && v.argc > 2);
    bool has_memory = false, has_server = false;
    for (int i = 1; i < v.argc; i++) {
        CHECK(strlen(v.argv[i]) == v.lens[i]);
        if (!strcmp(v.argv[i], "memory")) has_memory = true;
        if (!strcmp(v.argv[i], "server") || !strcmp(v.argv[i], "replication")) has_server = true;
    }
    CHECK(!strcmp(v.argv[0], "INFO") && has_memory && !has_server);
    refused_on(true, "info server", "'server'");
    refused_on(true, "INFO memory replication", "'replication'");
    refused_on(true, "info all", "'all'");
    refused_on(true, "info everything", "'everything'");
    /* A read-only token still writes nothing. */
    c = mk("function load x");
    CHECK(check_on(true, AUTH_SCOPE_RO, &c, &v, &err) == -1 && err.status == 403);
    c = mk("flushall");
    CHECK(check_on(true, AUTH_SCOPE_RO, &c, &v, &err) == -1 && err.status == 403);
}

static int rules(const char *line, const char *allow, const char *deny)
{
    cmdv c = mk(line);
    tg_err err;
    return policy_check_rules(cmd_lookup(table, c.argc, c.argv, c.lens), c.argv[0], c.lens[0],
                              allow, deny, &err);
}

TEST(rules_by_name_and_category)
{
    CHECK(rules("get k", "get,set", NULL) == 0);
    CHECK(rules("mget k", "get,set", NULL) == -1);
    CHECK(rules("mget k", "@read", NULL) == 0);
    CHECK(rules("set k v", NULL, "@write") == -1);
    CHECK(rules("config get x", NULL, "config") == -1); /* parent covers subs */
    CHECK(rules("keys *", "@read", "keys") == -1);
    /* FLUSHALL runs as FLUSHDB: denying either refuses it. */
    CHECK(rules("flushall", NULL, "flushdb") == -1);
    CHECK(rules("flushall", NULL, "flushall") == -1);
    CHECK(rules("flushall", NULL, "get") == 0);
}

TEST(policy_restore_needs_checked_payloads)
{
    allowed(AUTH_SCOPE_RW, "restore k 0 payload");
    caps.restore_checked = false;
    refused(AUTH_SCOPE_RW, "restore k 0 payload", 400, "sanitize-dump-payload");
    allowed(AUTH_SCOPE_RW, "get k");
    caps.restore_checked = true;
}

TEST(policy_scripts_not_contained)
{
    /* Without the restricted ACL user, anything in @scripting is refused
     * for every scope; the rest is unaffected. */
    caps.scripts_contained = false;
    for (int s = 0; s < 2; s++) {
        auth_scope scope = s ? AUTH_SCOPE_RO : AUTH_SCOPE_RW;
        refused(scope, "eval return 0", 400, "eval");
        refused(scope, "EVAL_RO return 0", 400, "eval_ro");
        refused(scope, "script load x", 400, "script");
        allowed(scope, "get k");
    }
    allowed(AUTH_SCOPE_RW, "publish c m");
    caps.scripts_contained = true;
    allowed(AUTH_SCOPE_RW, "eval_ro return 0");
    /* Script replies that can carry line breaks (CVE-2025-67733). */
    caps.scripts_framed = false;
    refused(AUTH_SCOPE_RW, "eval return 0", 400, "CVE-2025-67733");
    allowed(AUTH_SCOPE_RW, "get k");
    caps.scripts_framed = true;
}

TEST(policy_flushall_rewritten)
{
    cmdv c = mk("FLUSHALL ASYNC");
    cmd_verdict v;
    tg_err err;
    CHECK(policy_check(table, AUTH_SCOPE_RW, false, &caps, c.argc, c.argv, c.lens, &v, &err) == 0);
    CHECK_MEM(c.argv[0], c.lens[0], "FLUSHDB", 7);
    CHECK_STR(c.argv[1], "ASYNC");
    CHECK(c.argc == 2 && v.is_write);
}

TEST(policy_unknown_and_empty)
{
    cmd_verdict v;
    tg_err err = {0, ""};
    CHECK(check(AUTH_SCOPE_RW, "nosuchcmd a", &v, &err) == 0);
    CHECK(v.info == NULL);
    CHECK(check(AUTH_SCOPE_RO, "nosuchcmd a", &v, &err) == 0);
    CHECK(v.info == NULL);
    cmdv c = mk("");
    CHECK(policy_check(table, AUTH_SCOPE_RW, false, &caps, 0, c.argv, c.lens, &v, &err) == -1);
    CHECK(err.status == 400);
    char empty[] = "";
    char *av[] = {empty};
    size_t lv[] = {0};
    err.status = 0;
    CHECK(policy_check(table, AUTH_SCOPE_RW, false, &caps, 1, av, lv, &v, &err) == -1);
    CHECK(err.status == 400);
    /* "select\0" must not slip past the deny list as an unknown name. */
    char sel[] = "select\0";
    av[0] = sel;
    lv[0] = 7;
    err.status = 0;
    CHECK(policy_check(table, AUTH_SCOPE_RW, false, &caps, 1, av, lv, &v, &err) == -1);
    CHECK(err.status == 400);
    /* A subcommand that does not resolve ("load\0x": Redis may still find
     * it) is refused, never judged as the bare container. */
    cmdv sc = mk("script _ x");
    char load_nul[] = "load\0x";
    sc.argv[1] = load_nul;
    sc.lens[1] = 6;
    err.status = 0;
    CHECK(policy_check(table, AUTH_SCOPE_RO, false, &caps, sc.argc, sc.argv, sc.lens, &v, &err) == -1);
    CHECK(err.status == 400 && strstr(err.msg, "subcommand"));
    refused(AUTH_SCOPE_RW, "object nosuch k", 400, "subcommand");
    allowed(AUTH_SCOPE_RW, "object encoding k");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep results if a sanitizer aborts */
    table = build_table();
    if (!table) {
        printf("FAIL test_command.c:build_table\n");
        return 1;
    }
    RUN(table_from_reply);
    RUN(lookup_subcommands_and_misses);
    RUN(malformed_replies_rejected);
    RUN(malformed_nested_subcommand_no_leak);
    RUN(policy_read_write_scope);
    RUN(policy_read_only_scope);
    RUN(policy_blocking);
    RUN(policy_refused_commands);
    RUN(policy_copy_and_memory_usage);
    RUN(policy_server_isolation);
    RUN(rules_by_name_and_category);
    RUN(policy_restore_needs_checked_payloads);
    RUN(policy_scripts_not_contained);
    RUN(policy_flushall_rewritten);
    RUN(policy_unknown_and_empty);
    cmd_table_free(table);
    TEST_MAIN_END();
}
