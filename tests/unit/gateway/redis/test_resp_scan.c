/* test_resp_scan.c - gateway/redis/resp_scan.h: reply boundaries found ahead of
 * hiredis, in any chunking, and the replies to drop (too deep, too big). */
#include <hiredis/hiredis.h>
#include <stdlib.h>

#include "common/buf.h"
#include "gateway/redis/resp_scan.h"
#include "tests/unit/testhelp.h"

static unsigned seed = 12345;
static unsigned rnd(unsigned n)
{
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) % n;
}

/* A random reply of at most depth nested arrays. */
static void random_reply(buf *b, int depth)
{
    switch (rnd(depth > 0 ? 7 : 5)) {
    case 0: buf_puts(b, "+OK\r\n"); break;
    case 1: buf_puts(b, "-ERR some error\r\n"); break;
    case 2:
        if (rnd(4) == 0) buf_puts(b, rnd(2) ? ":9223372036854775807\r\n" : ":-9223372036854775808\r\n");
        else buf_printf(b, ":%d\r\n", (int)rnd(100000) - 50000);
        break;
    case 3: buf_puts(b, "$-1\r\n"); break;
    case 4: {
        unsigned n = rnd(40);
        buf_printf(b, "$%u\r\n", n);
        for (unsigned i = 0; i < n; i++) buf_putc(b, (char)rnd(256)); /* \r\n inside too */
        buf_puts(b, "\r\n");
        break;
    }
    default: {
        unsigned n = rnd(5);
        buf_printf(b, "*%u\r\n", n);
        for (unsigned i = 0; i < n; i++) random_reply(b, depth - 1);
    }
    }
}

/* Feeds data in random pieces; returns the number of RESP_DONE, and the
 * end offsets in ends[]. */
static int scan_all(resp_scan *s, const char *data, size_t n, size_t *ends, int cap,
                    int *rejected)
{
    size_t off = 0;
    int done = 0;
    *rejected = 0;
    while (off < n) {
        size_t piece = 1 + rnd(n - off < 97 ? (unsigned)(n - off) : 97);
        size_t used;
        resp_step st = resp_scan_feed(s, data + off, piece, &used);
        if (st == RESP_BROKEN) return -1;
        off += used;
        if (st == RESP_DONE) {
            if (done < cap) ends[done] = off;
            done++;
            if (resp_scan_rejected(s)) (*rejected)++;
        }
    }
    return done;
}

TEST(boundaries_match_hiredis_in_any_chunking)
{
    for (int round = 0; round < 300; round++) {
        buf b;
        buf_init(&b);
        size_t want_ends[64];
        int nreplies = 1 + (int)rnd(30);
        for (int i = 0; i < nreplies; i++) {
            random_reply(&b, RESP_SCAN_MAX_DEPTH);
            want_ends[i] = b.len;
        }
        resp_scan s;
        resp_scan_init(&s, 0);
        size_t ends[64];
        int rejected;
        int got = scan_all(&s, b.data, b.len, ends, 64, &rejected);
        CHECK(got == nreplies && rejected == 0);
        for (int i = 0; i < got && i < nreplies; i++) CHECK(ends[i] == want_ends[i]);
        /* hiredis reads the same number of replies from the same bytes. */
        redisReader *rd = redisReaderCreate();
        redisReaderFeed(rd, b.data, b.len);
        int hi = 0;
        void *r;
        while (redisReaderGetReply(rd, &r) == REDIS_OK && r) {
            freeReplyObject(r);
            hi++;
        }
        CHECK(hi == nreplies);
        redisReaderFree(rd);
        resp_scan_free(&s);
        buf_release(&b);
        if (th_case_failed) break;
    }
}

static void nested(buf *b, int arrays)
{
    for (int i = 0; i < arrays; i++) buf_puts(b, "*1\r\n");
    buf_puts(b, ":1\r\n");
}

TEST(too_deep_flagged_as_hiredis_would_fail)
{
    for (int d = 1; d <= 12; d++) {
        buf b;
        buf_init(&b);
        nested(&b, d);
        buf_puts(&b, "+NEXT\r\n");
        resp_scan s;
        resp_scan_init(&s, 0);
        size_t ends[4];
        int rejected;
        int got = scan_all(&s, b.data, b.len, ends, 4, &rejected);
        CHECK(got == 2);
        CHECK(rejected == (d > RESP_SCAN_MAX_DEPTH ? 1 : 0));
        /* hiredis agrees on where it gives up. */
        redisReader *rd = redisReaderCreate();
        redisReaderFeed(rd, b.data, b.len);
        void *r = NULL;
        int rc = redisReaderGetReply(rd, &r);
        CHECK((rc == REDIS_OK) == (d <= RESP_SCAN_MAX_DEPTH));
        if (r) freeReplyObject(r);
        redisReaderFree(rd);
        /* The flag belongs to that reply only: the next one is fine. */
        CHECK(!resp_scan_rejected(&s));
        resp_scan_free(&s);
        buf_release(&b);
    }
}

TEST(too_big_flagged)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "$2000\r\n");
    for (int i = 0; i < 2000; i++) buf_putc(&b, 'x');
    buf_puts(&b, "\r\n*2\r\n$3\r\nabc\r\n:7\r\n");
    resp_scan s;
    resp_scan_init(&s, 1024);
    size_t ends[4];
    int rejected;
    CHECK(scan_all(&s, b.data, b.len, ends, 4, &rejected) == 2);
    CHECK(rejected == 1);
    CHECK(ends[0] == 2000 + 9);
    resp_scan_free(&s);
    buf_release(&b);
}

/* Whatever Redis may send: integers at both ends of int64. */
TEST(extreme_integers)
{
    static const char *const ok[] = {":9223372036854775807\r\n", ":-9223372036854775808\r\n",
                                     ":0\r\n", ":-1\r\n", "*1\r\n:9223372036854775807\r\n"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        resp_scan s;
        resp_scan_init(&s, 0);
        size_t used;
        CHECK(resp_scan_feed(&s, ok[i], strlen(ok[i]), &used) == RESP_DONE);
        CHECK(used == strlen(ok[i]));
        resp_scan_free(&s);
    }
}

TEST(broken_streams)
{
    static const char *const bad[] = {"?x\r\n", "$abc\r\n", "*-5\r\n", ":\r\n", "+OK\rX",
                                      "$99999999999999999999999\r\n", "*1\r\n\r\n",
                                      /* past int64 either way */
                                      ":9223372036854775808\r\n", ":-9223372036854775809\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        resp_scan s;
        resp_scan_init(&s, 0);
        size_t used;
        CHECK(resp_scan_feed(&s, bad[i], strlen(bad[i]), &used) == RESP_BROKEN);
        resp_scan_free(&s);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    RUN(boundaries_match_hiredis_in_any_chunking);
    RUN(too_deep_flagged_as_hiredis_would_fail);
    RUN(too_big_flagged);
    RUN(extreme_integers);
    RUN(broken_streams);
    TEST_MAIN_END();
}
