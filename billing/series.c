/* series.c - see series.h: usage series, per-token usage, current bill. */
#include "billing/series.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "billing/detail.h"
#include "billing/meter_event.h"
#include "billing/period.h"
#include "billing/pricing.h"
#include "billing/usage.h"

static const struct {
    const char *name;
    int64_t seconds;
} steps[] = {{"minute", 60}, {"hour", 3600}, {"day", 86400}};

int series_step_parse(const char *s, series_step *out)
{
    for (size_t i = 0; s && i < sizeof steps / sizeof steps[0]; i++)
        if (!strcmp(s, steps[i].name)) {
            *out = (series_step)i;
            return 0;
        }
    return -1;
}

/* ==== Shared helpers ==== */

/* A failed statement: 503 (the database is busy, locked or failing). */
static int db_fail(sqlite3 *db, tg_err *err, const char *what)
{
    return tg_fail(err, 503, "%s: %s", what, sqlite3_errmsg(db));
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql, tg_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_fail(db, err, "usage");
        return NULL;
    }
    return st;
}

/* sql prepared with ?1 = database_id and the hour range [?2, ?3) bound,
 * the detail tables' key; NULL with a 503 err. */
static sqlite3_stmt *prepare_hours(sqlite3 *db, const char *sql, const char *database_id,
                                   int64_t h0, int64_t h1, tg_err *err)
{
    sqlite3_stmt *st = prepare(db, sql, err);
    if (!st) return NULL;
    sqlite3_bind_text(st, 1, database_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, h0);
    sqlite3_bind_int64(st, 3, h1);
    return st;
}

/* A live database's tenant into tenant (METER_ID_MAX): 0, or -1 (404 / 503). */
static int database_tenant(sqlite3 *db, const char *database_id, char *tenant, tg_err *err)
{
    sqlite3_stmt *st = prepare(db, "SELECT tenant_id FROM databases WHERE id = ?1"
                                   " AND deleted_at IS NULL", err);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, database_id ? database_id : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(tenant, METER_ID_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return 0;
    if (rc == SQLITE_DONE) return tg_fail(err, 404, "no database '%s'", database_id);
    return db_fail(db, err, "usage");
}

static int check_range(int64_t from_s, int64_t to_s, tg_err *err)
{
    /* Up to year 9999: the ISO 8601 rendering stays four-digit. */
    if (from_s < 0 || to_s > 253402300799LL)
        return tg_fail(err, 400, "from and to must be Unix seconds between 1970 and 9999");
    if (from_s >= to_s) return tg_fail(err, 400, "from must be before to");
    return 0;
}

static void add_time(cJSON *o, const char *key, int64_t t)
{
    char iso[24];
    period_iso8601(t, iso);
    cJSON_AddStringToObject(o, key, iso);
}

static void add_int(cJSON *o, const char *key, int64_t v)
{
    cJSON_AddNumberToObject(o, key, (double)v);
}

/* A read transaction: one state of the rollups for the whole answer. */
static int begin(sqlite3 *db, tg_err *err)
{
    return sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0
                                                                    : db_fail(db, err, "usage");
}

static void end(sqlite3 *db)
{
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
}

/* ==== The usage series ==== */

enum { V_REQUESTS, V_COMMANDS, V_BILLABLE, V_BYTES_IN, V_BYTES_OUT, V_ERRORS, V_REJECTED, V_N };
static const char *const value_names[V_N] = {
    "requests", "commands", "billable_commands", "bytes_in", "bytes_out", "errors",
    "quota_rejected",
};

/* Rejections: refused by a quota (413 / budget) or a rate limit (429).
 * errors: the other outcomes but ok. */
static const char SQL_BUCKETS[] =
    "SELECT (minute - ?3) / ?4, sum(requests), sum(commands), sum(billable_commands),"
    " sum(bytes_in), sum(bytes_out),"
    " sum(CASE WHEN outcome IN (6, 9) THEN 0 ELSE errors END),"
    " sum(CASE WHEN outcome IN (6, 9) THEN requests ELSE 0 END)"
    " FROM meter_rollups WHERE tenant_id = ?1 AND database_id = ?2"
    " AND minute >= ?3 AND minute < ?5 GROUP BY 1";

static int add_buckets(sqlite3 *db, cJSON *out, const char *tenant, const char *database_id,
                       int64_t from, int64_t step, int64_t nb, tg_err *err)
{
    int64_t (*v)[V_N] = xcalloc((size_t)nb, sizeof *v);
    sqlite3_stmt *st = prepare(db, SQL_BUCKETS, err);
    int rc = -1, step_rc = SQLITE_DONE;
    if (!st) goto out;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, database_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, from / 60);
    sqlite3_bind_int64(st, 4, step / 60);
    sqlite3_bind_int64(st, 5, (from + nb * step) / 60);
    while ((step_rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t b = sqlite3_column_int64(st, 0);
        if (b < 0 || b >= nb) continue;
        for (int k = 0; k < V_N; k++) v[b][k] = sqlite3_column_int64(st, k + 1);
    }
    sqlite3_finalize(st);
    if (step_rc != SQLITE_DONE) {
        db_fail(db, err, "usage");
        goto out;
    }
    cJSON *arr = cJSON_AddArrayToObject(out, "buckets");
    for (int64_t b = 0; b < nb; b++) {
        cJSON *o = cJSON_CreateObject();
        add_time(o, "t", from + b * step);
        for (int k = 0; k < V_N; k++) add_int(o, value_names[k], v[b][k]);
        cJSON_AddItemToArray(arr, o);
    }
    rc = 0;
out:
    free(v);
    return rc;
}

static int add_top_commands(sqlite3 *db, cJSON *out, const char *database_id, int64_t h0,
                            int64_t h1, tg_err *err)
{
    sqlite3_stmt *st =
        prepare_hours(db, "SELECT name, sum(commands) AS c FROM meter_command_rollups"
                          " WHERE database_id = ?1 AND hour >= ?2 AND hour < ?3"
                          " GROUP BY name ORDER BY c DESC, name LIMIT ?4",
                      database_id, h0, h1, err);
    if (!st) return -1;
    sqlite3_bind_int(st, 4, SERIES_TOP_COMMANDS);
    cJSON *arr = cJSON_AddArrayToObject(out, "top_commands");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", (const char *)sqlite3_column_text(st, 0));
        add_int(o, "count", sqlite3_column_int64(st, 1));
        cJSON_AddItemToArray(arr, o);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, err, "usage");
}

