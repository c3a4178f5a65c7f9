/* test_keywalk.c - gateway/policy/keywalk.h: the slices each keyspace
 * command sends and the answers it builds, fed made-up SCAN replies. */
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdlib.h>

#include "common/buf.h"
#include "gateway/policy/keywalk.h"
#include "tests/unit/testhelp.h"

/* ==== Helpers ==== */

static redisReply *parse(const char *p, size_t n)
{
    redisReader *rd = redisReaderCreate();
    void *r = NULL;
    if (redisReaderFeed(rd, p, n) != REDIS_OK || redisReaderGetReply(rd, &r) != REDIS_OK)
        r = NULL;
    redisReaderFree(rd);
    return r;
}

static void bulk(buf *b, const char *s)
{
    buf_printf(b, "$%zu\r\n%s\r\n", strlen(s), s);
}

/* SCAN's reply: [cursor, [keys...]], the keys NULL-terminated. */
static redisReply *page(const char *cursor, ...)
{
    const char *keys[64];
    int n = 0;
    va_list ap;
    va_start(ap, cursor);
    for (const char *k; (k = va_arg(ap, const char *)) && n < 64;) keys[n++] = k;
    va_end(ap);
    buf b;
    buf_init(&b);
    buf_puts(&b, "*2\r\n");
    bulk(&b, cursor);
    buf_printf(&b, "*%d\r\n", n);
    for (int i = 0; i < n; i++) bulk(&b, keys[i]);
    redisReply *r = parse(b.data, b.len);
    buf_release(&b);
    return r;
}

static redisReply *text(const char *resp)
{
    return parse(resp, strlen(resp));
}

/* The next slice's command, joined by spaces (long words cut to 12). */
static const char *next_of(keywalk *w)
{
    static char out[512];
    tg_cmd c;
    keywalk_next(w, &c);
    out[0] = '\0';
    for (int i = 0; i < c.argc; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%.*s", i ? " " : "",
                 (int)(c.lens[i] > 12 ? 12 : c.lens[i]), c.argv[i]);
    return out;
}

static keywalk *walk(arena *a, keywalk_kind kind, const char *match)
{
    keywalk_spec s = {.kind = kind, .match = match, .match_len = strlen(match)};
    return keywalk_new(a, &s);
}

/* Whether array reply r holds exactly the strings given (any order). */
static bool holds(const redisReply *r, int n, const char *const *want)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)n) return false;
    for (int i = 0; i < n; i++) {
        bool found = false;
        for (size_t k = 0; k < r->elements && !found; k++)
            found = !strcmp(r->element[k]->str, want[i]);
        if (!found) return false;
    }
    return true;
}

/* ==== Cases ==== */

TEST(dbsize_counts_each_key_once_across_slices)
{
    arena a;
    arena_init(&a);
    keywalk *w = walk(&a, KEYWALK_DBSIZE, "db_1:*");
    redisReply *ans = NULL;
    CHECK_STR(next_of(w), "SCAN 0 MATCH db_1:* COUNT 2000");
    CHECK(!keywalk_feed(w, page("12", "db_1:a", "db_1:b", NULL), &ans) && !ans);
    CHECK_STR(next_of(w), "SCAN 12 MATCH db_1:* COUNT 2000");
    /* A rehash between slices: SCAN returns b again. */
    CHECK(!keywalk_feed(w, page("7", NULL), &ans));
    CHECK_STR(next_of(w), "SCAN 7 MATCH db_1:* COUNT 2000");
    CHECK(keywalk_feed(w, page("0", "db_1:b", "db_1:c", NULL), &ans));
    CHECK(ans && ans->type == REDIS_REPLY_INTEGER && ans->integer == 3);
    CHECK(keywalk_slices(w) == 3);
    freeReplyObject(ans);
    keywalk_free(w);
    keywalk_free(w); /* twice is fine */
    arena_release(&a);
}

TEST(dbsize_of_many_keys_grows_its_seen_set)
{
    arena a;
    arena_init(&a);
    keywalk *w = walk(&a, KEYWALK_DBSIZE, "p:*");
    redisReply *ans = NULL;
    char cur[16], k[32];
    for (int s = 0; s < 50; s++) {
        buf b;
        buf_init(&b);
        snprintf(cur, sizeof cur, "%d", s == 49 ? 0 : s + 1);
        buf_puts(&b, "*2\r\n");
        bulk(&b, cur);
        buf_puts(&b, "*100\r\n");
        for (int i = 0; i < 100; i++) {
            snprintf(k, sizeof k, "p:%d", (s * 100 + i) % 4000); /* 1,000 repeats */
            bulk(&b, k);
        }
        bool over = keywalk_feed(w, parse(b.data, b.len), &ans);
        buf_release(&b);
        CHECK(over == (s == 49));
    }
    CHECK(ans && ans->type == REDIS_REPLY_INTEGER && ans->integer == 4000);
    freeReplyObject(ans);
    keywalk_free(w);
    arena_release(&a);
}

