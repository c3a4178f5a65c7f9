/* test_clock.c - common/clock.h: monotonic and wall-clock readings. */
#include <stdint.h>
#include <time.h>

#include "common/clock.h"
#include "tests/unit/testhelp.h"

TEST(monotonic_never_goes_backward)
{
    uint64_t ns = clock_mono_ns(), us = clock_mono_us(), ms = clock_mono_ms();
    int ok = 1;
    for (int i = 0; i < 100000; i++) {
        uint64_t n2 = clock_mono_ns(), u2 = clock_mono_us(), m2 = clock_mono_ms();
        ok &= n2 >= ns && u2 >= us && m2 >= ms;
        ns = n2, us = u2, ms = m2;
    }
    CHECK(ok);
}

TEST(monotonic_advances_with_sleep)
{
    uint64_t us = clock_mono_us(), ms = clock_mono_ms();
    struct timespec d = {0, 20 * 1000000L};
    nanosleep(&d, NULL);
    uint64_t dus = clock_mono_us() - us, dms = clock_mono_ms() - ms;
    CHECK(dus >= 20000 && dus < 5000000);
    CHECK(dms >= 19 && dms < 5000);
}

TEST(units_agree)
{
    /* Read in order ms, us, ns, us, ms: each finer reading falls inside
     * the coarser ones around it. */
    uint64_t ms1 = clock_mono_ms(), us1 = clock_mono_us(), ns = clock_mono_ns();
    uint64_t us2 = clock_mono_us(), ms2 = clock_mono_ms();
    CHECK(us1 / 1000 >= ms1 && us1 / 1000 <= ms2);
    CHECK(ns / 1000 >= us1 && ns / 1000 <= us2);
    CHECK(us2 / 1000 <= ms2);
}

TEST(wall_close_to_time)
{
    uint64_t before = (uint64_t)time(NULL);
    uint64_t wall = clock_wall_ms();
    uint64_t after = (uint64_t)time(NULL);
    CHECK(wall / 1000 + 1 >= before && wall / 1000 <= after + 1);
    CHECK(wall > 1700000000000ULL); /* after Nov 2023: really the epoch */
}

int main(void)
{
    RUN(monotonic_never_goes_backward);
    RUN(monotonic_advances_with_sleep);
    RUN(units_agree);
    RUN(wall_close_to_time);
    TEST_MAIN_END();
}
