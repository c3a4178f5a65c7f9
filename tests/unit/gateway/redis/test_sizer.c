/* test_sizer.c - gateway/redis/sizer.h: the size estimate's arithmetic
 * (the measurements against a real Redis: tests/e2e/test_data_quota.sh). */
#include "gateway/redis/sizer.h"
#include "tests/unit/testhelp.h"

#include <stdint.h>

TEST(empty_is_zero)
{
    CHECK(sizer_estimate(0, 0, 0) == 0);
    CHECK(sizer_estimate(500, 3, 0) == 0);
}

TEST(average_times_count)
{
    CHECK(sizer_estimate(640, 64, 1000) == 10000);
    CHECK(sizer_estimate(300, 3, 3) == 300);          /* every key measured: exact */
    CHECK(sizer_estimate(100, 3, 10) == 333);         /* 333.3 rounds down */
    CHECK(sizer_estimate(200, 3, 10) == 667);         /* 666.7 rounds up */
    CHECK(sizer_estimate(56, 1, 1) == 56);
}

TEST(no_sample_no_estimate)
{
    CHECK(sizer_estimate(0, 0, 5) == -1);
    CHECK(sizer_estimate(-1, 1, 5) == -1);
    CHECK(sizer_estimate(1, -1, 5) == -1);
    CHECK(sizer_estimate(1, 1, -5) == -1);
}

TEST(saturates)
{
    CHECK(sizer_estimate(INT64_MAX, 1, 2) == INT64_MAX);
    CHECK(sizer_estimate(INT64_MAX / 2, 64, INT64_MAX / 4) == INT64_MAX);
    /* large but representable: no overflow in the intermediate product */
    CHECK(sizer_estimate(INT64_C(1) << 40, 64, INT64_C(1) << 20) == INT64_C(1) << 54);
    CHECK(sizer_estimate(INT64_C(1) << 40, 64, INT64_C(1) << 30) == INT64_MAX);  /* 2^64 */
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    RUN(empty_is_zero);
    RUN(average_times_count);
    RUN(no_sample_no_estimate);
    RUN(saturates);
    TEST_MAIN_END();
}
