/* usage.c - see usage.h: statements, closing periods, plan assignment. */
#include "billing/usage.h"

#include <stdio.h>
#include <string.h>

#include "common/json_out.h"
#include "common/mem.h"
#include "billing/period.h"
#include "billing/pricing.h"

typedef enum { LINE_USAGE, LINE_ADJUSTMENT, LINE_REJECTED, LINE_INCLUDED, LINE_TOTAL } line_kind;

static const char *const line_kind_names[] = {"usage", "adjustment", "rejected", "included",
                                              "total"};

typedef struct line {
    char tenant[METER_ID_MAX], database[METER_ID_MAX], plan[METER_ID_MAX];
    line_kind kind;
    char meter[32];                    /* rejected lines: the limit's name */
    char adjusts[PERIOD_NAME_MAX];     /* adjustment lines: the period adjusted */
    int64_t quantity, price_micros, per, amount;
    char currency[8];
} line;

typedef struct statement {
    int month;
    const char *tenant;                /* NULL: every tenant */
    line *lines;
    size_t n, cap;
} statement;

static line *add_line(statement *s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->lines = xrealloc(s->lines, s->cap * sizeof *s->lines);
    }
    line *l = &s->lines[s->n++];
    memset(l, 0, sizeof *l);
    return l;
}

int usage_format_parse(const char *s, usage_format *out)
{
    if (s && !strcmp(s, "csv")) *out = USAGE_CSV;
    else if (s && !strcmp(s, "json")) *out = USAGE_JSON;
    else return -1;
    return 0;
}

/* ==== Building the statement ==== */

/* Commands bill when their outcome does (plan_billable_outcomes); requests
 * and bytes always, except a quota refusal's (outcome 6) when its plan
 * does not bill that outcome: such a refusal costs nothing (the quota
 * engine's budget counts it the same way, billing/quota.c). */
static const char SQL_USAGE[] =
    "WITH r AS ("
    " SELECT ru.tenant_id, ru.database_id, ru.outcome, ru.requests, ru.billable_commands,"
    "  ru.bytes_in, ru.bytes_out,"
    "  strftime('%Y-%m', ru.minute * 60, 'unixepoch') AS source_period,"
    "  coalesce((SELECT pa.plan_id FROM plan_assignments pa WHERE pa.tenant_id = ru.tenant_id"
    "            AND pa.effective_from <= ru.minute * 60"
    "            ORDER BY pa.effective_from DESC LIMIT 1),"
    "           (SELECT id FROM plans WHERE is_default = 1)) AS plan_id"
    " FROM meter_rollups ru WHERE ru.bill_period = ?1 AND ru.tenant_id <> ''"
    "  AND ru.minute >= ?2 AND (?3 IS NULL OR ru.tenant_id = ?3)),"
    " rb AS (SELECT r.*, EXISTS (SELECT 1 FROM plan_billable_outcomes b"
    "        WHERE b.plan_id = r.plan_id AND b.outcome = r.outcome) AS bills FROM r)"
    " SELECT tenant_id, database_id, plan_id, source_period,"
    "  sum(CASE WHEN bills OR outcome <> 6 THEN requests ELSE 0 END),"
    "  sum(CASE WHEN bills THEN billable_commands ELSE 0 END),"
    "  sum(CASE WHEN bills OR outcome <> 6 THEN bytes_in ELSE 0 END),"
    "  sum(CASE WHEN bills OR outcome <> 6 THEN bytes_out ELSE 0 END)"
    " FROM rb GROUP BY tenant_id, database_id, plan_id, source_period"
    " ORDER BY tenant_id, source_period <> ?1, source_period, database_id, plan_id";

/* A tenant's requests refused by a limit in the period, per database, plan
 * (in effect at their minute, as usage lines) and limit (meter_rejections,
 * migrations/0010). */
static const char SQL_REJECTIONS[] =
    "WITH r AS ("
    " SELECT rj.database_id, rj.requests, coalesce(l.name, 'unknown') AS limit_name,"
    "  coalesce((SELECT pa.plan_id FROM plan_assignments pa WHERE pa.tenant_id = rj.tenant_id"
    "            AND pa.effective_from <= rj.minute * 60"
    "            ORDER BY pa.effective_from DESC LIMIT 1),"
    "           (SELECT id FROM plans WHERE is_default = 1)) AS plan_id"
    " FROM meter_rejections rj LEFT JOIN meter_quota_limits l ON l.code = rj.quota_limit"
    " WHERE rj.tenant_id = ?1 AND rj.bill_period = ?2)"
    " SELECT database_id, plan_id, limit_name, sum(requests) FROM r"
    " GROUP BY database_id, plan_id, limit_name ORDER BY database_id, plan_id, limit_name";

