/* test_policy.c - gateway/policy/policy.h: size arguments bounded before
 * they reach Redis (policy_check_sizes), HEAD kept from writing
 * (policy_check_head), scripts refused where a token's rules would not hold
 * inside them (policy_check_rules) and bounded on a shared server
 * (policy_check_shared_scripts, the approved list). The rest of the policy is tested through a whole
 * command table in tests/unit/gateway/redis/test_command.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/policy/policy.h"
#include "gateway/protocol/script_flags.h"
#include "tests/unit/testhelp.h"

#define CAP 1048576ULL /* max_reply_bytes in these tests */

/* An annotated entry for name, as a command table would hold it. */
static cmd_info info(const char *name)
{
    cmd_info c;
    memset(&c, 0, sizeof c);
    c.name = (char *)name;
    policy_annotate(&c, NULL);
    return c;
}

/* policy_check_sizes on a command written as words; floor carried. */
static int sizes(uint64_t *floor, int argc, const char *const *words)
{
    char *argv[16];
    size_t lens[16];
    for (int i = 0; i < argc; i++) {
        argv[i] = (char *)words[i];
        lens[i] = strlen(words[i]);
    }
    cmd_info c = info(words[0]);
    tg_err err;
    return policy_check_sizes(&c, argc, argv, lens, CAP, floor, &err);
}

#define SIZES(floor, ...)                                                       \
    sizes(floor, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)), \
          (const char *const[]){__VA_ARGS__})

TEST(annotated_from_the_table)
{
    const char *sized[] = {"srandmember", "zrandmember", "hrandfield", "setbit", "setrange",
                           "bitfield"};
    for (size_t i = 0; i < sizeof sized / sizeof sized[0]; i++)
        CHECK(info(sized[i]).policy & CMD_POLICY_SIZED);
    CHECK(!(info("get").policy & CMD_POLICY_SIZED));
    CHECK(!(info("bitfield_ro").policy & CMD_POLICY_SIZED)); /* GET only: no growth */
    CHECK(!(info("spop").policy & CMD_POLICY_SIZED));        /* bounded by the set */
}

/* An annotated subcommand of an annotated container. */
static cmd_info sub_of(const cmd_info *parent, const char *name)
{
    cmd_info c;
    memset(&c, 0, sizeof c);
    c.name = (char *)name;
    policy_annotate(&c, parent);
    return c;
}

/* The refused table's rows: what only a server's owner may run, what a
 * subcommand's own row overrides, what nobody runs. */
TEST(refused_rows_and_server_isolation)
{
    cmd_info fn = info("function"), inf = info("info"), mem = info("memory"),
             script = info("script"), cfg = info("config"), copy = info("copy"),
             flushall = info("flushall");
    CHECK(fn.refused_why && (fn.policy & CMD_POLICY_SERVER));
    cmd_info load = sub_of(&fn, "function|load");
    CHECK(load.refused_why && (load.policy & CMD_POLICY_SERVER)); /* inherited */
    CHECK(inf.refused_why && (inf.policy & CMD_POLICY_SERVER) && (inf.policy & CMD_POLICY_INFO));
    CHECK(mem.refused_why && !(mem.policy & CMD_POLICY_SERVER));
    cmd_info usage = sub_of(&mem, "memory|usage"), stats = sub_of(&mem, "memory|stats"),
             doctor = sub_of(&mem, "memory|doctor");
    CHECK(!usage.refused_why);                                    /* its own row */
    CHECK(stats.refused_why && (stats.policy & CMD_POLICY_SERVER));
    CHECK(doctor.refused_why && !(doctor.policy & CMD_POLICY_SERVER));
    CHECK(!script.refused_why);
    cmd_info flush = sub_of(&script, "script|flush"), kill = sub_of(&script, "script|kill"),
             sload = sub_of(&script, "script|load");
    CHECK(flush.refused_why && (flush.policy & CMD_POLICY_SERVER));
    CHECK(kill.refused_why && !(kill.policy & CMD_POLICY_SERVER));
    CHECK(!sload.refused_why);
    cmd_info cfg_set = sub_of(&cfg, "config|set");
    CHECK(cfg.refused_why && !(cfg.policy & CMD_POLICY_SERVER) && cfg_set.refused_why &&
          !(cfg_set.policy & CMD_POLICY_SERVER));
    CHECK(!copy.refused_why && (copy.policy & CMD_POLICY_COPY));
    CHECK(!flushall.refused_why && (flushall.policy & CMD_POLICY_FLUSHALL));
    static const char *const nobody[] = {"acl", "shutdown", "debug", "module", "replicaof",
                                         "client", "select", "swapdb", "move", "monitor"};
    for (size_t i = 0; i < sizeof nobody / sizeof nobody[0]; i++) {
        cmd_info c = info(nobody[i]);
        CHECK(c.refused_why && !(c.policy & CMD_POLICY_SERVER));
    }
}