/* Percentiles from the log-scale buckets: the upper bound of the bucket
 * holding the rank, never above the largest latency seen. */
static int add_latency(sqlite3 *db, cJSON *out, const char *database_id, int64_t h0,
                       int64_t h1, tg_err *err)
{
    sqlite3_stmt *st =
        prepare_hours(db, "SELECT bucket, sum(requests), max(max_us) FROM meter_latency"
                          " WHERE database_id = ?1 AND hour >= ?2 AND hour < ?3"
                          " GROUP BY bucket",
                      database_id, h0, h1, err);
    if (!st) return -1;
    int64_t count[DETAIL_BUCKETS] = {0}, total = 0, max = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int b = sqlite3_column_int(st, 0);
        if (b < 0 || b >= DETAIL_BUCKETS) continue;
        count[b] += sqlite3_column_int64(st, 1);
        total += sqlite3_column_int64(st, 1);
        if (sqlite3_column_int64(st, 2) > max) max = sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_fail(db, err, "usage");
    cJSON *o = cJSON_AddObjectToObject(out, "latency_us");
    static const struct {
        const char *name;
        int per_mille;
    } ps[] = {{"p50", 500}, {"p90", 900}, {"p99", 990}};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        if (!total) {
            cJSON_AddNullToObject(o, ps[i].name);
            continue;
        }
        int64_t rank = (total * ps[i].per_mille + 999) / 1000, seen = 0;
        int b = 0;
        for (; b < DETAIL_BUCKETS - 1; b++)
            if ((seen += count[b]) >= rank) break;
        int64_t v = (int64_t)detail_bucket_max(b);
        add_int(o, ps[i].name, v < max ? v : max);
    }
    if (total) add_int(o, "max", max);
    else cJSON_AddNullToObject(o, "max");
    return 0;
}

cJSON *series_usage(sqlite3 *db, const char *database_id, int64_t from_s, int64_t to_s,
                    series_step step, tg_err *err)
{
    if (check_range(from_s, to_s, err)) return NULL;
    if ((unsigned)step > SERIES_DAY) {
        tg_fail(err, 400, "step must be minute, hour or day");
        return NULL;
    }
    int64_t sec = steps[step].seconds;
    int64_t from = from_s / sec * sec, to = (to_s + sec - 1) / sec * sec, nb = (to - from) / sec;
    if (nb > SERIES_MAX_BUCKETS) {
        tg_fail(err, 400, "from..to holds %lld %ss: at most %d buckets (choose a longer step"
                " or a shorter range)", (long long)nb, steps[step].name, SERIES_MAX_BUCKETS);
        return NULL;
    }
    if (begin(db, err)) return NULL;
    char tenant[METER_ID_MAX];
    cJSON *out = NULL;
    if (database_tenant(db, database_id, tenant, err)) goto out;
    out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "database_id", database_id);
    add_time(out, "from", from);
    add_time(out, "to", to);
    cJSON_AddStringToObject(out, "step", steps[step].name);
    int64_t h0 = from / 3600, h1 = (to + 3599) / 3600;
    if (add_buckets(db, out, tenant, database_id, from, sec, nb, err) ||
        add_top_commands(db, out, database_id, h0, h1, err) ||
        add_latency(db, out, database_id, h0, h1, err)) {
        cJSON_Delete(out);
        out = NULL;
    }
