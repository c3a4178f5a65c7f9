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

int64_t clock_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void clock_deadline_in(uint64_t ms, struct timespec *out)
{
    clock_gettime(CLOCK_REALTIME, out);
    uint64_t ns = (uint64_t)out->tv_nsec + ms * 1000000ULL;
    out->tv_sec += (time_t)(ns / 1000000000ULL);
    out->tv_nsec = (long)(ns % 1000000000ULL);
}
