/* test_script_flags.c - the allow-key-locking shebang rewrite. */
#include "gateway/protocol/script_flags.h"
#include "tests/unit/testhelp.h"

static tg_cmd cmd3(arena *a, const char *x, const char *y, const char *z)
{
    tg_cmd c;
    c.argc = 3;
    c.argv = arena_alloc(a, 3 * sizeof *c.argv);
    c.lens = arena_alloc(a, 3 * sizeof *c.lens);
    const char *v[] = {x, y, z};
    for (int i = 0; i < 3; i++) {
        c.argv[i] = arena_strndup(a, v[i], strlen(v[i]));
        c.lens[i] = strlen(v[i]);
    }
    return c;
}

static void check_eval(const char *script, const char *want)
{
    arena a;
    arena_init(&a);
    const char *ov;
    tg_cmd c = cmd3(&a, "EVAL", script, "0");
    script_flags_rewrite(&a, &c, &ov);
    CHECK_MEM(c.argv[1], c.lens[1], want, strlen(want));
    CHECK(ov == NULL);
    arena_release(&a);
}

TEST(strips_only_the_upstash_flag)
{
    check_eval("#!lua flags=allow-key-locking\nreturn 1", "#!lua\nreturn 1");
    check_eval("#!lua flags=allow-key-locking,no-writes\nreturn 1", "#!lua flags=no-writes\nreturn 1");
    check_eval("#!lua flags=no-writes,allow-key-locking,allow-oom\nreturn 1",
               "#!lua flags=no-writes,allow-oom\nreturn 1");
    check_eval("#!lua name=x flags=allow-key-locking\nreturn 1", "#!lua name=x\nreturn 1");
}

TEST(leaves_other_scripts_alone)
{
    check_eval("return 1", "return 1");
    check_eval("#!lua flags=no-writes\nreturn 1", "#!lua flags=no-writes\nreturn 1");
    check_eval("#!lua\nreturn 'flags=allow-key-locking'", "#!lua\nreturn 'flags=allow-key-locking'");
    check_eval("-- #!lua flags=allow-key-locking\nreturn 1", "-- #!lua flags=allow-key-locking\nreturn 1");
}

TEST(evalsha_and_script_load_use_the_clients_sha)
{
    arena a;
    arena_init(&a);
    const char *script = "#!lua flags=allow-key-locking\nreturn 42";
    char client_sha[41], stored_sha[41];
    script_sha1_hex(script, strlen(script), client_sha);
    script_sha1_hex("#!lua\nreturn 42", 15, stored_sha);
    const char *ov;
    tg_cmd load = cmd3(&a, "script", "LOAD", script);
    script_flags_rewrite(&a, &load, &ov);
    CHECK_STR(ov, client_sha);
    CHECK_MEM(load.argv[2], load.lens[2], "#!lua\nreturn 42", 15);
    tg_cmd sha = cmd3(&a, "evalsha", client_sha, "0");
    script_flags_rewrite(&a, &sha, &ov);
    CHECK_MEM(sha.argv[1], sha.lens[1], stored_sha, 40);
    tg_cmd unknown = cmd3(&a, "EVALSHA_RO", "0000000000000000000000000000000000000000", "0");
    script_flags_rewrite(&a, &unknown, &ov);
    CHECK_MEM(unknown.argv[1], unknown.lens[1], "0000000000000000000000000000000000000000", 40);
    arena_release(&a);
}

TEST(sha1_known_vector)
{
    char out[41];
    script_sha1_hex("abc", 3, out);
    CHECK_STR(out, "a9993e364706816aba3e25717850c26c9cd0d89d");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    RUN(strips_only_the_upstash_flag);
    RUN(leaves_other_scripts_alone);
    RUN(evalsha_and_script_load_use_the_clients_sha);
    RUN(sha1_known_vector);
    TEST_MAIN_END();
}
