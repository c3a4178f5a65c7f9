/* limits.c - see limits.h: plans' limits and prices, overrides, budgets. */
#include "billing/limits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/mem.h"

const limit_def limit_defs[LIMIT_COUNT] = {
    [LIMIT_COMMANDS_PER_SECOND] = {"commands_per_second", "commands-per-second"},
    [LIMIT_BURST] = {"burst", "burst"},
    [LIMIT_REQUESTS_PER_SECOND] = {"requests_per_second", "requests-per-second"},
    [LIMIT_REQUESTS_BURST] = {"requests_burst", "requests-burst"},
    [LIMIT_DAILY_COMMANDS] = {"daily_commands", "daily-commands"},
    [LIMIT_MONTHLY_COMMANDS] = {"monthly_commands", "monthly-commands"},
    [LIMIT_MONTHLY_BANDWIDTH_BYTES] = {"monthly_bandwidth_bytes", "monthly-bandwidth-bytes"},
    [LIMIT_REQUEST_BYTES] = {"request_bytes", "request-bytes"},
    [LIMIT_RECORD_BYTES] = {"record_bytes", "record-bytes"},
    [LIMIT_RESPONSE_BYTES] = {"response_bytes", "response-bytes"},
    [LIMIT_CONCURRENT_REQUESTS] = {"concurrent_requests", "concurrent-requests"},
    [LIMIT_DATA_BYTES] = {"data_bytes", "data-bytes"},
};

const limit_def price_defs[PRICE_COUNT] = {
    [PRICE_COMMAND_MICROS] = {"command_price_micros", "command-price-micros"},
    [PRICE_COMMAND_PER] = {"command_price_per", "command-price-per"},
    [PRICE_INCLUDED_COMMANDS] = {"included_commands", "included-commands"},
    [PRICE_REQUEST_MICROS] = {"request_price_micros", "request-price-micros"},
    [PRICE_REQUEST_PER] = {"request_price_per", "request-price-per"},
    [PRICE_BANDWIDTH_MICROS] = {"bandwidth_price_micros", "bandwidth-price-micros"},
    [PRICE_BANDWIDTH_PER] = {"bandwidth_price_per", "bandwidth-price-per"},
    [PRICE_INCLUDED_BANDWIDTH] = {"included_bandwidth_bytes", "included-bandwidth-bytes"},
    [PRICE_STORAGE_MICROS] = {"storage_price_micros", "storage-price-micros"},
    [PRICE_STORAGE_PER] = {"storage_price_per", "storage-price-per"},
};

void limits_keep_all(limit_set *s)
{
    for (int i = 0; i < LIMIT_COUNT; i++) s->v[i] = LIMIT_KEEP;
}

int limits_value_parse(const char *s, bool is_override, int64_t *out)
{
    if (!strcmp(s, "none")) {
        *out = is_override ? LIMIT_INHERIT : LIMIT_UNLIMITED;
        return 0;
    }
    if (!strcmp(s, "unlimited")) {
        *out = LIMIT_UNLIMITED;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < 0) return -1;
    *out = v;
    return 0;
}

/* ==== Writing ==== */

/* Binds a stored limit: NULL for unlimited in a plan / inherit in an
 * override, -1 for unlimited in an override. */
static void bind_limit(sqlite3_stmt *st, int col, int64_t v, bool is_override)
{
    if (v == LIMIT_INHERIT || (v == LIMIT_UNLIMITED && !is_override))
        sqlite3_bind_null(st, col);
    else
        sqlite3_bind_int64(st, col, v);
}

/* Runs sql (already bound) to completion: the number of changed rows, or
 * -1 with err (400: a constraint refused it). */
static int step_done(sqlite3 *db, sqlite3_stmt *st, tg_err *err)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return tg_fail(err, 400, "sqlite: %s", sqlite3_errmsg(db));
    return sqlite3_changes(db);
}

