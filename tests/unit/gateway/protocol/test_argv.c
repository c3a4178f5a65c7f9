/* test_argv.c - gateway/protocol/argv.h: JSON and path request forms. */
#include <stdbool.h>
#include <stdlib.h>

#include "gateway/protocol/argv.h"
#include "tests/unit/testhelp.h"

/* Parses body[0..n) as one command; returns rc and leaves *c pointing at
 * the command (valid until the arena is released). */
static int one(arena *a, const char *body, size_t n, tg_cmd **c, tg_err *err)
{
    static tg_cmdlist l;
    int rc = argv_parse_json(a, body, n, false, &l, err);
    *c = rc == 0 ? &l.cmds[0] : NULL;
    if (rc == 0 && l.n != 1) return -2;
    return rc;
}

#define ONE(body, c, err) one(&a, (body), sizeof(body) - 1, (c), (err))

/* Checks argument i of c against want[0..wn). */
#define ARG(c, i, want) \
    CHECK_MEM((c)->argv[i], (c)->lens[i], (want), sizeof(want) - 1)

TEST(json_strings)
{
    arena a;
    arena_init(&a);
    tg_cmd *c;
    tg_err err;
    CHECK(ONE("[\"set\",\"k\",\"v\"]", &c, &err) == 0);
    if (c) {
        CHECK(c->argc == 3);
        ARG(c, 0, "set");
        ARG(c, 1, "k");
        ARG(c, 2, "v");
        CHECK(c->argv[2][1] == '\0');
    }
    /* Whitespace everywhere JSON allows it; empty string argument. */
    CHECK(ONE(" \r\n\t[ \"GET\" ,\n\"\" ]\n ", &c, &err) == 0);
    if (c) {
        CHECK(c->argc == 2);
        ARG(c, 0, "GET");
        CHECK(c->lens[1] == 0 && c->argv[1][0] == '\0');
    }
    arena_release(&a);
}

TEST(json_numbers_keep_their_text)
{
    arena a;
    arena_init(&a);
    tg_cmd *c;
    tg_err err;
    CHECK(ONE("[\"x\",10,1.50,-0.5e3,0,-0,1E+2,2e-7,123456789012345678901234567890]",
              &c, &err) == 0);
    if (c) {
        CHECK(c->argc == 9);
        ARG(c, 1, "10");
        ARG(c, 2, "1.50");
        ARG(c, 3, "-0.5e3");
        ARG(c, 4, "0");
        ARG(c, 5, "-0");
        ARG(c, 6, "1E+2");
        ARG(c, 7, "2e-7");
        ARG(c, 8, "123456789012345678901234567890");
    }
    arena_release(&a);
}

TEST(json_literals)
{
    arena a;
    arena_init(&a);
    tg_cmd *c;
    tg_err err;
    CHECK(ONE("[\"set\",true,false,null]", &c, &err) == 0);
    if (c) {
        CHECK(c->argc == 4);
        ARG(c, 1, "true");
        ARG(c, 2, "false");
        ARG(c, 3, "null");
    }
    arena_release(&a);
}

TEST(json_escapes)
{
    arena a;
    arena_init(&a);
    tg_cmd *c;
    tg_err err;
    CHECK(ONE("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", &c, &err) == 0);
    if (c) ARG(c, 0, "\"\\/\b\f\n\r\t");
    /* \u0000 is a real NUL byte, and counted. */
    CHECK(ONE("[\"x\\u0000y\"]", &c, &err) == 0);
    if (c) {
        ARG(c, 0, "x\0y");
        CHECK(c->lens[0] == 3);
    }
    CHECK(ONE("[\"\\u00e9\\u20AC\\u0041\"]", &c, &err) == 0);
    if (c) ARG(c, 0, "\xc3\xa9\xe2\x82\xac" "A");
    arena_release(&a);
}

