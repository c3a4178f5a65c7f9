/* test_keyspace.c - gateway/policy/keyspace.h and command_table.h's key location, over
 * the real COMMAND reply of Redis 7.0 (tests/unit/fixtures, captured from
 * Debian's redis-server 7.0.15), so key specs are Redis's own. */
#include <hiredis/hiredis.h>
#include <stdlib.h>

#include "gateway/policy/keyspace.h"
#include "gateway/policy/policy.h"
#include "tests/unit/fixtures/command_table.h"
#include "tests/unit/testhelp.h"

static cmd_table *table;
static const keyspace ks = {"db_00aa:", 8};


/* ==== Helpers ==== */

typedef struct {
    arena a;
    tg_cmd cmd;
} built;

/* Words separated by spaces. */
static void mk(built *b, const char *line)
{
    arena_init(&b->a);
    char **argv = arena_alloc(&b->a, 32 * sizeof *argv);
    size_t *lens = arena_alloc(&b->a, 32 * sizeof *lens);
    char *s = arena_strndup(&b->a, line, strlen(line));
    int n = 0;
    for (char *w = strtok(s, " "); w && n < 32; w = strtok(NULL, " ")) {
        argv[n] = w;
        lens[n++] = strlen(w);
    }
    b->cmd = (tg_cmd){n, argv, lens};
}

static const cmd_info *info_of(const tg_cmd *c)
{
    return cmd_lookup(table, c->argc, c->argv, c->lens);
}

/* The key positions of line as "1 3 4", or "unknown" / "invalid". */
static const char *keys_of(const char *line)
{
    static char out[128];
    built b;
    mk(&b, line);
    uint8_t is_key[32] = {0};
    const cmd_info *c = info_of(&b.cmd);
    int rc = c ? cmd_mark_keys(c, b.cmd.argc, b.cmd.argv, b.cmd.lens, is_key) : -3;
    out[0] = '\0';
    if (rc == -1) snprintf(out, sizeof out, "unknown");
    else if (rc == -2) snprintf(out, sizeof out, "invalid");
    else if (rc == -3) snprintf(out, sizeof out, "no command");
    for (int i = 0; rc == 0 && i < b.cmd.argc; i++)
        if (is_key[i]) snprintf(out + strlen(out), sizeof out - strlen(out), "%s%d",
                                out[0] ? " " : "", i);
    arena_release(&b.a);
    return out;
}

/* Rewrites line for ks; the result joined by spaces, "walk: <its first
 * slice>" for a keyspace command, or "!<error>". */
static const char *rewrite(const char *line, bool transaction, keyspace_out *ko)
{
    static char out[2048];
    built b;
    keyspace_out tmp;
    if (!ko) ko = &tmp;
    mk(&b, line);
    tg_err err;
    if (keyspace_rewrite(&b.a, &ks, info_of(&b.cmd), transaction, &b.cmd, ko, &err)) {
        snprintf(out, sizeof out, "!%s", err.msg);
    } else {
        tg_cmd c = b.cmd;
        out[0] = '\0';
        if (ko->walk) {
            keywalk_next(ko->walk, &c);
            snprintf(out, sizeof out, "walk: ");
        }
        for (int i = 0; i < c.argc; i++)
            snprintf(out + strlen(out), sizeof out - strlen(out), "%s%.*s",
                     i ? " " : "", (int)(c.lens[i] > 40 ? 40 : c.lens[i]), c.argv[i]);
        keywalk_free(ko->walk);
        ko->walk = NULL;
    }
    arena_release(&b.a);
    return out;
}

static bool refused(const char *line, bool transaction)
{
    const char *r = rewrite(line, transaction, NULL);
    if (r[0] != '!') fprintf(stderr, "  not refused: %s -> %s\n", line, r);
    return r[0] == '!';
}

static const cmd_info *named(const char *line)
{
    built b;
    mk(&b, line);
    const cmd_info *c = info_of(&b.cmd);
    arena_release(&b.a);
    return c;
}

/* ==== Key specs ==== */

TEST(fixture_loaded)
{
    CHECK(table != NULL);
    CHECK(table && cmd_table_size(table) > 200);
}

/* Argument positions Redis's key specs give, as "1 3 4"; "unknown" when a
 * spec cannot locate them, "invalid" for a bad key count. */