static const char SQL_TENANT_PLAN[] =
    "SELECT coalesce((SELECT plan_id FROM plan_assignments WHERE tenant_id = ?1"
    "                 AND effective_from <= ?2 ORDER BY effective_from DESC LIMIT 1),"
    "                (SELECT id FROM plans WHERE is_default = 1))";

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* Per-tenant sums the allowances and the total need. */
typedef struct tenant_acc {
    char tenant[METER_ID_MAX];
    int64_t commands, command_amount, bandwidth, bandwidth_amount, total;
    bool any;
} tenant_acc;

/* t's rejected lines: requests refused per database and limit, priced at
 * nothing (what a refusal costs, if its plan bills it, is in the usage
 * lines). */
static int tenant_rejections(sqlite3 *db, statement *s, const tenant_acc *t,
                             const plan *plans, int nplans, tg_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, SQL_REJECTIONS, -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "usage: %s", sqlite3_errmsg(db));
    char period[PERIOD_NAME_MAX];
    period_format(s->month, period);
    sqlite3_bind_text(st, 1, t->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char pid[METER_ID_MAX];
        copy_text(pid, sizeof pid, sqlite3_column_text(st, 1));
        const plan *p = pricing_find(plans, nplans, pid);
        if (!p) {
            sqlite3_finalize(st);
            return tg_fail(err, 500, "usage: tenant %s: plan '%s' not found", t->tenant, pid);
        }
        line *l = add_line(s);
        copy_text(l->tenant, sizeof l->tenant, (const unsigned char *)t->tenant);
        copy_text(l->database, sizeof l->database, sqlite3_column_text(st, 0));
        copy_text(l->plan, sizeof l->plan, (const unsigned char *)p->id);
        copy_text(l->currency, sizeof l->currency, (const unsigned char *)p->currency);
        copy_text(l->meter, sizeof l->meter, sqlite3_column_text(st, 2));
        l->kind = LINE_REJECTED;
        l->quantity = sqlite3_column_int64(st, 3);
        l->per = 1;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : tg_fail(err, 500, "usage: %s", sqlite3_errmsg(db));
}