out:
    end(db);
    return out;
}

/* ==== Usage per token ==== */

/* Per token, plan (the tenant's in that hour) and whether its commands bill. */
static const char SQL_TOKENS[] =
    "WITH r AS ("
    " SELECT t.jti, t.outcome, t.requests, t.commands, t.billable_commands, t.bytes_in,"
    "  t.bytes_out,"
    "  coalesce((SELECT pa.plan_id FROM plan_assignments pa WHERE pa.tenant_id = t.tenant_id"
    "            AND pa.effective_from <= t.hour * 3600"
    "            ORDER BY pa.effective_from DESC LIMIT 1),"
    "           (SELECT id FROM plans WHERE is_default = 1)) AS plan_id"
    " FROM meter_token_rollups t WHERE t.database_id = ?1 AND t.hour >= ?2 AND t.hour < ?3)"
    " SELECT jti, plan_id, sum(requests), sum(commands), sum(billable_commands),"
    "  sum(CASE WHEN EXISTS (SELECT 1 FROM plan_billable_outcomes b"
    "                        WHERE b.plan_id = r.plan_id AND b.outcome = r.outcome)"
    "      THEN billable_commands ELSE 0 END),"
    "  sum(bytes_in), sum(bytes_out)"
    " FROM r GROUP BY jti, plan_id ORDER BY jti";

typedef struct token_use {
    char jti[METER_ID_MAX];
    int64_t requests, commands, billable, bytes_in, bytes_out, cost;
} token_use;

static int token_cmp(const void *a, const void *b)
{
    const token_use *x = a, *y = b;
    if (x->cost != y->cost) return x->cost < y->cost ? 1 : -1;
    if (x->requests != y->requests) return x->requests < y->requests ? 1 : -1;
    return strcmp(x->jti, y->jti);
}

static int load_tokens(sqlite3 *db, const char *database_id, int64_t h0, int64_t h1,
                       token_use **out, size_t *n, tg_err *err)
{
    plan *plans;
    int nplans;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    if (pricing_load_plans(db, &plans, &nplans, err)) {
        err->status = 503;
        return -1;
    }
    sqlite3_stmt *st = prepare_hours(db, SQL_TOKENS, database_id, h0, h1, err);
    int rc = SQLITE_ERROR;
    if (!st) goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *jti = (const char *)sqlite3_column_text(st, 0);
        token_use *t = *n ? &(*out)[*n - 1] : NULL;
        if (!t || strcmp(t->jti, jti)) {   /* rows come sorted by jti */
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                *out = xrealloc(*out, cap * sizeof **out);
            }
            t = &(*out)[(*n)++];
            memset(t, 0, sizeof *t);
            snprintf(t->jti, sizeof t->jti, "%s", jti);
        }
        const plan *p = pricing_find(plans, nplans, (const char *)sqlite3_column_text(st, 1));
        int64_t requests = sqlite3_column_int64(st, 2), billed = sqlite3_column_int64(st, 5);
        int64_t in = sqlite3_column_int64(st, 6), outb = sqlite3_column_int64(st, 7);
        t->requests += requests;
        t->commands += sqlite3_column_int64(st, 3);
        t->billable += sqlite3_column_int64(st, 4);
        t->bytes_in += in;
        t->bytes_out += outb;
        if (p) /* each meter rounded on its own, as the export's lines are */
            t->cost += pricing_amount(billed, p->command_price_micros, p->command_price_per) +
                       pricing_amount(requests, p->request_price_micros, p->request_price_per) +
                       pricing_amount(in, p->bandwidth_price_micros, p->bandwidth_price_per) +
                       pricing_amount(outb, p->bandwidth_price_micros, p->bandwidth_price_per);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) db_fail(db, err, "usage");
out:
    free(plans);
    if (rc == SQLITE_DONE) return 0;
    free(*out);
    *out = NULL;
    *n = 0;
    return -1;
}

cJSON *series_tokens(sqlite3 *db, const char *database_id, int64_t from_s, int64_t to_s,
                     tg_err *err)
{
    if (check_range(from_s, to_s, err)) return NULL;
    int64_t h0 = from_s / 3600, h1 = (to_s + 3599) / 3600;
    if (begin(db, err)) return NULL;
    char tenant[METER_ID_MAX];
    token_use *t = NULL;
    size_t n = 0;
    cJSON *out = NULL;
    if (database_tenant(db, database_id, tenant, err) ||
        load_tokens(db, database_id, h0, h1, &t, &n, err))
        goto out;
    qsort(t, n, sizeof *t, token_cmp);
    out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "database_id", database_id);
    add_time(out, "from", h0 * 3600);
    add_time(out, "to", h1 * 3600);
    cJSON *arr = cJSON_AddArrayToObject(out, "tokens");
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "jti", t[i].jti);
        add_int(o, "requests", t[i].requests);
        add_int(o, "commands", t[i].commands);
        add_int(o, "billable_commands", t[i].billable);
        add_int(o, "bytes_in", t[i].bytes_in);
        add_int(o, "bytes_out", t[i].bytes_out);
        add_int(o, "cost_micros", t[i].cost);
        cJSON_AddItemToArray(arr, o);
    }