TEST(keys_answers_distinct_matches_of_every_slice)
{
    arena a;
    arena_init(&a);
    keywalk *w = walk(&a, KEYWALK_KEYS, "db_1:user:*");
    redisReply *ans = NULL;
    CHECK_STR(next_of(w), "SCAN 0 MATCH db_1:user:* COUNT 2000");
    CHECK(!keywalk_feed(w, page("3", "db_1:user:1", NULL), &ans));
    CHECK(!keywalk_feed(w, page("5", "db_1:user:2", "db_1:user:1", NULL), &ans));
    CHECK(keywalk_feed(w, page("0", "db_1:user:3", NULL), &ans));
    static const char *const want[] = {"db_1:user:1", "db_1:user:2", "db_1:user:3"};
    CHECK(holds(ans, 3, want));
    freeReplyObject(ans);
    keywalk_free(w);
    /* Nothing matched: an empty array. */
    w = walk(&a, KEYWALK_KEYS, "db_1:none*");
    CHECK(keywalk_feed(w, page("0", NULL), &ans));
    CHECK(ans && ans->type == REDIS_REPLY_ARRAY && ans->elements == 0);
    freeReplyObject(ans);
    keywalk_free(w);
    arena_release(&a);
}

TEST(keys_past_max_bytes_ends_with_an_error)
{
    arena a;
    arena_init(&a);
    keywalk *w = walk(&a, KEYWALK_KEYS, "db_1:*");
    keywalk_limit(w, 40);
    redisReply *ans = NULL;
    CHECK(!keywalk_feed(w, page("3", "db_1:aaaaaaaa", NULL), &ans));
    CHECK(keywalk_feed(w, page("4", "db_1:bbbbbbbb", "db_1:cccccccc", NULL), &ans));
    CHECK(ans && ans->type == REDIS_REPLY_ERROR && strstr(ans->str, "max_reply_bytes"));
    freeReplyObject(ans);
    keywalk_free(w);
    arena_release(&a);
}

TEST(flush_sends_one_bounded_script_per_slice)
{
    arena a;
    arena_init(&a);
    keywalk *w = walk(&a, KEYWALK_FLUSH, "db_1:*");
    redisReply *ans = NULL;
    CHECK_STR(next_of(w), "EVAL local r = re 0 0 db_1:* 2000");
    CHECK(!keywalk_feed(w, text("$4\r\n4096\r\n"), &ans));
    CHECK_STR(next_of(w), "EVAL local r = re 0 4096 db_1:* 2000");
    CHECK(!keywalk_feed(w, text("$2\r\n17\r\n"), &ans));
    CHECK(keywalk_feed(w, text("$1\r\n0\r\n"), &ans));
    CHECK(ans && ans->type == REDIS_REPLY_STATUS && !strcmp(ans->str, "OK"));
    CHECK(keywalk_slices(w) == 3);
    freeReplyObject(ans);
    /* A slice that fails ends the walk with its error. */
    keywalk *f = walk(&a, KEYWALK_FLUSH, "db_1:*");
    CHECK(keywalk_feed(f, text("-NOPERM no\r\n"), &ans));
    CHECK(ans && ans->type == REDIS_REPLY_ERROR && !strcmp(ans->str, "NOPERM no"));
    freeReplyObject(ans);
    keywalk *g = walk(&a, KEYWALK_FLUSH, "db_1:*");
    CHECK(keywalk_feed(g, text(":3\r\n"), &ans));
    CHECK(ans && ans->type == REDIS_REPLY_ERROR);
    freeReplyObject(ans);
    arena_release(&a);
}

TEST(randomkey_picks_from_the_first_page_with_keys)
{
    arena a;
    arena_init(&a);
    keywalk_spec s = {.kind = KEYWALK_RANDOMKEY, .match = "db_1:*", .match_len = 6,
                      .cursor = "777", .cursor_len = 3, .pick = 4};
    keywalk *w = keywalk_new(&a, &s);
    redisReply *ans = NULL;
    CHECK_STR(next_of(w), "SCAN 777 MATCH db_1:* COUNT 100");
    CHECK(!keywalk_feed(w, page("900", NULL), &ans));
    /* Empty pages: larger ones next, up to a slice. */
    CHECK_STR(next_of(w), "SCAN 900 MATCH db_1:* COUNT 200");
    CHECK(keywalk_feed(w, page("31", "db_1:a", "db_1:b", "db_1:c", NULL), &ans));
    CHECK(ans && ans->type == REDIS_REPLY_STRING && !strcmp(ans->str, "db_1:b")); /* 4 % 3 */
    freeReplyObject(ans);
    keywalk_free(w);
    arena_release(&a);
}

TEST(randomkey_of_an_empty_prefix_is_nil_after_a_full_pass)
{
    arena a;
    arena_init(&a);
    keywalk_spec s = {.kind = KEYWALK_RANDOMKEY, .match = "db_1:*", .match_len = 6,
                      .cursor = "5", .cursor_len = 1};
    keywalk *w = keywalk_new(&a, &s);
    redisReply *ans = NULL;
    CHECK(!keywalk_feed(w, page("0", NULL), &ans));   /* the end: wraps round */
    CHECK(!keywalk_feed(w, page("3", NULL), &ans));
    CHECK(!keywalk_feed(w, page("7", NULL), &ans));
    CHECK(!keywalk_feed(w, page("9", NULL), &ans));
    CHECK(!keywalk_feed(w, page("11", NULL), &ans));
    CHECK_STR(next_of(w), "SCAN 11 MATCH db_1:* COUNT 2000");  /* capped */
    CHECK(keywalk_feed(w, page("0", NULL), &ans));    /* the end again */
    CHECK(ans && ans->type == REDIS_REPLY_NIL);
    freeReplyObject(ans);
    arena_release(&a);
}

