/*
 * clock.h - the process's one reading of time.
 *
 * Monotonic readings (clock_mono_*) are for deadlines, timeouts and
 * durations: they never go backward and ignore changes to the system time.
 * The wall clock (clock_wall_ms) is for timestamps that leave the process
 * (usage event times, retention cut-offs, access logs). All readings come
 * from clock_gettime; stateless and thread-safe.
 */
#ifndef TG_CLOCK_H
#define TG_CLOCK_H

#include <stdint.h>

/* Monotonic time since an arbitrary fixed point, in ns, us and ms. */
uint64_t clock_mono_ns(void);
uint64_t clock_mono_us(void);
uint64_t clock_mono_ms(void);

/* Milliseconds since the Unix epoch. */
uint64_t clock_wall_ms(void);

#endif