static int tenant_close(sqlite3 *db, statement *s, tenant_acc *t, const plan *plans,
                        int nplans, tg_err *err)
{
    if (!t->any) return 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, SQL_TENANT_PLAN, -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "usage: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, t->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, period_start(s->month + 1) - 1);
    char pid[METER_ID_MAX] = "";
    if (sqlite3_step(st) == SQLITE_ROW) copy_text(pid, sizeof pid, sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    const plan *p = pricing_find(plans, nplans, pid);
    if (!p) return tg_fail(err, 500, "usage: tenant %s: plan '%s' not found", t->tenant, pid);
    if (tenant_rejections(db, s, t, plans, nplans, err)) return -1;
    /* Included allowances: never more than what the meter charged. */
    struct {
        const char *meter;
        int64_t used, charged, included, price, per;
    } inc[] = {
        {"commands", t->commands, t->command_amount, p->included_commands,
         p->command_price_micros, p->command_price_per},
        {"bandwidth", t->bandwidth, t->bandwidth_amount, p->included_bandwidth_bytes,
         p->bandwidth_price_micros, p->bandwidth_price_per},
    };
    for (size_t i = 0; i < sizeof inc / sizeof inc[0]; i++) {
        int64_t q = inc[i].used < inc[i].included ? inc[i].used : inc[i].included;
        if (q <= 0) continue;
        int64_t a = pricing_amount(q, inc[i].price, inc[i].per);
        if (a > inc[i].charged) a = inc[i].charged;
        line *l = add_line(s);
        copy_text(l->tenant, sizeof l->tenant, (const unsigned char *)t->tenant);
        copy_text(l->plan, sizeof l->plan, (const unsigned char *)p->id);
        copy_text(l->currency, sizeof l->currency, (const unsigned char *)p->currency);
        l->kind = LINE_INCLUDED;
        copy_text(l->meter, sizeof l->meter, (const unsigned char *)inc[i].meter);
        l->quantity = -q;
        l->price_micros = inc[i].price;
        l->per = inc[i].per;
        l->amount = -a;
        t->total -= a;
    }
    line *l = add_line(s);
    copy_text(l->tenant, sizeof l->tenant, (const unsigned char *)t->tenant);
    copy_text(l->plan, sizeof l->plan, (const unsigned char *)p->id);
    copy_text(l->currency, sizeof l->currency, (const unsigned char *)p->currency);
    l->kind = LINE_TOTAL;
    l->amount = t->total;
    return 0;
}

static int build(sqlite3 *db, statement *s, tg_err *err)
{
    plan *plans;
    int nplans, rc = -1;
    if (pricing_load_plans(db, &plans, &nplans, err)) return -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, SQL_USAGE, -1, &st, NULL) != SQLITE_OK) {
        tg_fail(err, 500, "usage: %s", sqlite3_errmsg(db));
        goto out_plans;
    }
    char period[PERIOD_NAME_MAX];
    period_format(s->month, period);
    sqlite3_bind_text(st, 1, period, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, 0);
    if (s->tenant) sqlite3_bind_text(st, 3, s->tenant, -1, SQLITE_STATIC);
    tenant_acc t;
    memset(&t, 0, sizeof t);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *tenant = (const char *)sqlite3_column_text(st, 0);
        if (strcmp(tenant, t.tenant)) {
            if (tenant_close(db, s, &t, plans, nplans, err)) goto out_stmt;
            memset(&t, 0, sizeof t);
            copy_text(t.tenant, sizeof t.tenant, (const unsigned char *)tenant);
        }
        t.any = true;
        char pid[METER_ID_MAX];
        copy_text(pid, sizeof pid, sqlite3_column_text(st, 2));
        const plan *p = pricing_find(plans, nplans, pid);
        if (!p) {
            tg_fail(err, 500, "usage: tenant %s: plan '%s' not found", tenant, pid);
            goto out_stmt;
        }
        const char *src = (const char *)sqlite3_column_text(st, 3);
        bool adj = strcmp(src, period) != 0;
        struct {
            const char *meter;
            int64_t q, price, per;
        } m[] = {
            {"commands", sqlite3_column_int64(st, 5), p->command_price_micros, p->command_price_per},
            {"requests", sqlite3_column_int64(st, 4), p->request_price_micros, p->request_price_per},
            {"bytes_in", sqlite3_column_int64(st, 6), p->bandwidth_price_micros, p->bandwidth_price_per},
            {"bytes_out", sqlite3_column_int64(st, 7), p->bandwidth_price_micros, p->bandwidth_price_per},
        };
        for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
            line *l = add_line(s);
            copy_text(l->tenant, sizeof l->tenant, (const unsigned char *)tenant);
            copy_text(l->database, sizeof l->database, sqlite3_column_text(st, 1));
            copy_text(l->plan, sizeof l->plan, (const unsigned char *)p->id);
            copy_text(l->currency, sizeof l->currency, (const unsigned char *)p->currency);
            if (adj) copy_text(l->adjusts, sizeof l->adjusts, (const unsigned char *)src);
            l->kind = adj ? LINE_ADJUSTMENT : LINE_USAGE;
            copy_text(l->meter, sizeof l->meter, (const unsigned char *)m[i].meter);
            l->quantity = m[i].q;
            l->price_micros = m[i].price;
            l->per = m[i].per;
            l->amount = pricing_amount(m[i].q, m[i].price, m[i].per);
            t.total += l->amount;
            if (i == 0) {
                t.commands += m[i].q;
                t.command_amount += l->amount;
            } else if (i >= 2) {
                t.bandwidth += m[i].q;
                t.bandwidth_amount += l->amount;
            }
        }
    }
    if (step != SQLITE_DONE) {
        tg_fail(err, 500, "usage: %s", sqlite3_errmsg(db));
        goto out_stmt;
    }
    if (tenant_close(db, s, &t, plans, nplans, err)) goto out_stmt;
    rc = 0;
out_stmt:
    sqlite3_finalize(st);
out_plans:
    free(plans);
    return rc;
}

/* ==== Rendering ==== */

static void csv_field(buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        buf_puts(b, s);
        return;
    }
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"') buf_putc(b, '"');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

/* A NUL-terminated statement field as a JSON string. */
static void json_string(buf *b, const char *s)
{
    json_out_string(b, s, strlen(s));
}

