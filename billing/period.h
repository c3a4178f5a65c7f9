/*
 * period.h - billing periods: calendar months in UTC, named "YYYY-MM".
 *
 * A period is handled as a month index (year * 12 + month - 1) so that
 * "the next period" is +1. Pure functions, no time zone database, no
 * gmtime: safe anywhere, thread-safe.
 */
#ifndef TG_PERIOD_H
#define TG_PERIOD_H

#include <stdint.h>

#define PERIOD_NAME_MAX 8        /* "YYYY-MM" and NUL */

/* "2026-11" -> month index; -1 if malformed (year 1970..9999). */
int period_parse(const char *s);

/* Writes "YYYY-MM" into out (PERIOD_NAME_MAX bytes). */
void period_format(int month, char *out);

/* Unix seconds of the first instant of the month. */
int64_t period_start(int month);

/* The month containing Unix time t (seconds, >= 0). */
int period_of(int64_t t);

/* Writes t (Unix seconds) as "YYYY-MM-DDTHH:MM:SSZ" (21 bytes). */
void period_iso8601(int64_t t, char *out);

#endif
