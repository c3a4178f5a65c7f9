/* test_reply.c - gateway/protocol/reply.h: hiredis replies to JSON and RESP2.
 * Reply trees come from hiredis's own reader fed with RESP text. */
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/buf.h"
#include "common/json_out.h"
#include "gateway/protocol/reply.h"
#include "tests/unit/testhelp.h"

/* Parses exactly one reply from resp[0..n); NULL if incomplete or bad. */
static redisReply *parse(const char *resp, size_t n)
{
    redisReader *rd = redisReaderCreate();
    void *r = NULL;
    if (redisReaderFeed(rd, resp, n) != REDIS_OK ||
        redisReaderGetReply(rd, &r) != REDIS_OK) r = NULL;
    redisReaderFree(rd);
    return r;
}
#define PARSE(lit) parse((lit), sizeof(lit) - 1)

/* JSON of r (or of its entry form); the returned buf is the caller's. */
static void json_of(buf *b, const char *resp, size_t n, bool base64, bool entry)
{
    buf_init(b);
    redisReply *r = parse(resp, n);
    if (!r) {
        buf_puts(b, "<parse error>");
        return;
    }
    if (entry) reply_json_entry(b, r, base64);
    else reply_json_value(b, r, base64);
    freeReplyObject(r);
}

#define JSON_IS(lit, b64, want)                                             \
    do {                                                                    \
        buf j_;                                                             \
        json_of(&j_, (lit), sizeof(lit) - 1, (b64), false);                 \
        CHECK_MEM(j_.data, j_.len, (want), sizeof(want) - 1);               \
        if (j_.len != sizeof(want) - 1 || memcmp(j_.data, want, j_.len))    \
            fprintf(stderr, "  got: %s\n", j_.data);                        \
        buf_release(&j_);                                                   \
    } while (0)

/* JSON string of raw bytes s[0..n). */
#define STR_IS(lit, want)                                                   \
    do {                                                                    \
        buf s_;                                                             \
        buf_init(&s_);                                                      \
        json_out_string(&s_, (lit), sizeof(lit) - 1);                     \
        CHECK_MEM(s_.data, s_.len, (want), sizeof(want) - 1);               \
        if (s_.len != sizeof(want) - 1 || memcmp(s_.data, want, s_.len))    \
            fprintf(stderr, "  got: %s\n", s_.data);                        \
        buf_release(&s_);                                                   \
    } while (0)

TEST(scalars)
{
    JSON_IS("+OK\r\n", false, "\"OK\"");
    JSON_IS(":42\r\n", false, "42");
    JSON_IS(":-7\r\n", false, "-7");
    JSON_IS(":0\r\n", true, "0");
    JSON_IS("$-1\r\n", false, "null");
    JSON_IS("$-1\r\n", true, "null");
    JSON_IS("*-1\r\n", false, "null");
    JSON_IS("$0\r\n\r\n", false, "\"\"");
    JSON_IS("$0\r\n\r\n", true, "\"\"");
    JSON_IS("$5\r\nhello\r\n", false, "\"hello\"");
}

TEST(arrays)
{
    JSON_IS("*2\r\n$1\r\na\r\n:1\r\n", false, "[\"a\",1]");
    JSON_IS("*0\r\n", false, "[]");
    JSON_IS("*3\r\n*1\r\n$0\r\n\r\n*0\r\n$-1\r\n", false, "[[\"\"],[],null]");
    /* HGETALL-shaped flat map. */
    JSON_IS("*4\r\n$1\r\nf\r\n$1\r\n1\r\n$1\r\ng\r\n$1\r\n2\r\n", false,
            "[\"f\",\"1\",\"g\",\"2\"]");
}

TEST(binary_bulk_escaped)
{
    /* \xff \xfe invalid UTF-8, NUL, quote, backslash, newline. */
    JSON_IS("$8\r\n\xff\xfe\x00\"\\\nab\r\n", false,
            "\"\xef\xbf\xbd\xef\xbf\xbd\\u0000\\\"\\\\\\nab\"");
}

