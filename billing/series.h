/*
 * series.h - a tenant's usage as the dashboard API shows it: time series
 * of one database's usage, its top commands and latency percentiles, its
 * usage and cost per token, and a tenant's current-period bill so far.
 *
 * Sources, all kept forever except where said:
 *   - buckets: meter_rollups (per tenant, database, minute, outcome);
 *   - latency: meter_latency (migration 0011: per database, minute and
 *     log-scale bucket of backend_us, maintained by the metering writer
 *     with the rollups, so exactly once like them);
 *   - per token: meter_token_rollups (0011: per database, token, hour and
 *     outcome, maintained the same way);
 *   - top commands: meter_command_rollups (0011: per database, hour and
 *     command name, from each event's command-name summary; names past
 *     the summary's METER_NAMES distinct ones are counted as "(other)").
 * Costs use pricing.h's arithmetic and the plan the tenant was on in each
 * hour; billing_current is usage.h's statement restricted to one tenant.
 *
 * Ranges are Unix seconds [from, to), from < to; a series has at most
 * SERIES_MAX_BUCKETS buckets (400 otherwise). Bucket boundaries are UTC
 * minutes, hours, days. Every bucket of the range is present (zeros when
 * nothing happened). The functions return a cJSON tree the caller frees, or
 * NULL with err filled: 400 bad range or too many buckets, 404 unknown or
 * deleted database / tenant, 503 a database error (locked, I/O).
 *
 * Functions take a migrated sqlite3 handle owned by the caller; they read
 * in one transaction. Not thread-safe per handle.
 */
#ifndef TG_SERIES_H
#define TG_SERIES_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdint.h>

#include "common/err.h"

#define SERIES_MAX_BUCKETS 1500
#define SERIES_TOP_COMMANDS 10

typedef enum { SERIES_MINUTE, SERIES_HOUR, SERIES_DAY } series_step;

/* "minute" / "hour" / "day" -> step: 0, or -1. */
int series_step_parse(const char *s, series_step *out);

/* {"database_id","from","to","step","buckets":[{"t":"<ISO8601 UTC>","requests",
 *  "commands","billable_commands","bytes_in","bytes_out","errors","quota_rejected"}],
 *  "top_commands":[{"name","count"}],"latency_us":{"p50","p90","p99","max"}}
 * from/to are echoed as ISO 8601; buckets are aligned down to the step.
 * latency_us values are null when the range has no latency sample. */
cJSON *series_usage(sqlite3 *db, const char *database_id, int64_t from_s, int64_t to_s,
                    series_step step, tg_err *err);

/* {"database_id","from","to","tokens":[{"jti","requests","commands",
 *  "billable_commands","bytes_in","bytes_out","cost_micros"}]}
 * Hour granularity: the range is widened to whole hours. Sorted by
 * cost, then requests, descending. cost_micros prices the token's usage
 * (commands of billed outcomes, requests, bytes) at its plan's unit prices,
 * before allowances. */
cJSON *series_tokens(sqlite3 *db, const char *database_id, int64_t from_s, int64_t to_s,
                     tg_err *err);

/* {"tenant_id","period":"YYYY-MM","period_start","period_end","currency","lines":[{"database_id","plan_id",
 *  "line","meter","description","quantity","unit_price_micros","price_per",
 *  "amount_micros"}...],"total_micros","budget_micros":N|null}
 * The export's lines (usage, adjustment, included) of the period containing
 * now_s, for tenant_id; database_id is null on allowance lines. */
cJSON *billing_current(sqlite3 *db, const char *tenant_id, int64_t now_s, tg_err *err);

#endif