TEST(scan_goes_on_until_count_matched_the_end_or_the_rounds)
{
    arena a;
    arena_init(&a);
    keywalk_spec s = {.kind = KEYWALK_SCAN, .match = "db_1:*", .match_len = 6,
                      .cursor = "42", .cursor_len = 2, .count = 3,
                      .type = "hash", .type_len = 4};
    keywalk *w = keywalk_new(&a, &s);
    redisReply *ans = NULL;
    CHECK_STR(next_of(w), "SCAN 42 MATCH db_1:* COUNT 100 TYPE hash");
    CHECK(!keywalk_feed(w, page("50", "db_1:a", NULL), &ans));
    CHECK(!keywalk_feed(w, page("60", NULL), &ans));
    CHECK_STR(next_of(w), "SCAN 60 MATCH db_1:* COUNT 100 TYPE hash");
    CHECK(keywalk_feed(w, page("70", "db_1:b", "db_1:c", NULL), &ans));
    CHECK(ans && ans->type == REDIS_REPLY_ARRAY && ans->elements == 2);
    CHECK_STR(ans->element[0]->str, "70");
    static const char *const want[] = {"db_1:a", "db_1:b", "db_1:c"};
    CHECK(holds(ans->element[1], 3, want));
    freeReplyObject(ans);
    keywalk_free(w);
    /* The end of the keyspace first. */
    s.cursor = NULL;
    w = keywalk_new(&a, &s);
    CHECK_STR(next_of(w), "SCAN 0 MATCH db_1:* COUNT 100 TYPE hash");
    CHECK(keywalk_feed(w, page("0", "db_1:a", NULL), &ans));
    CHECK(ans && !strcmp(ans->element[0]->str, "0") && ans->element[1]->elements == 1);
    freeReplyObject(ans);
    keywalk_free(w);
    /* Empty pages: at most KEYWALK_SCAN_ROUNDS slices per call. */
    w = keywalk_new(&a, &s);
    int n = 0;
    while (!keywalk_feed(w, page("99", NULL), &ans) && n < 1000) n++;
    CHECK(n + 1 == KEYWALK_SCAN_ROUNDS);
    CHECK(ans && !strcmp(ans->element[0]->str, "99") && ans->element[1]->elements == 0);
    freeReplyObject(ans);
    keywalk_free(w);
    arena_release(&a);
}

TEST(scan_count_above_100_is_the_slice_size)
{
    arena a;
    arena_init(&a);
    keywalk_spec s = {.kind = KEYWALK_SCAN, .match = "x*", .match_len = 2, .count = 500};
    keywalk *w = keywalk_new(&a, &s);
    CHECK_STR(next_of(w), "SCAN 0 MATCH x* COUNT 500");
    keywalk_free(w);
    arena_release(&a);
}

TEST(malformed_slice_replies_end_the_walk_with_an_error)
{
    arena a;
    arena_init(&a);
    redisReply *ans = NULL;
    keywalk *w = walk(&a, KEYWALK_DBSIZE, "db_1:*");
    CHECK(keywalk_feed(w, text("*1\r\n$1\r\n0\r\n"), &ans));
    CHECK(ans && ans->type == REDIS_REPLY_ERROR);
    freeReplyObject(ans);
    w = walk(&a, KEYWALK_KEYS, "db_1:*");
    CHECK(keywalk_feed(w, text("*2\r\n$1\r\n0\r\n*1\r\n:5\r\n"), &ans));
    CHECK(ans && ans->type == REDIS_REPLY_ERROR);
    freeReplyObject(ans);
    w = walk(&a, KEYWALK_KEYS, "db_1:*");
    CHECK(keywalk_feed(w, text("-ERR busy\r\n"), &ans));
    CHECK(ans && ans->type == REDIS_REPLY_ERROR && !strcmp(ans->str, "ERR busy"));
    freeReplyObject(ans);
    arena_release(&a);
}

int main(void)
{
    RUN(dbsize_counts_each_key_once_across_slices);
    RUN(dbsize_of_many_keys_grows_its_seen_set);
    RUN(keys_answers_distinct_matches_of_every_slice);
    RUN(keys_past_max_bytes_ends_with_an_error);
    RUN(flush_sends_one_bounded_script_per_slice);
    RUN(randomkey_picks_from_the_first_page_with_keys);
    RUN(randomkey_of_an_empty_prefix_is_nil_after_a_full_pass);
    RUN(scan_goes_on_until_count_matched_the_end_or_the_rounds);
    RUN(scan_count_above_100_is_the_slice_size);
    RUN(malformed_slice_replies_end_the_walk_with_an_error);
    TEST_MAIN_END();
}