TEST(base64_mode)
{
    JSON_IS("+OK\r\n", true, "\"T0s=\"");
    JSON_IS("$8\r\n\xff\xfe\x00\"\\\nab\r\n", true, "\"//4AIlwKYWI=\"");
    JSON_IS("*3\r\n+PONG\r\n:5\r\n$-1\r\n", true, "[\"UE9ORw==\",5,null]");
    /* Errors are never base64'd, at any depth. */
    JSON_IS("-ERR wrong type\r\n", true, "\"ERR wrong type\"");
    JSON_IS("*2\r\n+OK\r\n-ERR x\r\n", true, "[\"T0s=\",\"ERR x\"]");
}

TEST(utf8_valid_passes_unchanged)
{
    STR_IS("\xc3\xa9", "\"\xc3\xa9\"");                 /* é, 2 bytes */
    STR_IS("\xe2\x82\xac", "\"\xe2\x82\xac\"");         /* €, 3 bytes */
    STR_IS("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""); /* 😀, 4 bytes */
    STR_IS("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");         /* U+D7FF */
    STR_IS("\xee\x80\x80", "\"\xee\x80\x80\"");         /* U+E000 */
    STR_IS("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");         /* U+FFFF */
    STR_IS("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
    STR_IS("\xe0\xa0\x80", "\"\xe0\xa0\x80\"");         /* U+0800 */
    STR_IS("\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\""); /* U+10000 */
}

#define FFFD "\xef\xbf\xbd"

TEST(utf8_invalid_replaced)
{
    STR_IS("\xc0\x80", "\"" FFFD FFFD "\"");                 /* overlong NUL */
    STR_IS("\xc1\xbf", "\"" FFFD FFFD "\"");                 /* overlong */
    STR_IS("\xe0\x80\x80", "\"" FFFD FFFD FFFD "\"");        /* overlong */
    STR_IS("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"");        /* surrogate */
    STR_IS("\xed\xbf\xbf", "\"" FFFD FFFD FFFD "\"");        /* surrogate */
    STR_IS("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\""); /* > U+10FFFF */
    STR_IS("a\x80z", "\"a" FFFD "z\"");                       /* lone cont. */
    STR_IS("\xf5\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
    STR_IS("\xfe\xff", "\"" FFFD FFFD "\"");
}

/* Truncated sequences: one or several U+FFFD are both correct, but the
 * bytes around them must survive and the output must be valid UTF-8. */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t k = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2
                 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (!k || i + k > n) return false;
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xc0) != 0x80) return false;
        if (k == 3 && ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0)))
            return false;
        if (k == 4 && ((c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90)))
            return false;
        i += k;
    }
    return true;
}

TEST(utf8_truncated_replaced)
{
    static const char *const cases[] = {"<\xe2\x82>", "<\xe2>", "<\xf0\x9f\x98>",
                                        "<\xc3>", "<\xf0\x9f>", "<\xe2\x82"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf b;
        buf_init(&b);
        json_out_string(&b, cases[i], strlen(cases[i]));
        CHECK(valid_utf8((const unsigned char *)b.data, b.len));
        CHECK(!strncmp(b.data, "\"<" FFFD, 5));
        bool closed = cases[i][strlen(cases[i]) - 1] == '>';
        CHECK(b.len >= 5 && !strcmp(b.data + b.len - (closed ? 5 : 4),
                                    closed ? FFFD ">\"" : FFFD "\""));
        buf_release(&b);
    }
}

TEST(control_chars)
{
    STR_IS("\x01\x1f\x7f\t\r\b\f", "\"\\u0001\\u001f\x7f\\t\\r\\u0008\\u000c\"");
    STR_IS("a\0b", "\"a\\u0000b\"");
    STR_IS("</script>", "\"</script>\"");
}

