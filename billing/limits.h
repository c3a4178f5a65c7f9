/*
 * limits.h - the quota limits as stored: plans' limit and price columns,
 * per-database overrides, tenants' monthly budgets. The control plane's
 * one implementation: the CLI (`plan create|update`, `db limits`, `tenant
 * budget`) calls these, and so will the admin API.
 *
 * Values: a limit is an int64 >= 0, or LIMIT_UNLIMITED (-1). In a plan,
 * unlimited is stored as NULL. In an override, NULL means "inherit the
 * plan's" (LIMIT_INHERIT here) and -1 "unlimited whatever the plan says".
 * A change set uses LIMIT_KEEP for columns left as they are.
 *
 * The tables (limit_defs, price_defs) name every column once; the CLI's
 * flags are the column names with '-' for '_'. Functions take a migrated
 * sqlite3 handle owned by the caller; not thread-safe per handle.
 */
#ifndef TG_LIMITS_H
#define TG_LIMITS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "billing/meter_event.h"

#define LIMIT_UNLIMITED (-1)
#define LIMIT_INHERIT (-2)   /* overrides: NULL, the plan's value applies */
#define LIMIT_KEEP (-3)      /* change sets: leave the column as it is */

typedef enum {
    LIMIT_COMMANDS_PER_SECOND,
    LIMIT_BURST,
    LIMIT_REQUESTS_PER_SECOND,
    LIMIT_REQUESTS_BURST,
    LIMIT_DAILY_COMMANDS,
    LIMIT_MONTHLY_COMMANDS,
    LIMIT_MONTHLY_BANDWIDTH_BYTES,
    LIMIT_REQUEST_BYTES,
    LIMIT_RECORD_BYTES,
    LIMIT_RESPONSE_BYTES,
    LIMIT_CONCURRENT_REQUESTS,
    LIMIT_DATA_BYTES,
    LIMIT_COUNT
} limit_id;

typedef struct limit_def {
    const char *column;          /* also the JSON key; the flag with '-' */
    const char *flag;
} limit_def;
extern const limit_def limit_defs[LIMIT_COUNT];

typedef struct limit_set {
    int64_t v[LIMIT_COUNT];
} limit_set;

/* A plan's price columns, in pricing.h's plan order. */
typedef enum {
    PRICE_COMMAND_MICROS, PRICE_COMMAND_PER, PRICE_INCLUDED_COMMANDS,
    PRICE_REQUEST_MICROS, PRICE_REQUEST_PER,
    PRICE_BANDWIDTH_MICROS, PRICE_BANDWIDTH_PER, PRICE_INCLUDED_BANDWIDTH,
    PRICE_STORAGE_MICROS, PRICE_STORAGE_PER,
    PRICE_COUNT
} price_id;
extern const limit_def price_defs[PRICE_COUNT];

/* Every column LIMIT_KEEP (a change set that changes nothing). */
void limits_keep_all(limit_set *s);

/* Parses a flag's value: a number >= 0, "none" (plan: unlimited;
 * override: inherit) or "unlimited" (LIMIT_UNLIMITED). -1 if neither. */
int limits_value_parse(const char *s, bool is_override, int64_t *out);

/* Creates plan id with name. prices[i] LIMIT_KEEP takes the default
 * plan's (so does currency when NULL; the default plan's billable outcomes
 * are copied too); limits LIMIT_KEEP or LIMIT_UNLIMITED leave NULL.
 * 409 if the id exists. */
int limits_plan_create(sqlite3 *db, const char *id, const char *name, const char *currency,
                       const int64_t prices[PRICE_COUNT], const limit_set *limits, tg_err *err);

/* Changes the columns of plan id not LIMIT_KEEP (name/currency: NULL
 * keeps). 404 if no such plan. */
int limits_plan_update(sqlite3 *db, const char *id, const char *name, const char *currency,
                       const int64_t prices[PRICE_COUNT], const limit_set *limits, tg_err *err);

/* Sets database_id's overrides: each column not LIMIT_KEEP becomes its
 * value (LIMIT_INHERIT clears it). 404 for no live database. */
int limits_db_set(sqlite3 *db, const char *database_id, const limit_set *changes, tg_err *err);

/* Sets tenant_id's monthly budget (micro-units; LIMIT_UNLIMITED: none). */
int limits_tenant_budget(sqlite3 *db, const char *tenant_id, int64_t micros, tg_err *err);

/* A live database's limits as they apply now: its override, else its
 * tenant's current plan (assignments, else the default plan). */
typedef struct limits_row {
    char database_id[METER_ID_MAX], tenant_id[METER_ID_MAX], plan_id[METER_ID_MAX];
    limit_set plan, over;        /* as stored (over: LIMIT_INHERIT when NULL) */
    limit_set effective;         /* LIMIT_UNLIMITED or a value */
    int64_t budget_micros;       /* LIMIT_UNLIMITED when none */
    uint32_t billable_outcomes;  /* bit per meter_outcome the plan bills */
} limits_row;

/* Every live database's row at time now (Unix seconds), or only
 * database_id's when not NULL. *out malloc'd (caller frees). 0 / -1. */
int limits_load(sqlite3 *db, int64_t now, const char *database_id, limits_row **out, int *n,
                tg_err *err);

#endif