static const struct {
    const char *line, *keys;
} key_cases[] = {
    {"get k", "1"},
    {"set k v ex 10", "1"},
    {"mset a 1 b 2 c 3", "1 3 5"},
    {"mget a b c", "1 2 3"},
    {"del a b", "1 2"},
    {"rename a b", "1 2"},
    {"smove a b m", "1 2"},
    {"bitop and d a b", "2 3 4"},
    {"object encoding k", "2"},
    {"xinfo stream s", "2"},
    {"xgroup create s g $", "2"},
    {"spublish ch msg", "1"}, /* a shard channel: prefixed too */
    {"ping", ""},
    {"eval s 2 k1 k2 a1", "3 4"},
    {"evalsha_ro s 0 a1", ""},
    {"fcall f 1 k a", "3"},
    {"zunionstore d 2 a b weights 1 2", "1 3 4"},
    {"zinter 2 a b", "2 3"},
    {"sintercard 2 a b limit 1", "2 3"},
    {"lmpop 2 a b left", "2 3"},
    {"xread count 1 streams s1 s2 0 0", "4 5"},
    {"xreadgroup group g c streams s >", "5"},
    /* Keys named like the keyword: the first STREAMS starts the keys. */
    {"xread streams s1 0", "2"},
    {"xread streams streams 0", "2"}, /* Redis stops at the first too */
    {"georadius k 0 0 1 km store dst", "1 7"},
    {"georadius k 0 0 1 km storedist dst", "1 7"},
    {"georadius k 0 0 1 km", "1"},
    /* Redis writes the last STORE while the spec finds the first. */
    {"georadius k 0 0 1 km store a STORE b", "unknown"},
    {"georadiusbymember k m 1 km storedist a storedist b", "unknown"},
    {"eval s x k", "invalid"},
    {"eval s -1 k", "invalid"},
    {"eval s 99 k", "invalid"},
    {"eval s", "invalid"},
    {"sort k by w_*", "unknown"}, /* SORT is special-cased */
    {"migrate h 1 k 0 10", "unknown"},
};

TEST(key_positions_follow_key_specs)
{
    for (size_t i = 0; i < sizeof key_cases / sizeof key_cases[0]; i++) {
        const char *got = keys_of(key_cases[i].line);
        if (strcmp(got, key_cases[i].keys))
            fprintf(stderr, "  %s: got '%s', want '%s'\n", key_cases[i].line, got,
                    key_cases[i].keys);
        CHECK(!strcmp(got, key_cases[i].keys));
    }
}

/* Whatever the arguments, positions stay inside argv (run under ASan). */
TEST(key_positions_never_out_of_range)
{
    static const char *const words[] = {"streams", "store", "2", "0", "-1", "k", "keys", "1",
                                        "storedist", "by", "100"};
    unsigned seed = 7;
    int bad = 0;
    for (int iter = 0; iter < 20000; iter++) {
        seed = seed * 1103515245u + 12345u;
        char line[256];
        built b;
        /* A command picked by name from a small, varied set. */
        static const char *const names[] = {"eval", "xread", "georadius", "zunionstore",
                                            "lmpop", "mset", "bitop", "xreadgroup", "fcall",
                                            "sintercard", "get", "object"};
        snprintf(line, sizeof line, "%s", names[(seed >> 4) % 12]);
        int argc = 1 + (int)((seed >> 12) % 9);
        for (int i = 1; i < argc; i++) {
            seed = seed * 1103515245u + 12345u;
            snprintf(line + strlen(line), sizeof line - strlen(line), " %s",
                     words[(seed >> 8) % 11]);
        }
        mk(&b, line);
        const cmd_info *c = info_of(&b.cmd);
        uint8_t is_key[32] = {0};
        if (c && cmd_mark_keys(c, b.cmd.argc, b.cmd.argv, b.cmd.lens, is_key) == 0 && is_key[0])
            bad++;
        arena_release(&b.a);
    }
    CHECK(bad == 0);
}

