/* series.c - see series.h. (Interface first; the queries follow.) */
#include "billing/series.h"

#include <string.h>

int series_step_parse(const char *s, series_step *out)
{
    static const char *const names[] = {"minute", "hour", "day"};
    for (int i = 0; s && i < 3; i++)
        if (!strcmp(s, names[i])) {
            *out = (series_step)i;
            return 0;
        }
    return -1;
}

cJSON *series_usage(sqlite3 *db, const char *database_id, int64_t from_s, int64_t to_s,
                    series_step step, tg_err *err)
{
    (void)db, (void)database_id, (void)from_s, (void)to_s, (void)step;
    tg_fail(err, 503, "usage series: not implemented yet");
    return NULL;
}

cJSON *series_tokens(sqlite3 *db, const char *database_id, int64_t from_s, int64_t to_s,
                     tg_err *err)
{
    (void)db, (void)database_id, (void)from_s, (void)to_s;
    tg_fail(err, 503, "token usage: not implemented yet");
    return NULL;
}

cJSON *billing_current(sqlite3 *db, const char *tenant_id, int64_t now_s, tg_err *err)
{
    (void)db, (void)tenant_id, (void)now_s;
    tg_fail(err, 503, "current bill: not implemented yet");
    return NULL;
}
