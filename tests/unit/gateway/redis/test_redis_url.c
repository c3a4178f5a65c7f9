/* test_redis_url.c - gateway/redis/redis_url.h: backend address parsing. */
#include "gateway/redis/redis_url.h"
#include "tests/unit/testhelp.h"

static redis_url u;

static int parse(const char *s)
{
    tg_err err = {0, ""};
    memset(&u, 0x5a, sizeof u); /* garbage in: the parser must reset it */
    int rc = redis_url_parse(s, &u, &err);
    if (rc) CHECK(err.status == 400 && err.msg[0]);
    return rc;
}

TEST(host_only)
{
    CHECK(parse("redis://localhost") == 0);
    CHECK_STR(u.host, "localhost");
    CHECK(u.port == 6379 && u.db == -1);
    CHECK_STR(u.user, "");
    CHECK_STR(u.password, "");
    CHECK_STR(u.path, "");
    CHECK(parse("redis://10.0.0.1/") == 0);
    CHECK_STR(u.host, "10.0.0.1");
    CHECK(u.db == -1);
}

TEST(port_and_db)
{
    CHECK(parse("redis://h:6380") == 0);
    CHECK_STR(u.host, "h");
    CHECK(u.port == 6380 && u.db == -1);
    CHECK(parse("redis://h:1/15") == 0);
    CHECK(u.port == 1 && u.db == 15);
    CHECK(parse("redis://h:65535/0") == 0);
    CHECK(u.port == 65535 && u.db == 0);
    CHECK(parse("redis://h/3") == 0);
    CHECK(u.port == 6379 && u.db == 3);
}

TEST(credentials)
{
    CHECK(parse("redis://alice:s3cret@h:7000/2") == 0);
    CHECK_STR(u.user, "alice");
    CHECK_STR(u.password, "s3cret");
    CHECK_STR(u.host, "h");
    CHECK(u.port == 7000 && u.db == 2);
    /* Password only, both spellings. */
    CHECK(parse("redis://onlypass@h") == 0);
    CHECK_STR(u.user, "");
    CHECK_STR(u.password, "onlypass");
    CHECK(parse("redis://:onlypass@h") == 0);
    CHECK_STR(u.user, "");
    CHECK_STR(u.password, "onlypass");
    /* '@' and ':' inside the password: the last '@' ends it. */
    CHECK(parse("redis://u:p@ss:w@h:1") == 0);
    CHECK_STR(u.user, "u");
    CHECK_STR(u.password, "p@ss:w");
    CHECK_STR(u.host, "h");
    CHECK(u.port == 1);
}

TEST(long_password_only_form)
{
    /* 200 bytes fit the 256-byte password field; the short form
     * (redis://password@host) must accept what redis://:password@host does. */
    char url[400], pw[201];
    memset(pw, 'p', 200);
    pw[200] = '\0';
    snprintf(url, sizeof url, "redis://:%s@h", pw);
    CHECK(parse(url) == 0);
    CHECK_STR(u.password, pw);
    snprintf(url, sizeof url, "redis://%s@h", pw);
    CHECK(parse(url) == 0);
    CHECK_STR(u.password, pw);
    CHECK_STR(u.host, "h");
}

TEST(unix_socket)
{
    CHECK(parse("unix:///var/run/redis.sock") == 0);
    CHECK_STR(u.path, "/var/run/redis.sock");
    CHECK_STR(u.host, "");
    CHECK(u.db == -1);
    CHECK(parse("unix://relative.sock") == -1);
    CHECK(parse("unix://") == -1);
    char url[400] = "unix:///";
    memset(url + 8, 'x', 300);
    url[308] = '\0';
    CHECK(parse(url) == -1); /* longer than path[] */
}

TEST(bad_scheme)
{
    CHECK(parse("http://h") == -1);
    CHECK(parse("rediss://h") == -1);
    CHECK(parse("redis:/h") == -1);
    CHECK(parse("h:6379") == -1);
    CHECK(parse("") == -1);
}

TEST(bad_port)
{
    static const char *const bad[] = {"redis://h:abc", "redis://h:0", "redis://h:65536",
                                      "redis://h:", "redis://h:12x/0", "redis://h:-1",
                                      "redis://h:99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i]);
        if (rc != -1) fprintf(stderr, "  accepted '%s'\n", bad[i]);
        CHECK(rc == -1);
    }
}

TEST(empty_host_and_bad_db)
{
    static const char *const bad[] = {"redis://", "redis://:6379", "redis://u:p@",
                                      "redis://u:p@:1", "redis:///0", "redis://h/x",
                                      "redis://h/-1", "redis://h/1x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i]);
        if (rc != -1) fprintf(stderr, "  accepted '%s'\n", bad[i]);
        CHECK(rc == -1);
    }
    char url[400] = "redis://";
    memset(url + 8, 'h', 300);
    url[308] = '\0';
    CHECK(parse(url) == -1); /* host longer than host[] */
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep results if a sanitizer aborts */
    RUN(host_only);
    RUN(port_and_db);
    RUN(credentials);
    RUN(long_password_only_form);
    RUN(unix_socket);
    RUN(bad_scheme);
    RUN(bad_port);
    RUN(empty_host_and_bad_db);
    TEST_MAIN_END();
}
