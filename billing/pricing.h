/*
 * pricing.h - plans and the money arithmetic of usage statements.
 *
 * Money is int64 micro-units of the plan's currency; a price is
 * `price_micros` per `per` units of a meter (200000 per 100000 commands is
 * $0.20 per 100,000). Amounts are computed with 128-bit intermediates and
 * rounded half away from zero to whole micro-units, once per line; totals
 * are sums of line amounts. No floating point. Pure functions plus a
 * loader; thread-safe.
 */
#ifndef TG_PRICING_H
#define TG_PRICING_H

#include <sqlite3.h>
#include <stdint.h>

#include "common/err.h"
#include "billing/meter_event.h"

typedef struct plan {
    char id[METER_ID_MAX];
    char currency[8];
    int64_t command_price_micros, command_price_per, included_commands;
    int64_t request_price_micros, request_price_per;
    int64_t bandwidth_price_micros, bandwidth_price_per, included_bandwidth_bytes;
    int64_t storage_price_micros, storage_price_per;
} plan;

/* quantity * price_micros / per, rounded half away from zero. per > 0.
 * Saturates at INT64_MAX/MIN instead of overflowing. */
int64_t pricing_amount(int64_t quantity, int64_t price_micros, int64_t per);

/* Every plan, sorted by id. *out is malloc'd (caller frees), *n the count.
 * Returns 0 or -1 with err. */
int pricing_load_plans(sqlite3 *db, plan **out, int *n, tg_err *err);

/* The plan with this id in plans[0..n), or NULL. */
const plan *pricing_find(const plan *plans, int n, const char *id);

#endif
