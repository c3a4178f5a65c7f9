/* test_redact.c - common/redact.h: passwords out of URLs, control bytes
 * escaped, output cut short safely. */
#include <stdio.h>
#include <string.h>

#include "common/redact.h"
#include "tests/unit/testhelp.h"

TEST(url_user_password)
{
    char out[128];
    CHECK_STR(redact_url("redis://app:s3cr3t@10.0.0.1:6380/2", out, sizeof out),
              "redis://app:***@10.0.0.1:6380/2");
}

TEST(url_password_only)
{
    char out[128];
    CHECK_STR(redact_url("redis://s3cr3t@host", out, sizeof out), "redis://***@host");
    CHECK_STR(redact_url("redis://:s3cr3t@host:1/0", out, sizeof out), "redis://:***@host:1/0");
}

TEST(url_password_with_at)
{
    char out[128];
    /* the last @ of the authority ends the userinfo */
    CHECK_STR(redact_url("redis://u:p@ss@h/1", out, sizeof out), "redis://u:***@h/1");
}

TEST(url_without_credentials)
{
    char out[128];
    CHECK_STR(redact_url("redis://127.0.0.1:6379", out, sizeof out), "redis://127.0.0.1:6379");
    CHECK_STR(redact_url("unix:///run/redis.sock", out, sizeof out), "unix:///run/redis.sock");
    CHECK_STR(redact_url("redis://h/0?x=a@b", out, sizeof out), "redis://h/0?x=a@b");
}

TEST(url_short_buffer)
{
    char out[12];
    redact_url("redis://app:s3cr3t@host", out, sizeof out);
    CHECK_STR(out, "redis://app");
    CHECK(strstr(out, "s3cr3t") == NULL);
}

TEST(escape_control_bytes)
{
    char out[64];
    const char in[] = "a\r\nb\x1b[31m\\\x7f\x01z";
    CHECK_STR(redact_escape(in, sizeof in - 1, out, sizeof out),
              "a\\x0d\\x0ab\\x1b[31m\\x5c\\x7f\\x01z");
}

TEST(escape_never_mid_escape)
{
    char out[8];
    CHECK_STR(redact_escape("ab\n", 3, out, 6), "ab");
    CHECK_STR(redact_escape("ab\ncd", 5, out, 7), "ab\\x0a");
    CHECK_STR(redact_escape("ab", 2, out, 1), "");
    out[0] = 'x';
    redact_escape("ab", 2, out, 0); /* no room even for the NUL: untouched */
    CHECK(out[0] == 'x');
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    RUN(url_user_password);
    RUN(url_password_only);
    RUN(url_password_with_at);
    RUN(url_without_credentials);
    RUN(url_short_buffer);
    RUN(escape_control_bytes);
    RUN(escape_never_mid_escape);
    TEST_MAIN_END();
}