TEST(json_surrogates)
{
    arena a;
    arena_init(&a);
    tg_cmd *c;
    tg_err err;
    CHECK(ONE("[\"\\ud83d\\ude00\"]", &c, &err) == 0);
    if (c) ARG(c, 0, "\xf0\x9f\x98\x80");
    CHECK(ONE("[\"\\uDBFF\\uDFFF\"]", &c, &err) == 0);
    if (c) ARG(c, 0, "\xf4\x8f\xbf\xbf");
    /* Lone surrogates become U+FFFD, never CESU-8 bytes. */
    CHECK(ONE("[\"\\ud800\"]", &c, &err) == 0);
    if (c) ARG(c, 0, "\xef\xbf\xbd");
    CHECK(ONE("[\"\\udc00\"]", &c, &err) == 0);
    if (c) ARG(c, 0, "\xef\xbf\xbd");
    CHECK(ONE("[\"\\ud800x\"]", &c, &err) == 0);
    if (c) ARG(c, 0, "\xef\xbf\xbdx");
    CHECK(ONE("[\"\\ud800\\u0041\"]", &c, &err) == 0);
    if (c) ARG(c, 0, "\xef\xbf\xbd" "A");
    CHECK(ONE("[\"\\ude00\\ud83d\"]", &c, &err) == 0); /* reversed */
    if (c) ARG(c, 0, "\xef\xbf\xbd\xef\xbf\xbd");
    arena_release(&a);
}

TEST(json_raw_bytes_pass_through)
{
    arena a;
    arena_init(&a);
    tg_cmd *c;
    tg_err err;
    CHECK(ONE("[\"\xff\xfe\x80\xc3\xa9\x7f\"]", &c, &err) == 0);
    if (c) ARG(c, 0, "\xff\xfe\x80\xc3\xa9\x7f");
    arena_release(&a);
}

TEST(json_errors)
{
    static const struct {
        const char *body;
        size_t n;
    } bad[] = {
#define B(s) {s, sizeof(s) - 1}
        B(""), B("   "), B("{}"), B("\"set\""), B("42"), B("[]"), B("[ ]"),
        B("[[\"a\"]]"), B("[\"a\",[1]]"), B("[{\"a\":1}]"), B("[\"a\"] x"),
        B("[\"a\"][\"b\"]"), B("[\"abc"), B("[\"abc\""), B("[\"a\\"), B("["),
        B("[\"a\",]"), B("[\"a\" \"b\"]"), B("[\"a\nb\"]"), B("[\"a\tb\"]"),
        B("[\"\x01\"]"), B("[\"\\x\"]"), B("[\"\\u12\"]"), B("[\"\\u12g4\"]"),
        B("[\"\\U0041\"]"), B("[\"\\'\"]"), B("[01]"), B("[1.]"), B("[-]"),
        B("[1e]"), B("[.5]"), B("[+1]"), B("[1.5e+]"), B("[tru]"), B("[True]"),
        B("[nul]"), B("[\"a\"]\0"), B("[\"a\",\0]"), B("[NaN]"), B("['a']"),
#undef B
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        arena a;
        arena_init(&a);
        tg_cmdlist l;
        tg_err err = {0, ""};
        int rc = argv_parse_json(&a, bad[i].body, bad[i].n, false, &l, &err);
        if (rc != -1) fprintf(stderr, "  accepted bad body #%zu\n", i);
        CHECK(rc == -1);
        CHECK(err.status == 400);
        CHECK(!strncmp(err.msg, "ERR ", 4));
        arena_release(&a);
    }
    /* NULL body with len 0. */
    arena a;
    arena_init(&a);
    tg_cmdlist l;
    tg_err err;
    CHECK(argv_parse_json(&a, NULL, 0, false, &l, &err) == -1 && err.status == 400);
    arena_release(&a);
}

TEST(json_many_args_and_long_string)
{
    arena a;
    arena_init(&a);
    char *body = malloc(20000);
    size_t n = 0;
    body[n++] = '[';
    for (int i = 0; i < 1000; i++) n += (size_t)sprintf(body + n, "%s\"a%d\"", i ? "," : "", i);
    body[n++] = ']';
    tg_cmdlist l;
    tg_err err;
    CHECK(argv_parse_json(&a, body, n, false, &l, &err) == 0);
    CHECK(l.n == 1 && l.cmds[0].argc == 1000);
    if (l.n == 1 && l.cmds[0].argc == 1000) {
        CHECK_STR(l.cmds[0].argv[0], "a0");
        CHECK_STR(l.cmds[0].argv[999], "a999");
    }
    free(body);
    /* A 100 KB string with escapes spread through it. */
    size_t big = 100 * 1024;
    body = malloc(big + 16);
    n = 0;
    body[n++] = '[';
    body[n++] = '"';
    for (size_t i = 0; i < big / 2; i++) {
        body[n++] = '\\';
        body[n++] = 'n';
    }
    body[n++] = '"';
    body[n++] = ']';
    CHECK(argv_parse_json(&a, body, n, false, &l, &err) == 0);
    CHECK(l.n == 1 && l.cmds[0].lens[0] == big / 2);
    if (l.n == 1) CHECK(l.cmds[0].argv[0][big / 2 - 1] == '\n' && l.cmds[0].argv[0][big / 2] == '\0');
    free(body);
    arena_release(&a);
}