TEST(negative_counts_bounded_by_the_reply_cap)
{
    uint64_t floor = 0;
    CHECK(SIZES(&floor, "srandmember", "s", "-60000000") == -1); /* the finding */
    CHECK(floor == 0);
    CHECK(SIZES(&floor, "srandmember", "s", "-9223372036854775808") == -1);
    CHECK(SIZES(&floor, "hrandfield", "h", "-50000000", "withvalues") == -1);
    CHECK(SIZES(&floor, "zrandmember", "z", "-50000000", "withscores") == -1);
    CHECK(SIZES(&floor, "srandmember", "s", "-174763") == -1); /* 6 * n > CAP */
    CHECK(SIZES(&floor, "srandmember", "s", "-174762") == 0);  /* 6 * n <= CAP */
    CHECK(floor == 174762ULL * 6);
}

TEST(positive_and_odd_counts_pass)
{
    uint64_t floor = 0;
    CHECK(SIZES(&floor, "srandmember", "s", "1000000000") == 0); /* at most the set */
    CHECK(SIZES(&floor, "srandmember", "s") == 0);
    CHECK(SIZES(&floor, "srandmember", "s", "-3") == 0);
    CHECK(floor == 18);
    /* Not integers: Redis refuses them itself. */
    CHECK(SIZES(&floor, "srandmember", "s", "-1e9") == 0);
    CHECK(SIZES(&floor, "srandmember", "s", "-99999999999999999999999") == 0);
    CHECK(floor == 18);
}

TEST(counts_add_up_over_a_request)
{
    uint64_t floor = 0;
    CHECK(SIZES(&floor, "srandmember", "s", "-60000") == 0);
    CHECK(SIZES(&floor, "zrandmember", "z", "-60000") == 0);
    CHECK(SIZES(&floor, "hrandfield", "h", "-60000") == -1); /* 1080000 > CAP */
    CHECK(floor == 720000);
    CHECK(SIZES(&floor, "hrandfield", "h", "-54762") == 0);  /* exactly to CAP */
    CHECK(SIZES(&floor, "hrandfield", "h", "-1") == -1);
}

TEST(offsets_bounded_by_the_value_they_make)
{
    uint64_t floor = 0;
    CHECK(SIZES(&floor, "setrange", "k", "536870000", "x") == -1);
    CHECK(SIZES(&floor, "setrange", "k", "1048575", "x") == 0);  /* CAP bytes */
    CHECK(SIZES(&floor, "setrange", "k", "1048575", "xy") == -1);
    CHECK(SIZES(&floor, "setbit", "k", "4294967295", "1") == -1);
    CHECK(SIZES(&floor, "setbit", "k", "8388607", "1") == 0);    /* bit of byte CAP-1 */
    CHECK(SIZES(&floor, "setbit", "k", "8388608", "1") == -1);
    CHECK(SIZES(&floor, "setbit", "k", "-1", "1") == 0);          /* Redis refuses */
    CHECK(floor == 0);                                            /* not replies */
}

TEST(bitfield_operations_walked)
{
    uint64_t floor = 0;
    CHECK(SIZES(&floor, "bitfield", "k", "set", "u8", "#400000000", "1") == -1);
    CHECK(SIZES(&floor, "bitfield", "k", "incrby", "i64", "4000000000", "1") == -1);
    CHECK(SIZES(&floor, "bitfield", "k", "get", "u8", "0", "set", "u8", "#400000000", "1") ==
          -1);
    CHECK(SIZES(&floor, "bitfield", "k", "overflow", "sat", "incrby", "u8", "#1048576", "1") ==
          -1);
    /* GET past the end reads zeros: no growth. */
    CHECK(SIZES(&floor, "bitfield", "k", "get", "u8", "#400000000") == 0);
    CHECK(SIZES(&floor, "bitfield", "k", "set", "u8", "#10", "7", "get", "u8", "#10") == 0);
    /* A value that reads like an operation is a value. */
    CHECK(SIZES(&floor, "bitfield", "k", "set", "u8", "0", "set", "get", "u8", "0") == 0);
}

