/* pricing.c - see pricing.h. */
#include "billing/pricing.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/mem.h"

int64_t pricing_amount(int64_t quantity, int64_t price_micros, int64_t per)
{
    if (per <= 0) return 0;
    /* The usual case in 64 bits (the quota engine prices on every request,
     * and a 128-bit division is a library call): the same rounding. */
    int64_t p64;
    if (!__builtin_mul_overflow(quantity, price_micros, &p64) && p64 > INT64_MIN &&
        (p64 < 0 ? -p64 : p64) <= INT64_MAX - per / 2) {
        int64_t a = p64 < 0 ? -p64 : p64, q = (a + per / 2) / per;
        return p64 < 0 ? -q : q;
    }
    __int128 p = (__int128)quantity * price_micros;
    bool neg = p < 0;
    if (neg) p = -p;
    __int128 q = (p + per / 2) / per;   /* half away from zero */
    if (q > INT64_MAX) return neg ? INT64_MIN : INT64_MAX;
    return neg ? -(int64_t)q : (int64_t)q;
}

int pricing_load_plans(sqlite3 *db, plan **out, int *n, tg_err *err)
{
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(db,
            "SELECT id, currency, command_price_micros, command_price_per,"
            " included_commands, request_price_micros, request_price_per,"
            " bandwidth_price_micros, bandwidth_price_per, included_bandwidth_bytes,"
            " storage_price_micros, storage_price_per FROM plans ORDER BY id",
            -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "plans: %s", sqlite3_errmsg(db));
    int cap = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *out = xrealloc(*out, (size_t)cap * sizeof **out);
        }
        plan *p = &(*out)[(*n)++];
        memset(p, 0, sizeof *p);
        snprintf(p->id, sizeof p->id, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(p->currency, sizeof p->currency, "%s", (const char *)sqlite3_column_text(st, 1));
        int64_t *f[] = {&p->command_price_micros, &p->command_price_per, &p->included_commands,
                        &p->request_price_micros, &p->request_price_per,
                        &p->bandwidth_price_micros, &p->bandwidth_price_per,
                        &p->included_bandwidth_bytes, &p->storage_price_micros,
                        &p->storage_price_per};
        for (int i = 0; i < 10; i++) *f[i] = sqlite3_column_int64(st, i + 2);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        *n = 0;
        return tg_fail(err, 500, "plans: %s", sqlite3_errmsg(db));
    }
    return 0;
}

const plan *pricing_find(const plan *plans, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(plans[i].id, id)) return &plans[i];
    return NULL;
}