static void render_csv(const statement *s, buf *out)
{
    char period[PERIOD_NAME_MAX], start[24], end[24];
    period_format(s->month, period);
    period_iso8601(period_start(s->month), start);
    period_iso8601(period_start(s->month + 1), end);
    buf_puts(out, "period,period_start,period_end,tenant_id,database_id,plan_id,line,meter,"
                  "adjusts_period,quantity,unit_price_micros,price_per,amount_micros,currency\n");
    for (size_t i = 0; i < s->n; i++) {
        const line *l = &s->lines[i];
        buf_printf(out, "%s,%s,%s,", period, start, end);
        csv_field(out, l->tenant);
        buf_putc(out, ',');
        csv_field(out, l->database);
        buf_putc(out, ',');
        csv_field(out, l->plan);
        buf_printf(out, ",%s,%s,%s,", line_kind_names[l->kind], l->meter, l->adjusts);
        if (l->kind == LINE_TOTAL)
            buf_printf(out, ",,,%lld,", (long long)l->amount);
        else
            buf_printf(out, "%lld,%lld,%lld,%lld,", (long long)l->quantity,
                       (long long)l->price_micros, (long long)l->per, (long long)l->amount);
        csv_field(out, l->currency);
        buf_putc(out, '\n');
    }
}

static void render_json(const statement *s, bool closed, buf *out)
{
    char period[PERIOD_NAME_MAX], start[24], end[24];
    period_format(s->month, period);
    period_iso8601(period_start(s->month), start);
    period_iso8601(period_start(s->month + 1), end);
    buf_printf(out, "{\"period\":\"%s\",\"period_start\":\"%s\",\"period_end\":\"%s\","
                    "\"closed\":%s,\"lines\":[", period, start, end, closed ? "true" : "false");
    for (size_t i = 0; i < s->n; i++) {
        const line *l = &s->lines[i];
        buf_puts(out, i ? ",\n{" : "\n{");
        buf_puts(out, "\"tenant_id\":");
        json_string(out, l->tenant);
        buf_puts(out, ",\"database_id\":");
        if (l->database[0]) json_string(out, l->database);
        else buf_puts(out, "null");
        buf_puts(out, ",\"plan_id\":");
        json_string(out, l->plan);
        buf_printf(out, ",\"line\":\"%s\",\"meter\":", line_kind_names[l->kind]);
        if (l->meter[0]) json_string(out, l->meter);
        else buf_puts(out, "null");
        buf_puts(out, ",\"adjusts_period\":");
        if (l->adjusts[0]) json_string(out, l->adjusts);
        else buf_puts(out, "null");
        if (l->kind == LINE_TOTAL)
            buf_puts(out, ",\"quantity\":null,\"unit_price_micros\":null,\"price_per\":null");
        else
            buf_printf(out, ",\"quantity\":%lld,\"unit_price_micros\":%lld,\"price_per\":%lld",
                       (long long)l->quantity, (long long)l->price_micros, (long long)l->per);
        buf_printf(out, ",\"amount_micros\":%lld,\"currency\":", (long long)l->amount);
        json_string(out, l->currency);
        buf_putc(out, '}');
    }
    buf_puts(out, "],\"totals\":[");
    bool first = true;
    for (size_t i = 0; i < s->n; i++) {
        const line *l = &s->lines[i];
        if (l->kind != LINE_TOTAL) continue;
        buf_puts(out, first ? "\n{\"tenant_id\":" : ",\n{\"tenant_id\":");
        first = false;
        json_string(out, l->tenant);
        buf_printf(out, ",\"amount_micros\":%lld,\"currency\":", (long long)l->amount);
        json_string(out, l->currency);
        buf_putc(out, '}');
    }
    buf_puts(out, "]}\n");
}

/* ==== Export and close ==== */