TEST(json_entry)
{
    buf b;
    json_of(&b, "-ERR no such key\r\n", 18, true, true);
    CHECK_STR(b.data, "{\"error\":\"ERR no such key\"}");
    buf_release(&b);
    json_of(&b, "+OK\r\n", 5, false, true);
    CHECK_STR(b.data, "{\"result\":\"OK\"}");
    buf_release(&b);
    json_of(&b, "+OK\r\n", 5, true, true);
    CHECK_STR(b.data, "{\"result\":\"T0s=\"}");
    buf_release(&b);
    json_of(&b, "$-1\r\n", 5, false, true);
    CHECK_STR(b.data, "{\"result\":null}");
    buf_release(&b);
    /* An error inside an array is a value, not an entry-level error. */
    json_of(&b, "*1\r\n-ERR x\r\n", 12, false, true);
    CHECK_STR(b.data, "{\"result\":[\"ERR x\"]}");
    buf_release(&b);
    buf_init(&b);
    reply_json_error(&b, "bad \"q\"\n", 8);
    CHECK_STR(b.data, "{\"error\":\"bad \\\"q\\\"\\n\"}");
    buf_release(&b);
}

/* ==== RESP2 ==== */

static bool same_reply(const redisReply *a, const redisReply *b)
{
    if (a->type != b->type) return false;
    switch (a->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        return a->len == b->len && !memcmp(a->str, b->str, a->len);
    case REDIS_REPLY_INTEGER:
        return a->integer == b->integer;
    case REDIS_REPLY_ARRAY:
        if (a->elements != b->elements) return false;
        for (size_t i = 0; i < a->elements; i++)
            if (!same_reply(a->element[i], b->element[i])) return false;
        return true;
    default:
        return true;
    }
}

static void resp_round_trip(const char *in, size_t n, bool byte_exact)
{
    redisReply *r = parse(in, n);
    CHECK(r != NULL);
    if (!r) return;
    buf out;
    buf_init(&out);
    reply_resp2(&out, r);
    if (byte_exact) CHECK_MEM(out.data, out.len, in, n);
    redisReply *back = parse(out.data, out.len);
    CHECK(back != NULL);
    if (back) {
        CHECK(same_reply(r, back));
        freeReplyObject(back);
    }
    buf_release(&out);
    freeReplyObject(r);
}
#define ROUND(lit, exact) resp_round_trip((lit), sizeof(lit) - 1, (exact))

TEST(resp2_round_trip)
{
    ROUND("+OK\r\n", true);
    ROUND("-ERR bad thing\r\n", true);
    ROUND(":-9223372036854775807\r\n", true);
    ROUND(":9223372036854775807\r\n", true);
    ROUND("$-1\r\n", true);
    ROUND("$0\r\n\r\n", true);
    ROUND("$6\r\na\r\n\x00\xff\xfe\r\n", true); /* CRLF and NUL inside a bulk */
    ROUND("*0\r\n", true);
    ROUND("*5\r\n$1\r\nx\r\n:1\r\n$-1\r\n*2\r\n+S\r\n-E e\r\n*1\r\n*0\r\n", true);
    ROUND("*-1\r\n", false); /* a nil array comes back as a nil */
}

TEST(resp2_appends)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "pre");
    redisReply *r = PARSE(":1\r\n");
    CHECK(r != NULL);
    if (r) {
        reply_resp2(&b, r);
        CHECK_STR(b.data, "pre:1\r\n");
        freeReplyObject(r);
    }
    buf_release(&b);
}

/* Every *_size is exactly what its encoder appends, over every reply
 * type, escapes, invalid UTF-8, negative numbers and nesting; the payload
 * size is a floor of each. */
static bool sizes_exact(const char *resp, size_t n)
{
    redisReply *r = parse(resp, n);
    if (!r) return false;
    bool ok = true;
    for (int b64 = 0; b64 < 2; b64++) {
        buf v, e;
        buf_init(&v);
        buf_init(&e);
        reply_json_value(&v, r, b64);
        reply_json_entry(&e, r, b64);
        ok = ok && v.len == reply_json_value_size(r, b64) &&
             e.len == reply_json_entry_size(r, b64) && reply_payload_size(r) <= v.len;
        buf_release(&v);
        buf_release(&e);
    }
    buf p;
    buf_init(&p);
    reply_resp2(&p, r);
    ok = ok && p.len == reply_resp2_size(r) && reply_payload_size(r) <= p.len;
    buf_release(&p);
    freeReplyObject(r);
    return ok;
}
#define SIZES_EXACT(lit) CHECK(sizes_exact((lit), sizeof(lit) - 1))

