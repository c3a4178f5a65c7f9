/* clock.c - see clock.h. */
#include "common/clock.h"

#include <time.h>

static uint64_t clock_read_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts); /* cannot fail for these two clocks */
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t clock_mono_ns(void)
{
    return clock_read_ns(CLOCK_MONOTONIC);
}

uint64_t clock_mono_us(void)
{
    return clock_read_ns(CLOCK_MONOTONIC) / 1000;
}

uint64_t clock_mono_ms(void)
{
    return clock_read_ns(CLOCK_MONOTONIC) / 1000000;
}

uint64_t clock_wall_ms(void)
{
    return clock_read_ns(CLOCK_REALTIME) / 1000000;
}
