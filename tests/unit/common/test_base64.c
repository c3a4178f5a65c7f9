/* test_base64.c - gateway/base64.h: RFC 4648 vectors, url alphabet,
 * hostile input. */
#include <stdbool.h>
#include <stdlib.h>

#include "common/base64.h"
#include "common/buf.h"
#include "tests/unit/testhelp.h"

static const struct {
    const char *plain, *b64;
} rfc4648[] = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
    {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};
#define NVEC (sizeof rfc4648 / sizeof rfc4648[0])

TEST(rfc4648_encode)
{
    for (size_t i = 0; i < NVEC; i++) {
        buf b;
        buf_init(&b);
        base64_encode(&b, rfc4648[i].plain, strlen(rfc4648[i].plain));
        CHECK_MEM(b.data, b.len, rfc4648[i].b64, strlen(rfc4648[i].b64));
        CHECK(b.data && b.data[b.len] == '\0');
        buf_release(&b);
    }
}

TEST(rfc4648_decode_std_and_url)
{
    for (size_t i = 0; i < NVEC; i++) {
        for (int url = 0; url < 2; url++) {
            buf b;
            buf_init(&b);
            const char *s = rfc4648[i].b64;
            CHECK(base64_decode(&b, s, strlen(s), url));
            CHECK_MEM(b.data, b.len, rfc4648[i].plain, strlen(rfc4648[i].plain));
            CHECK(b.data && b.data[b.len] == '\0');
            buf_release(&b);
        }
    }
}

TEST(encode_appends)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "x=");
    base64_encode(&b, "OK", 2);
    CHECK_STR(b.data, "x=T0s=");
    base64_encode(&b, "", 0);
    CHECK_STR(b.data, "x=T0s=");
    buf_release(&b);
}

TEST(all_bytes_round_trip)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
    /* Every length 0..256 exercises all three tail shapes. */
    for (size_t n = 0; n <= 256; n++) {
        buf enc, dec;
        buf_init(&enc);
        buf_init(&dec);
        base64_encode(&enc, all + (256 - n), n);
        CHECK(enc.len == (n + 2) / 3 * 4);
        CHECK(base64_decode(&dec, enc.data, enc.len, false));
        CHECK_MEM(dec.data, dec.len, all + (256 - n), n);
        buf_release(&enc);
        buf_release(&dec);
    }
}

TEST(url_alphabet_with_and_without_padding)
{
    /* 0xfb 0xff 0xbf encodes to "+/+/" in std, "-_-_" in url. */
    static const unsigned char want[] = {0xfb, 0xff, 0xbf};
    buf b;
    buf_init(&b);
    CHECK(base64_decode(&b, "-_-_", 4, true));
    CHECK_MEM(b.data, b.len, want, 3);
    buf_reset(&b);
    CHECK(base64_decode(&b, "+/+/", 4, false));
    CHECK_MEM(b.data, b.len, want, 3);
    buf_reset(&b);
    /* The std alphabet's + and / are not base64url, and vice versa. */
    CHECK(!base64_decode(&b, "+/+/", 4, true));
    CHECK(!base64_decode(&b, "-_-_", 4, false));
    CHECK(b.len == 0);
    /* JWT segments come without padding. */
    CHECK(base64_decode(&b, "Zm9vYg", 6, true));
    CHECK_STR(b.data, "foob");
    buf_reset(&b);
    CHECK(base64_decode(&b, "Zm9vYmE", 7, true));
    CHECK_STR(b.data, "fooba");
    buf_reset(&b);
    CHECK(base64_decode(&b, "Zm9vYg==", 8, true));
    CHECK_STR(b.data, "foob");
    buf_release(&b);
}

TEST(invalid_characters_rejected)
{
    static const struct {
        const char *s;
        size_t n;
    } bad[] = {
        /* All of a possible length, so only the characters are wrong. */
        {"Zm9!", 4},    {"Zm 9", 4},      {"Zm9\n", 4},  {"Z=m9", 4},
        {"=Zm9", 4},    {"Zm\0v", 4},     {"Zm9\xff", 4}, {"\x80Zm9", 4},
        {"Zm9v.YmF", 8}, {"Zm9*", 4},     {"Zm9vYm==Zm9v", 12},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int url = 0; url < 2; url++) {
            buf b;
            buf_init(&b);
            buf_puts(&b, "keep");
            bool ok = base64_decode(&b, bad[i].s, bad[i].n, url);
            if (ok) fprintf(stderr, "  accepted bad input #%zu (url=%d)\n", i, url);
            CHECK(!ok);
            /* Output unchanged in length on failure, still terminated. */
            CHECK_MEM(b.data, b.len, "keep", 4);
            CHECK(b.data[b.len] == '\0');
            buf_release(&b);
        }
    }
}

TEST(impossible_length_rejected)
{
    static const char *const bad[] = {"Z", "Zm9vY", "Zm9vY=", "Zm9vYmFyZ", "Z==="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf b;
        buf_init(&b);
        CHECK(!base64_decode(&b, bad[i], strlen(bad[i]), true));
        CHECK(!base64_decode(&b, bad[i], strlen(bad[i]), false));
        CHECK(b.len == 0);
        buf_release(&b);
    }
}

TEST(decode_appends_after_existing_content)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "ab");
    CHECK(base64_decode(&b, "Zm9v", 4, false));
    CHECK_STR(b.data, "abfoo");
    CHECK(b.len == 5);
    buf_release(&b);
}

TEST(long_input)
{
    /* 48 KB of data: encoder and decoder must size their buffers right. */
    size_t n = 48 * 1024 + 1;
    unsigned char *p = malloc(n);
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 131 + 7);
    buf enc, dec;
    buf_init(&enc);
    buf_init(&dec);
    base64_encode(&enc, p, n);
    CHECK(enc.len == (n + 2) / 3 * 4);
    CHECK(base64_decode(&dec, enc.data, enc.len, false));
    CHECK_MEM(dec.data, dec.len, p, n);
    buf_release(&enc);
    buf_release(&dec);
    free(p);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep results if a sanitizer aborts */
    RUN(rfc4648_encode);
    RUN(rfc4648_decode_std_and_url);
    RUN(encode_appends);
    RUN(all_bytes_round_trip);
    RUN(url_alphabet_with_and_without_padding);
    RUN(invalid_characters_rejected);
    RUN(impossible_length_rejected);
    RUN(decode_appends_after_existing_content);
    RUN(long_input);
    TEST_MAIN_END();
}