TEST(shared_modes_from_the_table)
{
    CHECK(named("get k")->shared == CMD_SHARED_KEYED);
    CHECK(named("eval s 0")->shared == CMD_SHARED_KEYED);
    CHECK(named("ping")->shared == CMD_SHARED_KEYLESS);
    CHECK(named("command info")->shared == CMD_SHARED_KEYLESS);
    CHECK(named("object help")->shared == CMD_SHARED_KEYLESS);
    CHECK(named("script load x")->shared == CMD_SHARED_KEYLESS);
    CHECK(named("publish c m")->shared == CMD_SHARED_CHANNEL);
    CHECK(named("sort k")->shared == CMD_SHARED_SORT);
    CHECK(named("keys *")->shared == CMD_SHARED_KEYS);
    CHECK(named("flushall")->shared == CMD_SHARED_FLUSH);
    /* Keyless and not known harmless, or keys not locatable: refused. */
    static const char *const no[] = {"migrate h 1 k 0 1", "swapdb 0 1", "select 1",
                                     "pubsub channels", "script flush", "client list",
                                     "lastsave", "wait 0 0", "function list", "info",
                                     "subscribe c", "latency latest", "slowlog get"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        const cmd_info *c = named(no[i]);
        if (!c || c->shared != CMD_SHARED_REFUSED) fprintf(stderr, "  %s not refused\n", no[i]);
        CHECK(c && c->shared == CMD_SHARED_REFUSED);
    }
}

/* ==== Rewriting ==== */

TEST(rewrite_keyed_commands)
{
    CHECK_STR(rewrite("set k v ex 10", false, NULL), "set db_00aa:k v ex 10");
    CHECK_STR(rewrite("mset a 1 b 2", false, NULL), "mset db_00aa:a 1 db_00aa:b 2");
    CHECK_STR(rewrite("eval return 2 k1 k2 x", false, NULL),
              "eval return 2 db_00aa:k1 db_00aa:k2 x");
    CHECK_STR(rewrite("xread count 1 streams s 0", false, NULL),
              "xread count 1 streams db_00aa:s 0");
    CHECK_STR(rewrite("publish news hi", false, NULL), "publish db_00aa:news hi");
    CHECK_STR(rewrite("ping", false, NULL), "ping");
    /* The client's text is the key: a name carrying another prefix is
     * still prefixed with ours. */
    CHECK_STR(rewrite("get db_00bb:k", false, NULL), "get db_00aa:db_00bb:k");
    CHECK(refused("eval s 5 k", false));
    CHECK(refused("nosuchcommand k", false));
}

TEST(rewrite_keyspace_commands)
{
    keyspace_out ko;
    /* Each is a walk of the prefix (keywalk.h); the first slice shows. */
    CHECK_STR(rewrite("keys user:*", false, &ko),
              "walk: SCAN 0 MATCH db_00aa:user:* COUNT 2000");
    CHECK(ko.as_gateway && ko.reply == CMD_REPLY_KEYS);
    CHECK_STR(rewrite("scan 0", false, &ko), "walk: SCAN 0 MATCH db_00aa:* COUNT 100");
    CHECK(ko.as_gateway && ko.reply == CMD_REPLY_SCAN);
    CHECK_STR(rewrite("scan 17 match a* COUNT 100 type hash", false, NULL),
              "walk: SCAN 17 MATCH db_00aa:a* COUNT 100 TYPE hash");
    CHECK_STR(rewrite("scan 17 match a* COUNT 300", false, NULL),
              "walk: SCAN 17 MATCH db_00aa:a* COUNT 300");
    CHECK(refused("scan 0 match", false));
    CHECK(refused("scan 0 novalue x", false));
    CHECK(refused("scan x", false));
    CHECK(refused("scan -1", false));
    CHECK(refused("scan 0 count 0", false));
    CHECK(refused("scan 0 count 1x", false));
    CHECK_STR(rewrite("scan 0 count 99999999", false, NULL),
              "walk: SCAN 0 MATCH db_00aa:* COUNT 1000");
    CHECK_STR(rewrite("scan 0 count 1000", false, NULL),
              "walk: SCAN 0 MATCH db_00aa:* COUNT 1000");
    CHECK_STR(rewrite("scan 0 count 999", false, NULL),
              "walk: SCAN 0 MATCH db_00aa:* COUNT 999");
    CHECK_STR(rewrite("scan 18446744073709551615", false, NULL),
              "walk: SCAN 18446744073709551615 MATCH db_00aa:* COUNT 100");
    CHECK_STR(rewrite("dbsize", false, &ko), "walk: SCAN 0 MATCH db_00aa:* COUNT 2000");
    CHECK(ko.as_gateway);
    CHECK(refused("dbsize x", false));
    CHECK_STR(rewrite("flushdb async", false, NULL),
              "walk: EVAL local r = redis.call('SCAN', ARGV[1], 'M 0 0 db_00aa:* 2000");
    CHECK_STR(rewrite("flushall", false, NULL),
              "walk: EVAL local r = redis.call('SCAN', ARGV[1], 'M 0 0 db_00aa:* 2000");
    CHECK(refused("flushdb now", false));
    CHECK(!strncmp(rewrite("randomkey", false, &ko), "walk: SCAN ", 11));
    CHECK(strstr(rewrite("randomkey", false, &ko), " MATCH db_00aa:* COUNT 100"));
    CHECK(ko.reply == CMD_REPLY_KEY && ko.as_gateway);
    CHECK(refused("keys", false));
    CHECK(refused("randomkey x", false));
    /* Plain commands are no walks. */
    CHECK_STR(rewrite("get k", false, &ko), "get db_00aa:k");
    CHECK(!ko.walk);
    /* One transaction runs as one user: none of these inside it. */
    CHECK(refused("keys *", true));
    CHECK(refused("scan 0", true));
    CHECK(refused("dbsize", true));
    CHECK(refused("flushall", true));
    CHECK(refused("randomkey", true));
    keyspace_out plain;
    CHECK_STR(rewrite("get k", true, &plain), "get db_00aa:k");
    CHECK(!plain.as_gateway);
}

