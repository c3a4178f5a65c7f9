/* test_monitor.c - gateway/policy/monitor.h: which MONITOR lines a
 * database's stream may see, over the real COMMAND reply of Redis 7.0
 * (tests/unit/fixtures), so key positions are Redis's own. */
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/policy/monitor.h"
#include "gateway/policy/policy.h"
#include "tests/unit/fixtures/command_table.h"
#include "tests/unit/testhelp.h"

static cmd_table *table;


static const char P[] = "db_00aa:";

/* Shown to (db, prefix)? Then out holds the line as shown. */
static bool shown(const char *line, int db, const char *prefix, char *out, size_t cap)
{
    buf b;
    buf_init(&b);
    bool ok = monitor_filter(table, line, strlen(line), db, prefix, prefix ? strlen(prefix) : 0,
                             prefix ? NULL : "db3:", &b);
    snprintf(out, cap, "%.*s", (int)b.len, b.data ? b.data : "");
    buf_release(&b);
    return ok;
}

TEST(fixture_loaded)
{
    CHECK(table != NULL);
}

TEST(dedicated_sees_its_logical_db_only)
{
    char out[256];
    CHECK(shown("1.5 [3 127.0.0.1:1] \"set\" \"k\" \"v\"", 3, NULL, out, sizeof out));
    CHECK_STR(out, "1.5 [3 127.0.0.1:1] \"set\" \"k\" \"v\"");
    CHECK(!shown("1.5 [4 127.0.0.1:1] \"set\" \"k\" \"v\"", 3, NULL, out, sizeof out));
    CHECK(!shown("1.5 [31 127.0.0.1:1] \"get\" \"k\"", 3, NULL, out, sizeof out));
    CHECK(shown("1.5 [3 lua] \"get\" \"k\"", 3, NULL, out, sizeof out));
    /* PUBLISH's channel without the database's namespace. */
    CHECK(shown("1.5 [3 a] \"publish\" \"db3:news\" \"m\"", 3, NULL, out, sizeof out));
    CHECK_STR(out, "1.5 [3 a] \"publish\" \"news\" \"m\"");
    /* One to a channel outside the namespace is not this database's. */
    CHECK(!shown("1.5 [3 a] \"publish\" \"raw\" \"db3:m\"", 3, NULL, out, sizeof out));
    CHECK(!shown("1.5 [3 a] \"publish\" \"db5:x\" \"m\"", 3, NULL, out, sizeof out));
}

/* The gateway's shared subscriber connections run in DB 0 for every
 * tenant: their SUBSCRIBE family must reach no monitor, whatever the DB. */
TEST(subscriber_connections_never_shown)
{
    char out[256];
    CHECK(!shown("1.5 [0 a] \"subscribe\" \"db_00bb:secret\"", 0, NULL, out, sizeof out));
    CHECK(!shown("1.5 [0 a] \"psubscribe\" \"db5:*\"", 0, NULL, out, sizeof out));
    CHECK(!shown("1.5 [0 a] \"unsubscribe\" \"db_00bb:secret\"", 0, NULL, out, sizeof out));
    CHECK(!shown("1.5 [0 a] \"subscribe\" \"db_00aa:mine\"", 0, P, out, sizeof out));
    CHECK(!shown("1.5 [0 a] \"ssubscribe\" \"db_00aa:mine\"", 0, P, out, sizeof out));
    CHECK(!shown("1.5 [0 a] \"pubsub|channels\"", 0, NULL, out, sizeof out));
}

TEST(gateway_commands_never_shown)
{
    char out[256];
    CHECK(!shown("1.5 [3 127.0.0.1:1] \"auth\" \"(redacted)\"", 3, NULL, out, sizeof out));
    CHECK(!shown("1.5 [3 127.0.0.1:1] \"acl\" \"setuser\" \"x\"", 3, NULL, out, sizeof out));
    CHECK(!shown("1.5 [3 127.0.0.1:1] \"client\" \"setname\" \"x\"", 3, NULL, out, sizeof out));
    CHECK(!shown("1.5 [3 127.0.0.1:1] \"config\" \"get\" \"x\"", 3, NULL, out, sizeof out));
}

