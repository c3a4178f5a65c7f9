/* period.c - see period.h. Civil-date arithmetic after Howard Hinnant's
 * days_from_civil / civil_from_days (proleptic Gregorian, UTC). */
#include "billing/period.h"

#include <stdio.h>
#include <stdlib.h>

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int period_parse(const char *s)
{
    if (!s) return -1;
    for (int i = 0; i < 7; i++)
        if (i == 4 ? s[i] != '-' : (s[i] < '0' || s[i] > '9')) return -1;
    if (s[7]) return -1;
    int y = atoi(s), m = atoi(s + 5);
    if (y < 1970 || m < 1 || m > 12) return -1;
    return y * 12 + m - 1;
}

void period_format(int month, char *out)
{
    unsigned m = (unsigned)month;
    snprintf(out, PERIOD_NAME_MAX, "%04u-%02u", m / 12 % 10000, m % 12 + 1);
}

int64_t period_start(int month)
{
    return days_from_civil(month / 12, (unsigned)(month % 12 + 1), 1) * 86400;
}

int period_of(int64_t t)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(t / 86400, &y, &m, &d);
    return (int)(y * 12 + m - 1);
}

void period_iso8601(int64_t t, char *out)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(t / 86400, &y, &m, &d);
    unsigned s = (unsigned)(t % 86400);
    snprintf(out, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)y % 10000, m % 13, d % 32,
             s / 3600 % 24, s / 60 % 60, s % 60);
}