int limits_plan_create(sqlite3 *db, const char *id, const char *name, const char *currency,
                       const int64_t prices[PRICE_COUNT], const limit_set *limits, tg_err *err)
{
    buf sql;
    buf_init(&sql);
    /* Unset prices and the currency come from the default plan's row. */
    buf_puts(&sql, "INSERT INTO plans (id, name, is_default, created_at, currency");
    for (int i = 0; i < PRICE_COUNT; i++) buf_printf(&sql, ", %s", price_defs[i].column);
    for (int i = 0; i < LIMIT_COUNT; i++) buf_printf(&sql, ", %s", limit_defs[i].column);
    buf_puts(&sql, ") SELECT ?1, ?2, 0, strftime('%s','now'), coalesce(?3, currency)");
    for (int i = 0; i < PRICE_COUNT; i++)
        buf_printf(&sql, ", coalesce(?%d, %s)", 4 + i, price_defs[i].column);
    for (int i = 0; i < LIMIT_COUNT; i++) buf_printf(&sql, ", ?%d", 4 + PRICE_COUNT + i);
    buf_puts(&sql, " FROM plans WHERE is_default = 1");
    buf_putc(&sql, '\0');
    int rc = -1;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        tg_fail(err, 500, "plan: %s", sqlite3_errmsg(db));
        goto out_free;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        tg_fail(err, 500, "plan: %s", sqlite3_errmsg(db));
        goto out_rollback;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    if (currency) sqlite3_bind_text(st, 3, currency, -1, SQLITE_STATIC);
    for (int i = 0; i < PRICE_COUNT; i++)
        if (prices[i] != LIMIT_KEEP) sqlite3_bind_int64(st, 4 + i, prices[i]);
    for (int i = 0; i < LIMIT_COUNT; i++)
        if (limits->v[i] >= 0) sqlite3_bind_int64(st, 4 + PRICE_COUNT + i, limits->v[i]);
    int n = sqlite3_step(st);
    sqlite3_finalize(st);
    if (n != SQLITE_DONE) {
        if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_PRIMARYKEY)
            tg_fail(err, 409, "plan %s already exists", id);
        else
            tg_fail(err, 400, "plan: %s", sqlite3_errmsg(db));
        goto out_rollback;
    }
    if (sqlite3_changes(db) != 1) {
        tg_fail(err, 500, "plan: no default plan to copy prices from");
        goto out_rollback;
    }
    if (sqlite3_prepare_v2(db, "INSERT INTO plan_billable_outcomes (plan_id, outcome)"
                           " SELECT ?1, b.outcome FROM plan_billable_outcomes b"
                           " JOIN plans p ON p.id = b.plan_id WHERE p.is_default = 1",
                           -1, &st, NULL) != SQLITE_OK) {
        tg_fail(err, 500, "plan: %s", sqlite3_errmsg(db));
        goto out_rollback;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (step_done(db, st, err) < 0) goto out_rollback;
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        tg_fail(err, 500, "plan: %s", sqlite3_errmsg(db));
        goto out_rollback;
    }
    rc = 0;
    goto out_free;
out_rollback:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out_free:
    buf_release(&sql);
    return rc;
}