out:
    free(t);
    end(db);
    return out;
}

/* ==== The current bill ==== */

typedef struct bill {
    cJSON *lines;
    int64_t total;
    char currency[8];
} bill;

static void bill_line(void *arg, const usage_line *l)
{
    bill *b = arg;
    if (!b->currency[0]) snprintf(b->currency, sizeof b->currency, "%s", l->currency);
    if (!strcmp(l->line, "total")) {
        b->total += l->amount_micros;
        return;
    }
    cJSON *o = cJSON_CreateObject();
    if (l->database_id) cJSON_AddStringToObject(o, "database_id", l->database_id);
    else cJSON_AddNullToObject(o, "database_id");
    cJSON_AddStringToObject(o, "plan_id", l->plan_id);
    cJSON_AddStringToObject(o, "line", l->line);
    cJSON_AddStringToObject(o, "meter", l->meter ? l->meter : "");
    char desc[160];
    if (!strcmp(l->line, "included"))
        snprintf(desc, sizeof desc, "%s included in plan %s", l->meter, l->plan_id);
    else if (!strcmp(l->line, "adjustment"))
        snprintf(desc, sizeof desc, "%s of %s on %s, billed late", l->meter,
                 l->adjusts_period ? l->adjusts_period : "", l->database_id);
    else
        snprintf(desc, sizeof desc, "%s on %s", l->meter, l->database_id);
    cJSON_AddStringToObject(o, "description", desc);
    add_int(o, "quantity", l->quantity);
    add_int(o, "unit_price_micros", l->unit_price_micros);
    add_int(o, "price_per", l->price_per);
    add_int(o, "amount_micros", l->amount_micros);
    cJSON_AddItemToArray(b->lines, o);
}

/* The tenant's budget (LIMIT: -1 none) and its plan's currency now. */
static int tenant_info(sqlite3 *db, const char *tenant_id, int64_t now_s, int64_t *budget,
                       char *currency, tg_err *err)
{
    sqlite3_stmt *st = prepare(db,
        "SELECT t.monthly_budget_micros, coalesce((SELECT p.currency FROM plans p WHERE p.id ="
        " coalesce((SELECT plan_id FROM plan_assignments WHERE tenant_id = t.id"
        "           AND effective_from <= ?2 ORDER BY effective_from DESC LIMIT 1),"
        "          (SELECT id FROM plans WHERE is_default = 1))), 'USD')"
        " FROM tenants t WHERE t.id = ?1 AND t.deleted_at IS NULL", err);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, tenant_id ? tenant_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_s);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *budget = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
        snprintf(currency, 8, "%s", (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return 0;
    if (rc == SQLITE_DONE) return tg_fail(err, 404, "no tenant '%s'", tenant_id);
    return db_fail(db, err, "billing");
}

cJSON *billing_current(sqlite3 *db, const char *tenant_id, int64_t now_s, tg_err *err)
{
    if (now_s < 0) {
        tg_fail(err, 400, "now must be Unix seconds");
        return NULL;
    }
    if (begin(db, err)) return NULL;
    int64_t budget = -1;
    char currency[8];
    int month = period_of(now_s);
    bill b = {.lines = cJSON_CreateArray()};
    cJSON *out = NULL;
    if (tenant_info(db, tenant_id, now_s, &budget, currency, err)) goto out;
    if (usage_statement(db, month, tenant_id, bill_line, &b, err)) {
        if (err && err->status >= 500) err->status = 503;
        goto out;
    }
    out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "tenant_id", tenant_id);
    char period[PERIOD_NAME_MAX];
    period_format(month, period);
    cJSON_AddStringToObject(out, "period", period);
    add_time(out, "period_start", period_start(month));
    add_time(out, "period_end", period_start(month + 1));
    cJSON_AddStringToObject(out, "currency", b.currency[0] ? b.currency : currency);
    cJSON_AddItemToObject(out, "lines", b.lines);
    b.lines = NULL;
    add_int(out, "total_micros", b.total);
    if (budget >= 0) add_int(out, "budget_micros", budget);
    else cJSON_AddNullToObject(out, "budget_micros");
out:
    cJSON_Delete(b.lines);
    end(db);
    return out;
}