/* Redis reads options as C strings: "STORE\0x" is STORE to it. */
TEST(options_with_nul_bytes_read_as_redis_reads_them)
{
    static char store_nul[] = "STORE\0x", blk[] = "BLOCK\0";
    built g, so, xr;
    mk(&g, "georadius k 15 37 500 km STORE dst _ v");
    g.cmd.argv[8] = store_nul;
    g.cmd.lens[8] = 7;
    uint8_t is_key[16] = {0};
    CHECK(cmd_mark_keys(info_of(&g.cmd), g.cmd.argc, g.cmd.argv, g.cmd.lens, is_key) == -1);
    keyspace_out ko;
    tg_err err;
    CHECK(keyspace_rewrite(&g.a, &ks, info_of(&g.cmd), false, &g.cmd, &ko, &err) == -1);
    /* SORT ... STORE\0x d: prefixed like any STORE. */
    mk(&so, "sort l _ d");
    so.cmd.argv[2] = store_nul;
    so.cmd.lens[2] = 7;
    CHECK(keyspace_rewrite(&so.a, &ks, info_of(&so.cmd), false, &so.cmd, &ko, &err) == 0);
    CHECK(so.cmd.lens[3] == ks.len + 1 && !memcmp(so.cmd.argv[3], "db_00aa:d", 9));
    /* XREAD BLOCK\0 0 ... blocks in Redis: refused as blocking. */
    mk(&xr, "xread _ 0 STREAMS s $");
    xr.cmd.argv[1] = blk;
    xr.cmd.lens[1] = 6;
    cmd_verdict v;
    cmd_caps caps = {.scripts_contained = true, .scripts_framed = true, .restore_checked = true};
    CHECK(policy_check(table, AUTH_SCOPE_RW, false, &caps, xr.cmd.argc, xr.cmd.argv, xr.cmd.lens, &v,
                       &err) == -1 && strstr(err.msg, "blocks"));
    arena_release(&g.a);
    arena_release(&so.a);
    arena_release(&xr.a);
}

TEST(georadius_runs_read_only)
{
    CHECK_STR(rewrite("georadius k 15 37 500 km withdist", false, NULL),
              "GEORADIUS_RO db_00aa:k 15 37 500 km withdist");
    CHECK_STR(rewrite("georadiusbymember k m 5 km", false, NULL),
              "GEORADIUSBYMEMBER_RO db_00aa:k m 5 km");
    CHECK(refused("georadius k 15 37 500 km store d", false));
    CHECK(refused("georadiusbymember k m 5 km STOREDIST d", false));
}