/* The frozen bytes of a closed period: 1 found, 0 not closed, -1 error. */
static int frozen(sqlite3 *db, const char *period, usage_format f, buf *out, tg_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, f == USAGE_CSV
                               ? "SELECT csv FROM usage_periods WHERE period = ?"
                               : "SELECT json FROM usage_periods WHERE period = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "usage: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, period, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW) {
        buf_append(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        found = 1;
    } else if (rc != SQLITE_DONE) {
        found = tg_fail(err, 500, "usage: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return found;
}

int usage_export(sqlite3 *db, int month, usage_format f, buf *out, tg_err *err)
{
    if (month < 0) return tg_fail(err, 400, "ERR period must look like 2026-11");
    char period[PERIOD_NAME_MAX];
    period_format(month, period);
    /* One read transaction: the statement sees one state of the rollups. */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "usage: %s", sqlite3_errmsg(db));
    int rc = frozen(db, period, f, out, err);
    if (rc == 0) {
        statement s = {.month = month};
        rc = build(db, &s, err);
        if (rc == 0) {
            if (f == USAGE_CSV) render_csv(&s, out);
            else render_json(&s, false, out);
        }
        free(s.lines);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    return rc < 0 ? -1 : 0;
}

int usage_close(sqlite3 *db, int month, int64_t now, long grace_s, bool force, tg_err *err)
{
    if (month < 0) return tg_fail(err, 400, "period must look like 2026-11");
    char period[PERIOD_NAME_MAX];
    period_format(month, period);
    int64_t open_until = period_start(month + 1) + grace_s;
    if (!force && now < open_until) {
        char when[24];
        period_iso8601(open_until, when);
        return tg_fail(err, 400, "period %s can be closed from %s (its end plus "
                       "usage_close_grace_s)", period, when);
    }
    /* IMMEDIATE: the metering writer cannot commit between the statement
     * and the close, so every event is either in it or billed later. */
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "usage: %s", sqlite3_errmsg(db));
    buf csv, json, probe;
    buf_init(&csv);
    buf_init(&json);
    buf_init(&probe);
    statement s = {.month = month};
    int rc = frozen(db, period, USAGE_CSV, &probe, err);
    if (rc != 0) {
        if (rc > 0) tg_fail(err, 409, "period %s is already closed", period);
        goto out_rollback;
    }
    if (build(db, &s, err)) goto out_rollback;
    render_csv(&s, &csv);
    render_json(&s, true, &json);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO usage_periods (period, closed_at, csv, json)"
                           " VALUES (?,?,?,?)", -1, &st, NULL) != SQLITE_OK) {
        tg_fail(err, 500, "usage: %s", sqlite3_errmsg(db));
        goto out_rollback;
    }
    sqlite3_bind_text(st, 1, period, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_blob(st, 3, csv.data, (int)csv.len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, json.data, (int)json.len, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step != SQLITE_DONE || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        tg_fail(err, 500, "usage: %s", sqlite3_errmsg(db));
        goto out_rollback;
    }
    rc = 0;
    goto out_free;
out_rollback:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    rc = -1;
out_free:
    free(s.lines);
    buf_release(&csv);
    buf_release(&json);
    buf_release(&probe);
    return rc;
}

int usage_plan_assign(sqlite3 *db, const char *tenant_id, const char *plan_id,
                      int64_t effective_from, tg_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO plan_assignments (tenant_id, plan_id,"
                           " effective_from, created_at) VALUES (?,?,?,strftime('%s','now'))"
                           " ON CONFLICT (tenant_id, effective_from) DO UPDATE SET"
                           " plan_id = excluded.plan_id", -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "plan: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, plan_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, effective_from);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return tg_fail(err, 400, "plan: %s (unknown tenant or plan?)", sqlite3_errmsg(db));
    return 0;
}

int usage_rows(sqlite3 *db, int month, int64_t since_minute, usage_row_fn fn, void *arg,
               tg_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, SQL_USAGE, -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "usage: %s", sqlite3_errmsg(db));
    char period[PERIOD_NAME_MAX];
    period_format(month, period);
    sqlite3_bind_text(st, 1, period, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since_minute);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        usage_row r = {
            .tenant_id = (const char *)sqlite3_column_text(st, 0),
            .database_id = (const char *)sqlite3_column_text(st, 1),
            .plan_id = (const char *)sqlite3_column_text(st, 2),
            .adjustment = strcmp((const char *)sqlite3_column_text(st, 3), period) != 0,
            .requests = sqlite3_column_int64(st, 4),
            .commands = sqlite3_column_int64(st, 5),
            .bytes_in = sqlite3_column_int64(st, 6),
            .bytes_out = sqlite3_column_int64(st, 7),
        };
        fn(arg, &r);
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE) return tg_fail(err, 500, "usage: %s", sqlite3_errmsg(db));
    return 0;
}

int usage_statement(sqlite3 *db, int month, const char *tenant_id, usage_line_fn fn, void *arg,
                    tg_err *err)
{
    if (month < 0) return tg_fail(err, 400, "period must look like 2026-11");
    statement s = {.month = month, .tenant = tenant_id};
    int rc = build(db, &s, err);
    for (size_t i = 0; rc == 0 && i < s.n; i++) {
        const line *l = &s.lines[i];
        usage_line u = {
            .tenant_id = l->tenant, .database_id = l->database[0] ? l->database : NULL,
            .plan_id = l->plan, .line = line_kind_names[l->kind],
            .meter = l->meter[0] ? l->meter : NULL,
            .adjusts_period = l->adjusts[0] ? l->adjusts : NULL, .currency = l->currency,
            .quantity = l->quantity, .unit_price_micros = l->price_micros, .price_per = l->per,
            .amount_micros = l->amount,
        };
        fn(arg, &u);
    }
    free(s.lines);
    return rc;
}