TEST(shared_sees_its_keys_unprefixed)
{
    char out[256];
    CHECK(shown("1.5 [0 127.0.0.1:1] \"set\" \"db_00aa:k\" \"v\"", 0, P, out, sizeof out));
    CHECK_STR(out, "1.5 [0 127.0.0.1:1] \"set\" \"k\" \"v\"");
    CHECK(shown("1.5 [0 1.2.3.4:5] \"mset\" \"db_00aa:a\" \"1\" \"db_00aa:b\" \"2\"", 0, P,
                out, sizeof out));
    CHECK_STR(out, "1.5 [0 1.2.3.4:5] \"mset\" \"a\" \"1\" \"b\" \"2\"");
    CHECK(shown("1.5 [0 a] \"publish\" \"db_00aa:ch\" \"m\"", 0, P, out, sizeof out));
    CHECK_STR(out, "1.5 [0 a] \"publish\" \"ch\" \"m\"");
}

TEST(shared_never_sees_a_neighbour)
{
    char out[256];
    /* Another tenant's key; its value naming our prefix. */
    CHECK(!shown("1.5 [0 a] \"set\" \"db_00bb:k\" \"db_00aa:v\"", 0, P, out, sizeof out));
    /* Keys of two tenants in one command (cannot happen, still hidden). */
    CHECK(!shown("1.5 [0 a] \"mset\" \"db_00aa:a\" \"1\" \"db_00bb:b\" \"2\"", 0, P, out,
                 sizeof out));
    /* Keyless commands cannot be attributed. */
    CHECK(!shown("1.5 [0 a] \"echo\" \"db_00aa:x\"", 0, P, out, sizeof out));
    CHECK(!shown("1.5 [0 a] \"ping\"", 0, P, out, sizeof out));
    /* Another logical DB. */
    CHECK(!shown("1.5 [1 a] \"get\" \"db_00aa:k\"", 0, P, out, sizeof out));
    /* EVAL's keys by numkeys. */
    CHECK(shown("1.5 [0 a] \"eval\" \"return 1\" \"1\" \"db_00aa:k\"", 0, P, out, sizeof out));
    CHECK(!shown("1.5 [0 a] \"eval\" \"return 1\" \"1\" \"db_00bb:k\"", 0, P, out, sizeof out));
}

TEST(escapes_and_malformed_lines)
{
    char out[256];
    CHECK(shown("1.5 [0 a] \"set\" \"db_00aa:k\\\"q\" \"a\\nb\\x00\"", 0, P, out, sizeof out));
    CHECK_STR(out, "1.5 [0 a] \"set\" \"k\\\"q\" \"a\\nb\\x00\"");
    CHECK(!shown("garbage", 0, NULL, out, sizeof out));
    CHECK(!shown("1.5 [0 a] \"set\" \"unterminated", 0, NULL, out, sizeof out));
    CHECK(!shown("1.5 [0 a] ", 0, NULL, out, sizeof out));
    CHECK(!shown("1.5 [x a] \"get\" \"k\"", 0, NULL, out, sizeof out));
    CHECK(!shown("1.5 [0 a] \"nosuchcommand\" \"k\"", 0, NULL, out, sizeof out));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    table = fx_command_table();
    RUN(fixture_loaded);
    if (!table) TEST_MAIN_END();
    RUN(dedicated_sees_its_logical_db_only);
    RUN(gateway_commands_never_shown);
    RUN(subscriber_connections_never_shown);
    RUN(shared_sees_its_keys_unprefixed);
    RUN(shared_never_sees_a_neighbour);
    RUN(escapes_and_malformed_lines);
    cmd_table_free(table);
    TEST_MAIN_END();
}
