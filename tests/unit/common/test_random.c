/* test_random.c - common/random.h (kernel randomness) and common/hex.h. */
#include <stdint.h>
#include <string.h>

#include "common/hex.h"
#include "common/random.h"
#include "tests/unit/testhelp.h"

static int is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", s[i]) || !s[i]) return 0;
    return 1;
}

TEST(hex_encode_known_bytes)
{
    char out[2 * 6 + 1];
    memset(out, 'x', sizeof out);
    hex_encode(out, "\x00\x01\x7f\x80\xab\xff", 6);
    CHECK_STR(out, "00017f80abff");
    hex_encode(out, "", 0);
    CHECK_STR(out, "");
    CHECK(hex_digits[0] == '0' && hex_digits[9] == '9' && hex_digits[10] == 'a' &&
          hex_digits[15] == 'f');
}

TEST(hex_value_reads_both_cases)
{
    int ok = 1;
    for (int v = 0; v < 16; v++) {
        ok &= hex_value(hex_digits[v]) == v;
        ok &= hex_value((char)(v < 10 ? '0' + v : 'A' + v - 10)) == v;
    }
    CHECK(ok);
    int bad = 0;
    for (int c = -128; c < 128; c++)
        if (!strchr("0123456789abcdefABCDEF", (char)c) || !c) bad += hex_value((char)c) != -1;
    CHECK(bad == 0);
}

TEST(random_bytes_fill_everything)
{
    /* 64 KiB: every byte value shows up (a miss has odds ~ 2^-360), and
     * no long run is left untouched. */
    static uint8_t b[65536];
    memset(b, 0, sizeof b);
    random_bytes(b, sizeof b);
    int seen[256] = {0}, all = 1;
    for (size_t i = 0; i < sizeof b; i++) seen[b[i]]++;
    for (int v = 0; v < 256; v++) all &= seen[v] > 0;
    CHECK(all);
    size_t run = 0, longest = 0;
    for (size_t i = 0; i < sizeof b; i++) {
        run = b[i] ? 0 : run + 1;
        if (run > longest) longest = run;
    }
    CHECK(longest < 8);
}

TEST(random_bytes_differ_between_calls)
{
    uint8_t a[32], b[32];
    random_bytes(a, sizeof a);
    random_bytes(b, sizeof b);
    CHECK(memcmp(a, b, sizeof a) != 0);
    random_bytes(a, 0); /* nothing to do, nothing written */
}

TEST(random_hex_shape)
{
    char out[2 * 100 + 2];
    static const size_t sizes[] = {0, 1, 8, 16, 31, 32, 33, 64, 100};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        memset(out, 'x', sizeof out);
        random_hex(out, n);
        CHECK(strlen(out) == 2 * n);
        CHECK(is_lower_hex(out, 2 * n));
        CHECK(out[2 * n + 1] == 'x'); /* nothing written past the NUL */
    }
    char a[33], b[33];
    random_hex(a, 16);
    random_hex(b, 16);
    CHECK(strcmp(a, b) != 0);
}

int main(void)
{
    RUN(hex_encode_known_bytes);
    RUN(hex_value_reads_both_cases);
    RUN(random_bytes_fill_everything);
    RUN(random_bytes_differ_between_calls);
    RUN(random_hex_shape);
    TEST_MAIN_END();
}
