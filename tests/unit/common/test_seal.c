/* test_seal.c - common/seal.h (secrets sealed at rest) and the URL
 * split/join of common/redact.h that keeps a password out of a URL. */
#include <string.h>

#include "common/redact.h"
#include "common/seal.h"
#include "tests/unit/testhelp.h"

TEST(round_trip_and_random_nonce)
{
    uint8_t k[SEAL_KEY_LEN];
    seal_key_derive("a-secret-of-at-least-32-bytes-xx", 32, k);
    char a[256], b[256], out[64];
    tg_err err;
    CHECK(seal_close(k, "p@ss:w/rd", 9, a, sizeof a, &err) == 0);
    CHECK(seal_close(k, "p@ss:w/rd", 9, b, sizeof b, &err) == 0);
    CHECK(strncmp(a, "v1:", 3) == 0);
    CHECK(strcmp(a, b) != 0);               /* a fresh nonce each time */
    CHECK(strstr(a, "p@ss") == NULL);
    CHECK(seal_open(k, a, out, sizeof out, &err) == 0);
    CHECK_STR(out, "p@ss:w/rd");
    CHECK(seal_open(k, b, out, sizeof out, &err) == 0);
    CHECK_STR(out, "p@ss:w/rd");
}

TEST(wrong_key_or_altered_is_refused)
{
    uint8_t k[SEAL_KEY_LEN], other[SEAL_KEY_LEN];
    seal_key_derive("one-secret", 10, k);
    seal_key_derive("another-secret", 14, other);
    char s[256], out[64];
    tg_err err;
    CHECK(seal_close(k, "pw", 2, s, sizeof s, &err) == 0);
    CHECK(seal_open(other, s, out, sizeof out, &err) == -1 && err.status == 500);
    size_t n = strlen(s);
    s[n - 3] = s[n - 3] == 'A' ? 'B' : 'A';  /* a flipped bit in the tag */
    CHECK(seal_open(k, s, out, sizeof out, &err) == -1);
    CHECK(seal_open(k, "v2:xyz", out, sizeof out, &err) == -1);
    CHECK(seal_open(k, "v1:!!!", out, sizeof out, &err) == -1);
    CHECK(seal_open(k, "v1:", out, sizeof out, &err) == -1);
    char tiny[8];
    CHECK(seal_close(k, "pw", 2, tiny, sizeof tiny, &err) == -1);
}

TEST(url_split_and_join)
{
    char pub[128], sec[64], back[128];
    CHECK(url_split_secret("redis://user:pw@h:6379/0", pub, sizeof pub, sec, sizeof sec) == 0);
    CHECK_STR(pub, "redis://user:***@h:6379/0");
    CHECK_STR(sec, "pw");
    CHECK(url_join_secret(pub, sec, back, sizeof back) == 0);
    CHECK_STR(back, "redis://user:pw@h:6379/0");
    /* The short form: the whole userinfo is the password. */
    CHECK(url_split_secret("redis://:a@b@h", pub, sizeof pub, sec, sizeof sec) == 0);
    CHECK_STR(pub, "redis://:***@h");
    CHECK_STR(sec, "a@b");
    CHECK(url_join_secret(pub, sec, back, sizeof back) == 0);
    CHECK_STR(back, "redis://:a@b@h");
    CHECK(url_split_secret("rediss://pw@h", pub, sizeof pub, sec, sizeof sec) == 0);
    CHECK_STR(pub, "rediss://***@h");
    CHECK(url_join_secret(pub, sec, back, sizeof back) == 0);
    CHECK_STR(back, "rediss://pw@h");
    /* No password: unchanged, nothing secret. */
    CHECK(url_split_secret("redis://h:1/2", pub, sizeof pub, sec, sizeof sec) == 0);
    CHECK_STR(pub, "redis://h:1/2");
    CHECK_STR(sec, "");
    CHECK(url_join_secret(pub, "", back, sizeof back) == 0);
    CHECK_STR(back, "redis://h:1/2");
    /* Too small: refused, not cut. */
    char small[8];
    CHECK(url_split_secret("redis://u:pw@h", small, sizeof small, sec, sizeof sec) == -1);
}

int main(void)
{
    RUN(round_trip_and_random_nonce);
    RUN(wrong_key_or_altered_is_refused);
    RUN(url_split_and_join);
    TEST_MAIN_END();
}