TEST(pipeline)
{
    arena a;
    arena_init(&a);
    tg_cmdlist l;
    tg_err err;
    static const char body[] = " [[\"set\",\"a\",\"1\"], [\"get\",\"a\"]] ";
    CHECK(argv_parse_json(&a, body, sizeof body - 1, true, &l, &err) == 0);
    CHECK(l.n == 2);
    if (l.n == 2) {
        CHECK(l.cmds[0].argc == 3 && l.cmds[1].argc == 2);
        ARG(&l.cmds[0], 2, "1");
        ARG(&l.cmds[1], 0, "get");
        ARG(&l.cmds[1], 1, "a");
    }
    /* More commands than the initial capacity. */
    char big[4096];
    size_t n = 0;
    big[n++] = '[';
    for (int i = 0; i < 100; i++) n += (size_t)sprintf(big + n, "%s[\"incr\",%d]", i ? "," : "", i);
    big[n++] = ']';
    CHECK(argv_parse_json(&a, big, n, true, &l, &err) == 0);
    CHECK(l.n == 100);
    if (l.n == 100) ARG(&l.cmds[99], 1, "99");
    arena_release(&a);
}

TEST(pipeline_errors)
{
    static const char *const bad[] = {
        "[]", "[ ]", "[\"set\",\"a\"]", "[[\"a\"],1]", "[[\"a\"],]", "[[\"a\"]",
        "[[\"a\"]] x", "[[]]", "{}", "[[\"a\"],[\"b\"", "[[[\"a\"]]]", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        arena a;
        arena_init(&a);
        tg_cmdlist l;
        tg_err err = {0, ""};
        int rc = argv_parse_json(&a, bad[i], strlen(bad[i]), true, &l, &err);
        if (rc != -1) fprintf(stderr, "  accepted bad pipeline '%s'\n", bad[i]);
        CHECK(rc == -1 && err.status == 400);
        arena_release(&a);
    }
}

/* ==== Path form ==== */

static int path(arena *a, const char *p, const char *body, size_t blen,
                const tg_query_arg *q, int nq, tg_cmd *c, tg_err *err)
{
    return argv_parse_path(a, p, body, blen, q, nq, c, err);
}

TEST(path_segments_decoded)
{
    arena a;
    arena_init(&a);
    tg_cmd c;
    tg_err err;
    CHECK(path(&a, "/set/a%2Fb/v", NULL, 0, NULL, 0, &c, &err) == 0);
    CHECK(c.argc == 3);
    if (c.argc == 3) {
        ARG(&c, 0, "set");
        ARG(&c, 1, "a/b");
        ARG(&c, 2, "v");
    }
    /* CR LF stays inside one argument: no command injection. */
    CHECK(path(&a, "/set/k/a%0D%0Aflushall%0d%0a", NULL, 0, NULL, 0, &c, &err) == 0);
    CHECK(c.argc == 3);
    if (c.argc == 3) ARG(&c, 2, "a\r\nflushall\r\n");
    CHECK(path(&a, "/set/%00x/a+b", NULL, 0, NULL, 0, &c, &err) == 0);
    if (c.argc == 3) {
        ARG(&c, 1, "\0x");
        ARG(&c, 2, "a+b"); /* '+' is literal in a path */
    }
    CHECK(path(&a, "/set//v", NULL, 0, NULL, 0, &c, &err) == 0);
    CHECK(c.argc == 3 && c.lens[1] == 0);
    arena_release(&a);
}

