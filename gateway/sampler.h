/*
 * sampler.h - the data_bytes sampler: a thread that measures, every
 * interval, the size on its backend of each database with a data_bytes
 * limit (gateway/redis/sizer.h says how) and reports it to the quota
 * engine (quota_data_set), which refuses that database's writes while the
 * last size reported is at or over its limit.
 *
 * The thread owns its SQLite read connection (the list of limited
 * databases: billing/limits.h limits_load, then each one's placement,
 * auth/tenancy.h tenancy_db_get) and its sizer's blocking Redis
 * connections, as each backend URL's user: no worker ever waits for it.
 * The first round runs at start, then one every interval_s. A database
 * that cannot be measured keeps its last size (the error is logged).
 *
 * Staleness: a size is at most one interval plus one round old; a shared
 * database whose logical DB holds more than SIZER_SCAN_CALLS x
 * SIZER_SCAN_COUNT keys takes several rounds per pass (sizer.h).
 */
#ifndef TG_SAMPLER_H
#define TG_SAMPLER_H

#include "billing/quota.h"
#include "common/err.h"

typedef struct sampler sampler;

/* Starts the thread (q and sqlite_path must outlive sampler_stop; every
 * Redis call bounded by timeout_ms). NULL + err if it cannot start. */
sampler *sampler_start(quota *q, const char *sqlite_path, int interval_s, int timeout_ms,
                       tg_err *err);

/* Stops the thread (interrupting its wait, not a measurement under way:
 * at most one Redis timeout) and frees it. NULL accepted. */
void sampler_stop(sampler *s);

#endif