TEST(head_refuses_what_may_write)
{
    cmd_info get = info("get"), set = info("set");
    cmd_verdict read = {.info = &get}, write = {.info = &set, .is_write = true}, unknown = {0};
    tg_err err;
    CHECK(policy_check_head(&read, &err) == 0);
    CHECK(policy_check_head(&write, &err) == -1);
    CHECK(err.status == 405);
    CHECK(strstr(err.msg, "'set'") != NULL);
    CHECK(policy_check_head(&unknown, &err) == -1);
}

/* ==== Scripts ==== */

/* A scripting command as the backend's table describes it. */
static cmd_info script_info(const char *name, bool readonly)
{
    cmd_info c = info(name);
    c.categories = CMD_CAT_SCRIPTING;
    c.flags = readonly ? CMD_READONLY : CMD_MAY_REPLICATE;
    return c;
}

/* policy_check_shared_scripts on words: argv[0]'s entry is c. */
static int shared(int mode, const policy_scripts *ok, const cmd_info *c, const char *a1,
                  tg_err *err)
{
    char *argv[3] = {(char *)c->name, (char *)a1, (char *)"0"};
    size_t lens[3] = {strlen(c->name), strlen(a1), 1};
    return policy_check_shared_scripts(mode, ok, c, 3, argv, lens, err);
}

#define LOOP "redis.call('set',KEYS[1],'x') while true do end"

TEST(rules_do_not_reach_into_scripts)
{
    /* Issue 10, finding 5: --deny @write wrote through EVAL, --deny
     * @write,flushdb flushed through it. A token with rules runs no script. */
    const char *runners[] = {"eval", "eval_ro", "evalsha", "evalsha_ro", "fcall",
                             "fcall_ro", "script|load"};
    tg_err err;
    for (size_t i = 0; i < sizeof runners / sizeof runners[0]; i++) {
        cmd_info c = script_info(runners[i], false);
        CHECK(c.policy & CMD_POLICY_SCRIPT);
        const char *name = runners[i];
        CHECK(policy_check_rules(&c, name, strlen(name), NULL, "@write", &err) == -1);
        CHECK(err.status == 403 && strstr(err.msg, "inside scripts"));
        CHECK(policy_check_rules(&c, name, strlen(name), NULL, "@write,flushdb", &err) == -1);
        CHECK(policy_check_rules(&c, name, strlen(name), "@scripting,get", NULL, &err) == -1);
        CHECK(policy_check_rules(&c, name, strlen(name), NULL, NULL, &err) == 0);
    }
    cmd_info exists = script_info("script|exists", false), get = info("get");
    CHECK(!(exists.policy & CMD_POLICY_SCRIPT)); /* runs nothing */
    CHECK(policy_check_rules(&exists, "script", 6, NULL, "@write", &err) == 0);
    CHECK(policy_check_rules(&get, "get", 3, NULL, "@write", &err) == 0);
}

TEST(shared_scripts_modes)
{
    cmd_info eval = script_info("eval", false), eval_ro = script_info("eval_ro", true);
    cmd_info fcall = script_info("fcall", false), load = script_info("script|load", false);
    cmd_info get = info("get");
    tg_err err;
    /* Issue 10, finding 2: the write-then-loop script. */
    CHECK(shared(CFG_SHARED_SCRIPTS_ALL, NULL, &eval, LOOP, &err) == 0);
    CHECK(shared(CFG_SHARED_SCRIPTS_READ_ONLY, NULL, &eval, LOOP, &err) == -1);
    CHECK(err.status == 400 && strstr(err.msg, "shared_scripts = read-only"));
    CHECK(shared(CFG_SHARED_SCRIPTS_APPROVED, NULL, &eval, LOOP, &err) == -1);
    CHECK(shared(CFG_SHARED_SCRIPTS_OFF, NULL, &eval, LOOP, &err) == -1);
    for (int m = CFG_SHARED_SCRIPTS_ALL; m <= CFG_SHARED_SCRIPTS_OFF; m++) {
        CHECK(shared(m, NULL, &get, "k", &err) == 0);
        CHECK((shared(m, NULL, &eval_ro, "return 1", &err) == 0) == (m != CFG_SHARED_SCRIPTS_OFF));
        CHECK((shared(m, NULL, &load, LOOP, &err) == 0) == (m != CFG_SHARED_SCRIPTS_OFF));
    }
    /* Functions are the operator's (FUNCTION is refused to tokens). */
    CHECK(shared(CFG_SHARED_SCRIPTS_APPROVED, NULL, &fcall, "f", &err) == 0);
    CHECK(shared(CFG_SHARED_SCRIPTS_READ_ONLY, NULL, &fcall, "f", &err) == -1);
}

