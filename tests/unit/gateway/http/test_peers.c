/* test_peers.c - gateway/http/peers.h: the per-address connection cap and
 * the unauthenticated requests' token bucket (burst, refill, Retry-After,
 * addresses apart), and entries freed once idle. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "common/clock.h"
#include "common/siphash.h"
#include "gateway/http/peers.h"
#include "tests/unit/testhelp.h"

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

#define SA(a) ((const struct sockaddr *)&(a))

TEST(nothing_to_limit_is_null)
{
    CHECK(peers_new(0, 0, 200) == NULL);
    unsigned retry;
    struct sockaddr_in a = v4("10.0.0.1");
    CHECK(peers_take_anon(NULL, SA(a), 1000, &retry));
    CHECK(peers_admit(NULL, SA(a)));
}

TEST(connection_cap_per_address)
{
    http_peers *p = peers_new(2, 0, 1);
    struct sockaddr_in a = v4("10.0.0.1"), b = v4("10.0.0.2");
    peers_count(p, SA(a), 1);
    peers_count(p, SA(a), 1);
    CHECK(!peers_admit(p, SA(a)));
    CHECK(peers_admit(p, SA(b)));
    peers_count(p, SA(a), -1);
    CHECK(peers_admit(p, SA(a)));
    peers_count(p, SA(a), -1);
    CHECK(peers_entries(p) == 0);
    peers_free(p);
}

TEST(bucket_burst_then_rate_with_retry_after)
{
    http_peers *p = peers_new(0, 10, 20);   /* 10/s, burst 20 */
    struct sockaddr_in a = v4("10.0.0.1"), b = v4("10.0.0.2");
    uint64_t t = 1000000;
    unsigned retry = 99;
    int ok = 0;
    for (int i = 0; i < 25; i++) ok += peers_take_anon(p, SA(a), t, &retry);
    CHECK(ok == 20);
    CHECK(retry == 1);
    /* Another address has its own bucket. */
    CHECK(peers_take_anon(p, SA(b), t, &retry) && retry == 0);
    /* 10/s: after 500 ms, five more. */
    ok = 0;
    for (int i = 0; i < 10; i++) ok += peers_take_anon(p, SA(a), t + 500, &retry);
    CHECK(ok == 5);
    /* Refused attempts take nothing: a second later there are ten. */
    ok = 0;
    for (int i = 0; i < 15; i++) ok += peers_take_anon(p, SA(a), t + 1500, &retry);
    CHECK(ok == 10);
    peers_free(p);
}

TEST(slow_rate_retry_after_rounds_up)
{
    http_peers *p = peers_new(0, 1, 1);
    struct sockaddr_in a = v4("10.0.0.1");
    unsigned retry;
    CHECK(peers_take_anon(p, SA(a), 5000, &retry));
    CHECK(!peers_take_anon(p, SA(a), 5100, &retry) && retry == 1);
    CHECK(peers_take_anon(p, SA(a), 6000, &retry));
    peers_free(p);
}

TEST(idle_entries_are_freed)
{
    /* 4 a second: one token refills in 250 ms, longer than the loop below
     * takes even on a loaded machine under the sanitizers. */
    http_peers *p = peers_new(1000, 4, 200);
    uint64_t t = clock_mono_ms();
    unsigned retry;
    char ip[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(ip, sizeof ip, "10.1.%d.%d", i / 256, i % 256);
        struct sockaddr_in a = v4(ip);
        peers_count(p, SA(a), 1);
        peers_take_anon(p, SA(a), t, &retry);
        peers_count(p, SA(a), -1);
    }
    /* Still refilling (one token short, 250 ms at 4/s): kept for now. */
    CHECK(peers_entries(p) == 1000);
    /* Once full again, the rolling sweep frees them. */
    while (clock_mono_ms() < t + 300) {}
    struct sockaddr_in z = v4("10.9.9.9");
    for (int i = 0; i < 4096; i++) peers_admit(p, SA(z));
    CHECK(peers_entries(p) == 0);
    peers_free(p);
}

int main(void)
{
    hash_seed();
    RUN(nothing_to_limit_is_null);
    RUN(connection_cap_per_address);
    RUN(bucket_burst_then_rate_with_retry_after);
    RUN(slow_rate_retry_after_rounds_up);
    RUN(idle_entries_are_freed);
    TEST_MAIN_END();
}
