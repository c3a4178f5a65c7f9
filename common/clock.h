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

/* Milliseconds and nanoseconds since the Unix epoch. */
uint64_t clock_wall_ms(void);
int64_t clock_wall_ns(void);

struct timespec;

/* The CLOCK_REALTIME instant ms milliseconds from now, for
 * pthread_cond_timedwait (the one deadline helper of the waiting threads). */
void clock_deadline_in(uint64_t ms, struct timespec *out);

#endif