TEST(approved_scripts_by_sha1)
{
    const char *body = "return redis.call('incr', KEYS[1])";
    char sha[41], loop_sha[41];
    script_sha1_hex(body, strlen(body), sha);
    script_sha1_hex(LOOP, strlen(LOOP), loop_sha);
    char list[128];
    snprintf(list, sizeof list, "%s, 54BD274DDC59FB3BE0F42DEEE2F64322A10E2B50", sha);
    tg_err err;
    policy_scripts *ok = policy_scripts_load(list, &err);
    CHECK(ok && policy_scripts_count(ok) == 2);
    cmd_info eval = script_info("eval", false), evalsha = script_info("evalsha", false);
    int m = CFG_SHARED_SCRIPTS_APPROVED;
    CHECK(shared(m, ok, &eval, body, &err) == 0);
    CHECK(shared(m, ok, &evalsha, sha, &err) == 0);
    char upper[41];
    for (int i = 0; i < 41; i++) upper[i] = (char)(sha[i] >= 'a' ? sha[i] - 32 : sha[i]);
    CHECK(shared(m, ok, &evalsha, upper, &err) == 0);
    CHECK(shared(m, ok, &evalsha, "54bd274ddc59fb3be0f42deee2f64322a10e2b50", &err) == 0);
    /* Not approved: named by its SHA-1, for the operator. */
    CHECK(shared(m, ok, &eval, LOOP, &err) == -1);
    CHECK(err.status == 400 && strstr(err.msg, loop_sha) && strstr(err.msg, "approve"));
    CHECK(shared(m, ok, &evalsha, loop_sha, &err) == -1);
    CHECK(shared(m, ok, &evalsha, "not-a-sha", &err) == -1);
    /* The list binds only in approved mode. */
    CHECK(shared(CFG_SHARED_SCRIPTS_READ_ONLY, ok, &eval, body, &err) == -1);
    policy_scripts_free(ok);
}

TEST(approved_scripts_file)
{
    char path[] = "/tmp/tg-approved-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    FILE *f = fdopen(fd, "w");
    fputs("# comment\n\n  b2efc02798c8e9b471a10f9b1d5745db89923ff3  fixedWindow limit\n"
          "823CB2A5A902D69681244F5E28E5EBB8F2A89EDD\r\n", f);
    fclose(f);
    tg_err err = {0, ""};
    policy_scripts *s = policy_scripts_load(path, &err);
    CHECK(s && policy_scripts_count(s) == 2);
    CHECK(policy_scripts_has(s, "823cb2a5a902d69681244f5e28e5ebb8f2a89edd", 40));
    CHECK(policy_scripts_has(s, "b2efc02798c8e9b471a10f9b1d5745db89923ff3", 40));
    CHECK(!policy_scripts_has(s, "b2efc02798c8e9b471a10f9b1d5745db89923ff4", 40));
    policy_scripts_free(s);
    f = fopen(path, "a");
    fputs("b2efc02798c8e9b471a10f9b1d5745db89923ff\n", f); /* 39 digits */
    fclose(f);
    CHECK(policy_scripts_load(path, &err) == NULL && err.status == 400);
    CHECK(strstr(err.msg, ":5: not a SHA-1") != NULL);
    unlink(path);
    CHECK(policy_scripts_load(path, &err) == NULL && strstr(err.msg, path));
    /* Unset: the built-in list (tools/approved-scripts.txt), which has
     * @upstash/ratelimit's scripts; "none": the empty set. */
    s = policy_scripts_load(NULL, &err);
    CHECK(s && policy_scripts_count(s) >= 10);
    size_t builtin_n = s ? policy_scripts_count(s) : 0;
    policy_scripts_free(s);
    s = policy_scripts_load("", &err);
    CHECK(s && policy_scripts_count(s) == builtin_n);
    policy_scripts_free(s);
    s = policy_scripts_load("none", &err);
    CHECK(s && policy_scripts_count(s) == 0);
    policy_scripts_free(s);
    policy_scripts_free(NULL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    RUN(annotated_from_the_table);
    RUN(refused_rows_and_server_isolation);
    RUN(negative_counts_bounded_by_the_reply_cap);
    RUN(positive_and_odd_counts_pass);
    RUN(counts_add_up_over_a_request);
    RUN(offsets_bounded_by_the_value_they_make);
    RUN(bitfield_operations_walked);
    RUN(head_refuses_what_may_write);
    RUN(rules_do_not_reach_into_scripts);
    RUN(shared_scripts_modes);
    RUN(approved_scripts_by_sha1);
    RUN(approved_scripts_file);
    TEST_MAIN_END();
}
