/* test_respond.c - gateway/http/respond.c, statics included: the CORS
 * allow list, the preflight header filter, the error body. */
#include "gateway/http/respond.c"

#include "tests/unit/testhelp.h"

TEST(origin_listed)
{
    CHECK(origin_listed("https://a.example, https://b.example", "https://b.example"));
    CHECK(origin_listed("https://a.example,https://b.example", "https://a.example"));
    CHECK(origin_listed("  https://a.example  ", "https://a.example"));
    CHECK(!origin_listed("https://a.example", "https://a.example.evil"));
    CHECK(!origin_listed("https://a.example.evil", "https://a.example"));
    CHECK(!origin_listed("", "https://a.example"));
    CHECK(!origin_listed("https://a.example", ""));
}

TEST(header_list_ok)
{
    CHECK(header_list_ok("Authorization, Content-Type"));
    CHECK(header_list_ok("x_custom-1"));
    CHECK(!header_list_ok("Authorization\r\nSet-Cookie: x"));
    CHECK(!header_list_ok("a:b"));
    CHECK(!header_list_ok("a;b"));
}

static const char *header_of(struct MHD_Response *r, const char *name)
{
    return MHD_get_response_header(r, name);
}

TEST(cors_headers)
{
    tg_config cfg = {0};
    cfg.cors_origins = (char *)"https://app.example";
    struct MHD_Response *r = respond_error(&cfg, "https://app.example", "ERR x");
    CHECK_STR(header_of(r, "Access-Control-Allow-Origin"), "https://app.example");
    CHECK_STR(header_of(r, "Vary"), "Origin");
    CHECK_STR(header_of(r, "Content-Type"), "application/json");
    MHD_destroy_response(r);
    r = respond_error(&cfg, "https://other.example", "ERR x");
    CHECK(header_of(r, "Access-Control-Allow-Origin") == NULL);
    MHD_destroy_response(r);
    cfg.cors_origins = (char *)"*";
    r = respond_error(&cfg, "https://any.example", "ERR x");
    CHECK_STR(header_of(r, "Access-Control-Allow-Origin"), "*");
    MHD_destroy_response(r);
    r = respond_error(&cfg, NULL, "ERR x"); /* not a browser: no CORS */
    CHECK(header_of(r, "Access-Control-Allow-Origin") == NULL);
    MHD_destroy_response(r);
}

TEST(preflight)
{
    tg_config cfg = {0};
    cfg.cors_origins = (char *)"*";
    struct MHD_Response *r = respond_preflight(&cfg, "https://x.example", "authorization");
    CHECK_STR(header_of(r, "Access-Control-Allow-Headers"), "authorization");
    CHECK_STR(header_of(r, "Access-Control-Max-Age"), "86400");
    MHD_destroy_response(r);
    r = respond_preflight(&cfg, "https://x.example", "a\r\nb");  /* not echoed */
    CHECK(strstr(header_of(r, "Access-Control-Allow-Headers"), "Authorization") != NULL);
    MHD_destroy_response(r);
}

int main(void)
{
    RUN(origin_listed);
    RUN(header_list_ok);
    RUN(cors_headers);
    RUN(preflight);
    TEST_MAIN_END();
}