TEST(sizes_match_encoders)
{
    SIZES_EXACT("$0\r\n\r\n");
    SIZES_EXACT("$1\r\nx\r\n");
    SIZES_EXACT("$2\r\nab\r\n");
    SIZES_EXACT("$7\r\n\x00\x01\"\\\n\r\t\r\n");
    SIZES_EXACT("$6\r\n\xc3\xa9\xff\xe2\x82\x80\r\n"); /* valid, stray, truncated */
    SIZES_EXACT("$4\r\n\xf0\x9f\x98\x80\r\n");
    SIZES_EXACT("$-1\r\n");
    SIZES_EXACT(":0\r\n");
    SIZES_EXACT(":-9223372036854775808\r\n");
    SIZES_EXACT(":1234567890\r\n");
    SIZES_EXACT("+OK\r\n");
    SIZES_EXACT("-ERR \x01 bad\r\n");
    SIZES_EXACT("*0\r\n");
    SIZES_EXACT("*-1\r\n");
    SIZES_EXACT("*5\r\n$1\r\nx\r\n:1\r\n$-1\r\n*2\r\n+S\r\n-E e\r\n*1\r\n*0\r\n");
    /* a large one: 100,000 control bytes are 600,002 bytes of JSON */
    size_t n = 100000;
    char *big = malloc(n + 32);
    int h = snprintf(big, 32, "$%zu\r\n", n);
    memset(big + h, 1, n);
    memcpy(big + h + n, "\r\n", 2);
    redisReply *r = parse(big, (size_t)h + n + 2);
    CHECK(r && reply_json_value_size(r, false) == 6 * n + 2);
    CHECK(r && reply_json_value_size(r, true) == 2 + (n + 2) / 3 * 4);
    CHECK(r && reply_payload_size(r) == n);
    CHECK(sizes_exact(big, (size_t)h + n + 2));
    if (r) freeReplyObject(r);
    free(big);
}

/* An error or status line never carries CR/LF through: a command name
 * echoed in an error cannot add replies of its own (issue 10, 13). */
TEST(resp2_lines_cannot_inject)
{
    static const char msg[] = "NOPERM this token may not run 'x\r\n:1\r\n+OK\n'";
    buf b;
    buf_init(&b);
    reply_resp2_error(&b, msg, sizeof msg - 1);
    CHECK_MEM(b.data, b.len, "-NOPERM this token may not run 'x  :1  +OK '\r\n",
              sizeof "-NOPERM this token may not run 'x  :1  +OK '\r\n" - 1);
    /* Exactly one reply in the bytes, nothing left over. */
    redisReader *rd = redisReaderCreate();
    void *r1 = NULL, *r2 = NULL;
    CHECK(redisReaderFeed(rd, b.data, b.len) == REDIS_OK);
    CHECK(redisReaderGetReply(rd, &r1) == REDIS_OK && r1);
    CHECK(redisReaderGetReply(rd, &r2) == REDIS_OK && !r2);
    if (r1) freeReplyObject(r1);
    redisReaderFree(rd);
    /* The same for a status or error reply re-serialised. */
    redisReply fake = {.type = REDIS_REPLY_STATUS, .str = (char *)"a\r\n:1", .len = 5};
    buf_reset(&b);
    reply_resp2(&b, &fake);
    CHECK_MEM(b.data, b.len, "+a  :1\r\n", 8);
    buf_release(&b);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep results if a sanitizer aborts */
    RUN(scalars);
    RUN(arrays);
    RUN(binary_bulk_escaped);
    RUN(base64_mode);
    RUN(utf8_valid_passes_unchanged);
    RUN(utf8_invalid_replaced);
    RUN(utf8_truncated_replaced);
    RUN(control_chars);
    RUN(json_entry);
    RUN(resp2_round_trip);
    RUN(resp2_appends);
    RUN(sizes_match_encoders);
    RUN(resp2_lines_cannot_inject);
    TEST_MAIN_END();
}
