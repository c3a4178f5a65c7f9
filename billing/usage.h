/*
 * usage.h - usage statements for invoicing: export of a billing period and
 * closing it.
 *
 * A statement has one line per tenant, database, plan and meter (commands,
 * requests, bytes_in, bytes_out) with quantity, unit price, amount, plan
 * and period bounds; then, per tenant, its `rejected` lines (requests a
 * quota limit refused, per database and limit, the limit's name as the
 * meter, amount 0), the plan's included allowances as negative lines and
 * a total line. Usage that arrived after its own period was closed is
 * billed here as `adjustment` lines naming that period. A quota refusal
 * (outcome quota_rejected) whose plan does not bill that outcome (the
 * default) counts in no priced meter: not its request, not its bytes.
 * Lines are sorted (tenant; usage before adjustments; database; plan;
 * meter) and rendered without any clock or locale input, so the same data
 * gives the same bytes.
 *
 * Closing a period renders its statement once, in both formats, and stores
 * the bytes (usage_periods): exports of a closed period return exactly
 * those bytes, and the metering writer bills later events of that period
 * in the next open one.
 *
 * Functions take a migrated sqlite3 handle owned by the caller; the
 * rendered text goes into a caller-owned buf. Not thread-safe per handle.
 */
#ifndef TG_USAGE_H
#define TG_USAGE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

typedef enum { USAGE_CSV, USAGE_JSON } usage_format;

/* "csv" / "json" -> format; -1 otherwise. */
int usage_format_parse(const char *s, usage_format *out);

/* Appends the statement of month (period.h index) to out. 0, or -1 with
 * err (400 for a bad period, 500 for the database). */
int usage_export(sqlite3 *db, int month, usage_format f, buf *out, tg_err *err);

/* Closes month at time now (Unix seconds): refused (409) when already
 * closed, or (400) before the month's end plus grace_s unless force. */
int usage_close(sqlite3 *db, int month, int64_t now, long grace_s, bool force, tg_err *err);

/* Assigns plan_id to tenant_id from effective_from (Unix seconds). */
int usage_plan_assign(sqlite3 *db, const char *tenant_id, const char *plan_id,
                      int64_t effective_from, tg_err *err);

/* One group of a period's usage as the statement prices it: a tenant's
 * database under one plan, usage of the period itself or (adjustment) of
 * an earlier closed one. commands counts billable commands of outcomes the
 * row's plan bills. Strings valid during the callback only. */
typedef struct usage_row {
    const char *tenant_id, *database_id, *plan_id;
    bool adjustment;
    int64_t requests, commands, bytes_in, bytes_out;
} usage_row;
typedef void (*usage_row_fn)(void *arg, const usage_row *r);

/* Calls fn for each row of month's usage (the statement's grouping) from
 * minute since_minute (Unix time / 60; 0: the whole period). The quotas
 * seed their counters with it. 0, or -1 with err. */
int usage_rows(sqlite3 *db, int month, int64_t since_minute, usage_row_fn fn, void *arg,
               tg_err *err);

/* One line of a statement, as the export renders it: line is "usage",
 * "adjustment", "included" or "total"; database_id, meter and
 * adjusts_period are NULL where the export writes null. Strings valid
 * during the callback only. */
typedef struct usage_line {
    const char *tenant_id, *database_id, *plan_id, *line, *meter, *adjusts_period, *currency;
    int64_t quantity, unit_price_micros, price_per, amount_micros;
} usage_line;
typedef void (*usage_line_fn)(void *arg, const usage_line *l);

/* Builds month's statement from the rollups as the export of an open
 * period does (the same lines and arithmetic; live even when the period is
 * closed), only tenant_id's lines when not NULL, and calls fn for each
 * line in the export's order, each tenant's total line included. The
 * dashboard's current bill. 0, or -1 with err. */
int usage_statement(sqlite3 *db, int month, const char *tenant_id, usage_line_fn fn, void *arg,
                    tg_err *err);

#endif