int limits_plan_update(sqlite3 *db, const char *id, const char *name, const char *currency,
                       const int64_t prices[PRICE_COUNT], const limit_set *limits, tg_err *err)
{
    buf sql;
    buf_init(&sql);
    buf_puts(&sql, "UPDATE plans SET name = coalesce(?1, name), currency = coalesce(?2, currency)");
    for (int i = 0; i < PRICE_COUNT; i++)
        if (prices[i] != LIMIT_KEEP) buf_printf(&sql, ", %s = ?%d", price_defs[i].column, 4 + i);
    for (int i = 0; i < LIMIT_COUNT; i++)
        if (limits->v[i] != LIMIT_KEEP)
            buf_printf(&sql, ", %s = ?%d", limit_defs[i].column, 4 + PRICE_COUNT + i);
    buf_puts(&sql, " WHERE id = ?3");
    buf_putc(&sql, '\0');
    sqlite3_stmt *st;
    int rc = -1;
    if (sqlite3_prepare_v2(db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        tg_fail(err, 500, "plan: %s", sqlite3_errmsg(db));
        goto out;
    }
    if (name) sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (currency) sqlite3_bind_text(st, 2, currency, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    for (int i = 0; i < PRICE_COUNT; i++)
        if (prices[i] != LIMIT_KEEP) sqlite3_bind_int64(st, 4 + i, prices[i]);
    for (int i = 0; i < LIMIT_COUNT; i++)
        if (limits->v[i] != LIMIT_KEEP)
            bind_limit(st, 4 + PRICE_COUNT + i, limits->v[i], false);
    int n = step_done(db, st, err);
    if (n == 0) tg_fail(err, 404, "no plan %s", id);
    rc = n > 0 ? 0 : -1;
out:
    buf_release(&sql);
    return rc;
}

int limits_db_set(sqlite3 *db, const char *database_id, const limit_set *changes, tg_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM databases WHERE id = ? AND deleted_at IS NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "sqlite: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, database_id, -1, SQLITE_STATIC);
    bool live = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (!live) return tg_fail(err, 404, "no live database %s", database_id);
    /* An upsert touching only the changed columns. */
    buf sql;
    buf_init(&sql);
    buf_puts(&sql, "INSERT INTO database_limits (database_id, updated_at");
    for (int i = 0; i < LIMIT_COUNT; i++)
        if (changes->v[i] != LIMIT_KEEP) buf_printf(&sql, ", %s", limit_defs[i].column);
    buf_puts(&sql, ") VALUES (?1, strftime('%s','now')");
    for (int i = 0; i < LIMIT_COUNT; i++)
        if (changes->v[i] != LIMIT_KEEP) buf_printf(&sql, ", ?%d", 2 + i);
    buf_puts(&sql, ") ON CONFLICT (database_id) DO UPDATE SET updated_at = excluded.updated_at");
    for (int i = 0; i < LIMIT_COUNT; i++)
        if (changes->v[i] != LIMIT_KEEP)
            buf_printf(&sql, ", %s = excluded.%s", limit_defs[i].column, limit_defs[i].column);
    buf_putc(&sql, '\0');
    int rc = -1;
    if (sqlite3_prepare_v2(db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        tg_fail(err, 500, "sqlite: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_text(st, 1, database_id, -1, SQLITE_STATIC);
    for (int i = 0; i < LIMIT_COUNT; i++)
        if (changes->v[i] != LIMIT_KEEP) bind_limit(st, 2 + i, changes->v[i], true);
    rc = step_done(db, st, err) < 0 ? -1 : 0;
out:
    buf_release(&sql);
    return rc;
}

int limits_tenant_budget(sqlite3 *db, const char *tenant_id, int64_t micros, tg_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "UPDATE tenants SET monthly_budget_micros = ?"
                           " WHERE id = ? AND deleted_at IS NULL", -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "sqlite: %s", sqlite3_errmsg(db));
    bind_limit(st, 1, micros, false);
    sqlite3_bind_text(st, 2, tenant_id, -1, SQLITE_STATIC);
    int n = step_done(db, st, err);
    if (n < 0) return -1;
    return n == 0 ? tg_fail(err, 404, "no live tenant %s", tenant_id) : 0;
}

/* ==== Reading ==== */

/* Columns: 0 db, 1 tenant, 2 plan, 3 budget, 4 billable mask, then the
 * plan's limits, then the override's. */
static void load_sql(buf *sql, bool one)
{
    buf_puts(sql, "WITH d AS (SELECT db.id, db.tenant_id, t.monthly_budget_micros AS budget,"
                  " coalesce((SELECT pa.plan_id FROM plan_assignments pa"
                  "  WHERE pa.tenant_id = db.tenant_id AND pa.effective_from <= ?1"
                  "  ORDER BY pa.effective_from DESC LIMIT 1),"
                  " (SELECT id FROM plans WHERE is_default = 1)) AS plan_id"
                  " FROM databases db JOIN tenants t ON t.id = db.tenant_id"
                  " WHERE db.deleted_at IS NULL AND t.deleted_at IS NULL");
    if (one) buf_puts(sql, " AND db.id = ?2");
    buf_puts(sql, ") SELECT d.id, d.tenant_id, d.plan_id, d.budget,"
                  " (SELECT coalesce(sum(1 << b.outcome), 0) FROM plan_billable_outcomes b"
                  "  WHERE b.plan_id = d.plan_id)");
    for (int i = 0; i < LIMIT_COUNT; i++) buf_printf(sql, ", p.%s", limit_defs[i].column);
    for (int i = 0; i < LIMIT_COUNT; i++) buf_printf(sql, ", o.%s", limit_defs[i].column);
    buf_puts(sql, " FROM d JOIN plans p ON p.id = d.plan_id"
                  " LEFT JOIN database_limits o ON o.database_id = d.id ORDER BY d.id");
    buf_putc(sql, '\0');
}

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

static void row_read(sqlite3_stmt *st, limits_row *r)
{
    memset(r, 0, sizeof *r);
    copy_text(r->database_id, sizeof r->database_id, sqlite3_column_text(st, 0));
    copy_text(r->tenant_id, sizeof r->tenant_id, sqlite3_column_text(st, 1));
    copy_text(r->plan_id, sizeof r->plan_id, sqlite3_column_text(st, 2));
    r->budget_micros = sqlite3_column_type(st, 3) == SQLITE_NULL ? LIMIT_UNLIMITED
                                                                 : sqlite3_column_int64(st, 3);
    r->billable_outcomes = (uint32_t)sqlite3_column_int64(st, 4);
    for (int i = 0; i < LIMIT_COUNT; i++) {
        int pc = 5 + i, oc = 5 + LIMIT_COUNT + i;
        r->plan.v[i] = sqlite3_column_type(st, pc) == SQLITE_NULL ? LIMIT_UNLIMITED
                                                                  : sqlite3_column_int64(st, pc);
        r->over.v[i] = sqlite3_column_type(st, oc) == SQLITE_NULL ? LIMIT_INHERIT
                                                                  : sqlite3_column_int64(st, oc);
        r->effective.v[i] = r->over.v[i] == LIMIT_INHERIT ? r->plan.v[i] : r->over.v[i];
    }
}

int limits_load(sqlite3 *db, int64_t now, const char *database_id, limits_row **out, int *n,
                tg_err *err)
{
    *out = NULL;
    *n = 0;
    buf sql;
    buf_init(&sql);
    load_sql(&sql, database_id != NULL);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql.data, -1, &st, NULL);
    buf_release(&sql);
    if (rc != SQLITE_OK) return tg_fail(err, 500, "limits: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, now);
    if (database_id) sqlite3_bind_text(st, 2, database_id, -1, SQLITE_STATIC);
    int cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xrealloc(*out, (size_t)cap * sizeof **out);
        }
        row_read(st, &(*out)[(*n)++]);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        *n = 0;
        return tg_fail(err, 500, "limits: %s", sqlite3_errmsg(db));
    }
    return 0;
}
