/* test_policy.c - gateway/policy/policy.h: size arguments bounded before
 * they reach Redis (policy_check_sizes), and HEAD kept from writing
 * (policy_check_head). The rest of the policy is tested through a whole
 * command table in tests/unit/gateway/redis/test_command.c. */
#include <stdint.h>
#include <string.h>

#include "gateway/policy/policy.h"
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
    cmd_verdict read = {&get, false, false}, write = {&set, true, false}, unknown = {0};
    tg_err err;
    CHECK(policy_check_head(&read, &err) == 0);
    CHECK(policy_check_head(&write, &err) == -1);
    CHECK(err.status == 405);
    CHECK(strstr(err.msg, "'set'") != NULL);
    CHECK(policy_check_head(&unknown, &err) == -1);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    RUN(annotated_from_the_table);
    RUN(negative_counts_bounded_by_the_reply_cap);
    RUN(positive_and_odd_counts_pass);
    RUN(counts_add_up_over_a_request);
    RUN(offsets_bounded_by_the_value_they_make);
    RUN(bitfield_operations_walked);
    RUN(head_refuses_what_may_write);
    TEST_MAIN_END();
}