TEST(path_bad_percent)
{
    static const char *const bad[] = {"/get/%zz", "/get/%4", "/get/a%", "/get/%",
                                      "/get/%g0", "/%", "/get/a%2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        arena a;
        arena_init(&a);
        tg_cmd c;
        tg_err err = {0, ""};
        CHECK(path(&a, bad[i], NULL, 0, NULL, 0, &c, &err) == -1);
        CHECK(err.status == 400);
        arena_release(&a);
    }
}

TEST(path_trailing_slash_and_empty)
{
    arena a;
    arena_init(&a);
    tg_cmd c;
    tg_err err;
    CHECK(path(&a, "/get/a/", NULL, 0, NULL, 0, &c, &err) == 0);
    CHECK(c.argc == 2);
    CHECK(path(&a, "/ping", NULL, 0, NULL, 0, &c, &err) == 0);
    CHECK(c.argc == 1);
    static const char *const empty[] = {"/", "", "//", "//get"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        err.status = 0;
        CHECK(path(&a, empty[i], NULL, 0, NULL, 0, &c, &err) == -1);
        CHECK(err.status == 400);
    }
    arena_release(&a);
}

TEST(path_body_and_query)
{
    arena a;
    arena_init(&a);
    tg_cmd c;
    tg_err err;
    static const char body[] = "va\0lue";
    const tg_query_arg q[] = {
        {"EX", "10"}, {"_token", "secret"}, {"NX", NULL}, {"a+b", "c%20d+e"},
    };
    CHECK(path(&a, "/set/k", body, sizeof body - 1, q, 4, &c, &err) == 0);
    CHECK(c.argc == 8);
    if (c.argc == 8) {
        ARG(&c, 2, "va\0lue");
        ARG(&c, 3, "EX");
        ARG(&c, 4, "10");
        ARG(&c, 5, "NX");
        ARG(&c, 6, "a b");
        ARG(&c, 7, "c d e");
    }
    for (int i = 0; i < c.argc; i++) CHECK(strcmp(c.argv[i], "secret") != 0);
    /* No body: nothing appended; NULL body with a length is ignored too. */
    CHECK(path(&a, "/get/k", NULL, 0, q + 1, 1, &c, &err) == 0);
    CHECK(c.argc == 2);
    CHECK(path(&a, "/get/k", "", 0, NULL, 0, &c, &err) == 0);
    CHECK(c.argc == 2);
    /* A malformed query escape is a 400 too. */
    const tg_query_arg badq[] = {{"EX", "%4"}};
    err.status = 0;
    CHECK(path(&a, "/set/k/v", NULL, 0, badq, 1, &c, &err) == -1 && err.status == 400);
    arena_release(&a);
}

TEST(pct_decode_direct)
{
    arena a;
    arena_init(&a);
    char *o;
    size_t n;
    tg_err err;
    CHECK(argv_pct_decode(&a, "a%2fb%2F+", 9, false, &o, &n, &err) == 0);
    CHECK_MEM(o, n, "a/b/+", 5);
    CHECK(argv_pct_decode(&a, "a%2fb%2F+", 9, true, &o, &n, &err) == 0);
    CHECK_MEM(o, n, "a/b/ ", 5);
    CHECK(argv_pct_decode(&a, "%ff%00", 6, false, &o, &n, &err) == 0);
    CHECK_MEM(o, n, "\xff\0", 2);
    /* Only n bytes are read: "%41" cut after "%4" is malformed. */
    CHECK(argv_pct_decode(&a, "%41", 2, false, &o, &n, &err) == -1);
    arena_release(&a);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep results if a sanitizer aborts */
    RUN(json_strings);
    RUN(json_numbers_keep_their_text);
    RUN(json_literals);
    RUN(json_escapes);
    RUN(json_surrogates);
    RUN(json_raw_bytes_pass_through);
    RUN(json_errors);
    RUN(json_many_args_and_long_string);
    RUN(pipeline);
    RUN(pipeline_errors);
    RUN(path_segments_decoded);
    RUN(path_bad_percent);
    RUN(path_trailing_slash_and_empty);
    RUN(path_body_and_query);
    RUN(pct_decode_direct);
    TEST_MAIN_END();
}
