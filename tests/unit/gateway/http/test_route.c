/* test_route.c - gateway/http/route.h: lookup, 404 vs 405, the Allow
 * header, method names. */
#include <string.h>

#include "gateway/http/route.h"
#include "tests/unit/testhelp.h"

static route_result h_a(tg_request *r) { (void)r; return ROUTE_DONE; }
static route_result h_b(tg_request *r) { (void)r; return ROUTE_PENDING; }
static route_result h_c(tg_request *r) { (void)r; return ROUTE_DONE; }

static const route table[] = {
    {"/healthz", MATCH_EXACT, M_GET | M_HEAD, h_a, RT_EXCLUSIVE},
    {"/pipeline", MATCH_EXACT, M_POST, h_b, RT_EXCLUSIVE},
    {"/", MATCH_EXACT, M_POST, h_c, 0},
    {"/", MATCH_PREFIX, M_GET | M_HEAD | M_POST | M_PUT, h_a, 0},
};
#define N (sizeof table / sizeof table[0])

TEST(first_match_wins)
{
    unsigned allowed = 99;
    const route *r = route_find(table, N, "/", M_POST, &allowed);
    CHECK(r == &table[2]);
    r = route_find(table, N, "/get/k", M_GET, &allowed);
    CHECK(r == &table[3]);
    r = route_find(table, N, "/pipeline", M_POST, &allowed);
    CHECK(r == &table[1]);
}

TEST(exclusive_path_wrong_method_is_405)
{
    unsigned allowed = 0;
    /* /pipeline also matches the "/" prefix route, but it is exclusive. */
    CHECK(route_find(table, N, "/pipeline", M_GET, &allowed) == NULL);
    CHECK(allowed == M_POST);
    CHECK(route_find(table, N, "/healthz", M_POST, &allowed) == NULL);
    CHECK(allowed == (M_GET | M_HEAD));
}

TEST(unknown_path_is_404)
{
    static const route only[] = {{"/a", MATCH_EXACT, M_GET, h_a, 0}};
    unsigned allowed = 7;
    CHECK(route_find(only, 1, "/b", M_GET, &allowed) == NULL);
    CHECK(allowed == 0);
    CHECK(route_find(only, 1, "/a/", M_GET, &allowed) == NULL); /* exact is exact */
    CHECK(allowed == 0);
}

TEST(non_exclusive_methods_accumulate)
{
    static const route two[] = {
        {"/x", MATCH_EXACT, M_GET, h_a, 0},
        {"/x", MATCH_PREFIX, M_PUT, h_a, 0},
    };
    unsigned allowed = 0;
    CHECK(route_find(two, 2, "/x", M_POST, &allowed) == NULL);
    CHECK(allowed == (M_GET | M_PUT));
}

TEST(allow_header)
{
    char out[64];
    route_allow_header(M_GET | M_HEAD, out, sizeof out);
    CHECK_STR(out, "GET, HEAD, OPTIONS");
    route_allow_header(M_POST, out, sizeof out);
    CHECK_STR(out, "POST, OPTIONS");
    route_allow_header(0, out, sizeof out);
    CHECK_STR(out, "OPTIONS");
    route_allow_header(M_GET | M_HEAD | M_POST | M_PUT, out, sizeof out);
    CHECK_STR(out, "GET, HEAD, POST, PUT, OPTIONS");
    char tiny[8];
    route_allow_header(M_GET | M_HEAD | M_POST, tiny, sizeof tiny); /* truncated, terminated */
    CHECK(strlen(tiny) < sizeof tiny);
}

TEST(method_names_round_trip)
{
    static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "OPTIONS", "DELETE",
                                        "PATCH"};
    for (size_t i = 0; i < 7; i++)
        CHECK_STR(route_method_name(route_method_bit(names[i])), names[i]);
    CHECK(route_method_bit("TRACE") == M_OTHER);
    CHECK(route_method_bit("get") == M_OTHER); /* methods are case-sensitive */
    CHECK_STR(route_method_name(M_OTHER), "-");
}

TEST(allow_header_names_delete_and_patch)
{
    char out[96];
    route_allow_header(M_GET | M_DELETE | M_PATCH, out, sizeof out);
    CHECK_STR(out, "GET, DELETE, PATCH, OPTIONS");
}

int main(void)
{
    RUN(first_match_wins);
    RUN(exclusive_path_wrong_method_is_405);
    RUN(unknown_path_is_404);
    RUN(non_exclusive_methods_accumulate);
    RUN(allow_header);
    RUN(method_names_round_trip);
    RUN(allow_header_names_delete_and_patch);
    TEST_MAIN_END();
}