TEST(rewrite_sort)
{
    CHECK_STR(rewrite("sort l limit 0 5 desc alpha store d", false, NULL),
              "sort db_00aa:l limit 0 5 desc alpha store db_00aa:d");
    CHECK_STR(rewrite("sort l by nosort", false, NULL), "sort db_00aa:l by nosort");
    CHECK(refused("sort l by w_*", false));
    CHECK(refused("sort l get #", false));
    CHECK(refused("sort l get o_*->f", false));
    CHECK(refused("sort_ro l store d", false));
    CHECK(refused("sort l bogus", false));
}

TEST(glob_escapes_the_prefix)
{
    keyspace odd = {"a*b?[c]\\:", 9};
    char out[64];
    CHECK(keyscan_glob(odd.prefix, odd.len, out, sizeof out) > 0);
    CHECK_STR(out, "a\\*b\\?\\[c\\]\\\\:*");
    CHECK(keyscan_glob(odd.prefix, odd.len, out, 8) == 0);
}

/* ==== Replies ==== */

static redisReply *str_reply(int type, const char *s)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = type;
    r->len = strlen(s);
    r->str = strdup(s);
    return r;
}

static redisReply *arr_reply(size_t n)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_ARRAY;
    r->elements = n;
    r->element = calloc(n, sizeof *r->element);
    return r;
}

TEST(unprefix_replies)
{
    redisReply *k = arr_reply(2);
    k->element[0] = str_reply(REDIS_REPLY_STRING, "db_00aa:x");
    k->element[1] = str_reply(REDIS_REPLY_STRING, "other:y");
    keyspace_unprefix(&ks, CMD_REPLY_KEYS, k);
    CHECK_STR(k->element[0]->str, "x");
    CHECK(k->element[0]->len == 1);
    CHECK_STR(k->element[1]->str, "other:y"); /* not ours: left alone */
    freeReplyObject(k);

    redisReply *scan = arr_reply(2);
    scan->element[0] = str_reply(REDIS_REPLY_STRING, "db_00aa:17"); /* cursor */
    scan->element[1] = arr_reply(1);
    scan->element[1]->element[0] = str_reply(REDIS_REPLY_STRING, "db_00aa:k");
    keyspace_unprefix(&ks, CMD_REPLY_SCAN, scan);
    CHECK_STR(scan->element[0]->str, "db_00aa:17");
    CHECK_STR(scan->element[1]->element[0]->str, "k");
    freeReplyObject(scan);

    redisReply *xr = arr_reply(1);
    xr->element[0] = arr_reply(2);
    xr->element[0]->element[0] = str_reply(REDIS_REPLY_STRING, "db_00aa:s");
    xr->element[0]->element[1] = str_reply(REDIS_REPLY_STRING, "db_00aa:entry");
    keyspace_unprefix(&ks, CMD_REPLY_STREAMS, xr);
    CHECK_STR(xr->element[0]->element[0]->str, "s");
    CHECK_STR(xr->element[0]->element[1]->str, "db_00aa:entry"); /* values stay */
    freeReplyObject(xr);

    redisReply *v = str_reply(REDIS_REPLY_STRING, "db_00aa:value");
    keyspace_unprefix(&ks, CMD_REPLY_PLAIN, v); /* a GET's value is data */
    CHECK_STR(v->str, "db_00aa:value");
    keyspace_unprefix(&ks, CMD_REPLY_KEY, v);
    CHECK_STR(v->str, "value");
    freeReplyObject(v);

    redisReply *e = str_reply(REDIS_REPLY_ERROR, "NOGROUP No such key 'db_00aa:s' or 'db_00aa:t'");
    keyspace_unprefix(&ks, CMD_REPLY_PLAIN, e);
    CHECK_STR(e->str, "NOGROUP No such key 's' or 't'");
    CHECK(e->len == strlen(e->str));
    freeReplyObject(e);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    table = fx_command_table();
    RUN(fixture_loaded);
    if (!table) TEST_MAIN_END();
    RUN(key_positions_follow_key_specs);
    RUN(key_positions_never_out_of_range);
    RUN(shared_modes_from_the_table);
    RUN(rewrite_keyed_commands);
    RUN(rewrite_keyspace_commands);
    RUN(options_with_nul_bytes_read_as_redis_reads_them);
    RUN(georadius_runs_read_only);
    RUN(rewrite_sort);
    RUN(glob_escapes_the_prefix);
    RUN(unprefix_replies);
    cmd_table_free(table);
    TEST_MAIN_END();
}
