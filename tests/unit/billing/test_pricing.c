/* test_pricing.c - billing/pricing.h, period.h, usage.h, admin_auth.h:
 * money arithmetic, periods, statements (determinism, allowances, plan
 * changes, closing and late-event adjustments), admin tokens. */
#include <stdlib.h>
#include <unistd.h>

#include "auth/admin_token.h"
#include "billing/period.h"
#include "billing/pricing.h"
#include "billing/usage.h"
#include "billing/writer.h"
#include "migrations/migrate.h"
#include "tests/unit/testhelp.h"

static char dir[] = "/tmp/tg-pricing-XXXXXX";
static int nfile;

static sqlite3 *fresh_db(char *path, size_t cap)
{
    tg_err err;
    snprintf(path, cap, "%s/state-%d.db", dir, ++nfile);
    sqlite3 *db = migrate_open(path, &err);
    if (!db || migrate_apply(db, NULL, &err)) fprintf(stderr, "  migrate: %s\n", err.msg);
    sqlite3_exec(db, "INSERT INTO tenants (id, name, created_at, deleted_at)"
                     " VALUES ('tn_a','a',0,NULL),('tn_b','b',0,NULL);"
                     "INSERT INTO plans (id, name, command_price_micros, command_price_per,"
                     " included_commands, bandwidth_price_micros, bandwidth_price_per,"
                     " storage_price_micros, storage_price_per, created_at)"
                     " VALUES ('pro', 'Pro', 100000, 100000, 0, 10000, 1000000000, 0, 1, 0);"
                     "INSERT INTO plan_billable_outcomes VALUES ('pro', 0);",
                 NULL, NULL, NULL);
    return db;
}

/* 2026-11-10T00:00:00Z and 2026-10-20T00:00:00Z, in ms. */
#define NOV_MS 1794268800000ULL
#define OCT_MS 1792454400000ULL

static uint64_t next_id = 1000;
static int commit_limit;   /* the quota limit of the rows commit() makes */

/* Commits n events of `cmds` commands each through the real writer. */
static void commit(const char *path, uint64_t t, const char *tenant, const char *database,
                   meter_outcome outcome, uint32_t cmds, int n)
{
    tg_err err;
    meter_writer *w = meter_writer_open(path, false, &err);
    meter_batch *b = calloc(1, sizeof *b + (size_t)n * sizeof b->rows[0]);
    b->cap = (size_t)n;
    for (int i = 0; i < n; i++) {
        meter_row *r = &b->rows[b->n++];
        r->id = next_id++;
        r->time_ms = t;
        snprintf(r->tenant_id, sizeof r->tenant_id, "%s", tenant);
        snprintf(r->database_id, sizeof r->database_id, "%s", database);
        r->commands = r->billable_commands = cmds;
        r->bytes_in = 100;
        r->bytes_out = 1000;
        r->http_status = 200;
        r->outcome = (uint8_t)outcome;
        r->quota_limit = (uint8_t)commit_limit;
    }
    meter_commit_stats ins;
    if (meter_writer_commit(w, b, &ins, &err)) fprintf(stderr, "  commit: %s\n", err.msg);
    free(b);
    meter_writer_free(w);
}

static char *export_text(sqlite3 *db, const char *period, usage_format f)
{
    buf out;
    tg_err err;
    buf_init(&out);
    if (usage_export(db, period_parse(period), f, &out, &err)) {
        fprintf(stderr, "  export: %s\n", err.msg);
        buf_release(&out);
        return strdup("");
    }
    buf_putc(&out, '\0');
    return buf_detach(&out, NULL);
}

/* The CSV line of tenant/database/line/meter (first match), or NULL. */
static const char *find_line(const char *csv, const char *needle)
{
    static char linebuf[512];
    const char *p = strstr(csv, needle);
    if (!p) return NULL;
    while (p > csv && p[-1] != '\n') p--;
    const char *e = strchr(p, '\n');
    snprintf(linebuf, sizeof linebuf, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
    return linebuf;
}

/* ==== Money and periods ==== */

TEST(amounts_are_exact_integers)
{
    CHECK(pricing_amount(100000, 200000, 100000) == 200000);   /* $0.20 */
    CHECK(pricing_amount(1, 200000, 100000) == 2);
    CHECK(pricing_amount(1000000000, 30000, 1000000000) == 30000);   /* 1 GB: $0.03 */
    CHECK(pricing_amount(1, 30000, 1000000000) == 0);
    CHECK(pricing_amount(16667, 30000, 1000000000) == 1);   /* 0.50001 rounds up */
    CHECK(pricing_amount(16666, 30000, 1000000000) == 0);   /* 0.49998 rounds down */
    CHECK(pricing_amount(-16667, 30000, 1000000000) == -1);
    /* 9.2e18 bytes at $0.03/GB: no overflow in the product. */
    CHECK(pricing_amount(INT64_MAX, 30000, 1000000000) == 276701161105643LL);
    CHECK(pricing_amount(INT64_MAX, INT64_MAX, 1) == INT64_MAX);
    CHECK(pricing_amount(5, 1, 0) == 0);
}

TEST(periods)
{
    CHECK(period_parse("2026-11") == 2026 * 12 + 10);
    CHECK(period_parse("2026-13") == -1);
    CHECK(period_parse("2026-1") == -1);
    CHECK(period_parse("2026-011") == -1);
    CHECK(period_parse(NULL) == -1);
    char s[PERIOD_NAME_MAX], iso[24];
    period_format(period_parse("2026-12") + 1, s);
    CHECK_STR(s, "2027-01");
    CHECK(period_start(period_parse("2026-11")) == 1793491200);
    CHECK(period_of(1793491200) == period_parse("2026-11"));
    CHECK(period_of(1793491199) == period_parse("2026-10"));
    CHECK(period_of(1709164800) == period_parse("2024-02"));   /* 2024-02-29 */
    period_iso8601(1764547199, iso);
    CHECK_STR(iso, "2025-11-30T23:59:59Z");
}

/* ==== Statements ==== */

TEST(export_lines_prices_and_allowances)
{
    char path[256];
    sqlite3 *db = fresh_db(path, sizeof path);
    /* tn_a: 400,000 + 300,000 commands on two databases; 1000 redis
     * errors (billable); 50 backend failures (not billable). */
    commit(path, NOV_MS, "tn_a", "db_1", METER_OK, 4000, 100);
    commit(path, NOV_MS + 60000, "tn_a", "db_2", METER_OK, 3000, 100);
    commit(path, NOV_MS, "tn_a", "db_2", METER_REDIS_ERROR, 1, 1000);
    commit(path, NOV_MS, "tn_a", "db_2", METER_BACKEND_UNAVAILABLE, 10, 50);
    commit(path, NOV_MS, "", "", METER_AUTH_FAILURE, 0, 5);   /* never a line */
    char *csv = export_text(db, "2026-11", USAGE_CSV);
    const char *l = find_line(csv, "db_1,payg,usage,commands");
    CHECK(l && strstr(l, ",400000,200000,100000,800000,USD"));
    l = find_line(csv, "db_2,payg,usage,commands");
    CHECK(l && strstr(l, ",301000,200000,100000,602000,USD"));
    l = find_line(csv, "db_2,payg,usage,requests");
    CHECK(l && strstr(l, ",1150,0,1,0,USD"));
    l = find_line(csv, "db_2,payg,usage,bytes_out");
    CHECK(l && strstr(l, ",1150000,30000,1000000000,35,USD"));
    /* 500,000 included commands: $1.00 off. */
    l = find_line(csv, "tn_a,,payg,included,commands");
    CHECK(l && strstr(l, ",-500000,200000,100000,-1000000,USD"));
    l = find_line(csv, "tn_a,,payg,total");
    CHECK(l && strstr(l, ",402000,USD"));
    CHECK(!strstr(csv, ",,,,payg"));   /* no line for unauthenticated requests */
    /* Deterministic: same data, same bytes, in both formats. */
    char *again = export_text(db, "2026-11", USAGE_CSV);
    CHECK_STR(again, csv);
    char *j1 = export_text(db, "2026-11", USAGE_JSON), *j2 = export_text(db, "2026-11", USAGE_JSON);
    CHECK_STR(j1, j2);
    CHECK(strstr(j1, "\"totals\":[\n{\"tenant_id\":\"tn_a\",\"amount_micros\":402000") != NULL);
    /* An empty period: just the header. */
    char *empty = export_text(db, "2026-09", USAGE_CSV);
    CHECK(strchr(empty, '\n') == empty + strlen(empty) - 1);
    free(csv);
    free(again);
    free(j1);
    free(j2);
    free(empty);
    sqlite3_close(db);
}

TEST(plan_change_takes_effect_from_its_time)
{
    char path[256];
    sqlite3 *db = fresh_db(path, sizeof path);
    tg_err err;
    /* tn_b moves to 'pro' on 2026-11-20: ok-only billing, $0.10/100k. */
    CHECK(usage_plan_assign(db, "tn_b", "pro", 1795132800, &err) == 0);
    CHECK(usage_plan_assign(db, "tn_b", "nope", 1795132800, &err) == -1);
    commit(path, NOV_MS, "tn_b", "db_1", METER_OK, 1000, 100);                 /* payg */
    commit(path, 1795219200000ULL, "tn_b", "db_1", METER_OK, 1000, 100);        /* pro */
    commit(path, 1795219200000ULL, "tn_b", "db_1", METER_REDIS_ERROR, 1, 10);   /* pro: free */
    char *csv = export_text(db, "2026-11", USAGE_CSV);
    const char *l = find_line(csv, "db_1,payg,usage,commands");
    CHECK(l && strstr(l, ",100000,200000,100000,200000,USD"));
    l = find_line(csv, "db_1,pro,usage,commands");
    CHECK(l && strstr(l, ",100000,100000,100000,100000,USD"));
    /* Allowances follow the plan at the period's end: pro has none. */
    CHECK(find_line(csv, "included,commands") == NULL);
    /* Bandwidth: 100 kB out on payg (3 micro-dollars), 110 kB on pro (1). */
    l = find_line(csv, "tn_b,,pro,total");
    CHECK(l && strstr(l, ",300004,USD"));
    free(csv);
    sqlite3_close(db);
}

TEST(closed_period_is_frozen_and_late_events_adjust_the_next)
{
    char path[256];
    sqlite3 *db = fresh_db(path, sizeof path);
    tg_err err;
    commit(path, OCT_MS, "tn_a", "db_1", METER_OK, 10000, 100);   /* 1M commands */
    int oct = period_parse("2026-10");
    /* Not before its end plus the grace period, unless forced. */
    CHECK(usage_close(db, oct, period_start(oct + 1) + 10, 86400, false, &err) == -1);
    CHECK(err.status == 400);
    CHECK(usage_close(db, oct, period_start(oct + 1) + 86400, 86400, false, &err) == 0);
    CHECK(usage_close(db, oct, period_start(oct + 1) + 86400, 86400, false, &err) == -1);
    CHECK(err.status == 409);
    char *csv1 = export_text(db, "2026-10", USAGE_CSV);
    char *json1 = export_text(db, "2026-10", USAGE_JSON);
    CHECK(strstr(json1, "\"closed\":true") != NULL);
    /* Late October events arrive (a replayed spill file). */
    commit(path, OCT_MS + 3600000, "tn_a", "db_1", METER_OK, 1000, 50);
    char *csv2 = export_text(db, "2026-10", USAGE_CSV);
    char *json2 = export_text(db, "2026-10", USAGE_JSON);
    CHECK_STR(csv2, csv1);
    CHECK_STR(json2, json1);
    /* They are billed in November as a visible adjustment. */
    commit(path, NOV_MS, "tn_a", "db_1", METER_OK, 1, 10);
    char *nov = export_text(db, "2026-11", USAGE_CSV);
    const char *l = find_line(nov, "db_1,payg,adjustment,commands,2026-10");
    CHECK(l && strstr(l, ",50000,200000,100000,100000,USD"));
    l = find_line(nov, "db_1,payg,usage,commands");
    CHECK(l && strstr(l, ",10,200000,"));
    /* Usage lines come before adjustment lines. */
    CHECK(strstr(nov, "usage,commands") < strstr(nov, "adjustment,commands"));
    free(csv1);
    free(csv2);
    free(json1);
    free(json2);
    free(nov);
    sqlite3_close(db);
}

/* ==== Admin tokens ==== */

#define ADMIN_SECRET "admin-secret-admin-secret-admin-secret"

/* Requests a quota limit refused: a `rejected` line per database and limit
 * (the limit's name as the meter, amount 0), and in no priced meter unless
 * the plan bills quota_rejected. */
TEST(export_shows_rejections_per_limit_unbilled)
{
    char path[256];
    sqlite3 *db = fresh_db(path, sizeof path);
    tg_err err;
    CHECK(usage_plan_assign(db, "tn_b", "pro", 0, &err) == 0);
    sqlite3_exec(db, "UPDATE plans SET request_price_micros = 1000 WHERE id = 'pro'", NULL,
                 NULL, NULL);
    commit(path, NOV_MS, "tn_b", "db_1", METER_OK, 1, 10);
    commit_limit = 4;   /* daily_commands */
    commit(path, NOV_MS, "tn_b", "db_1", METER_QUOTA_REJECTED, 0, 5);
    commit_limit = 1;   /* commands_per_second */
    commit(path, NOV_MS + 60000, "tn_b", "db_1", METER_QUOTA_REJECTED, 0, 2);
    commit_limit = 0;
    char *csv = export_text(db, "2026-11", USAGE_CSV);
    const char *l = find_line(csv, "tn_b,db_1,pro,rejected,commands_per_second,");
    CHECK(l && strstr(l, ",,2,0,1,0,USD"));
    l = find_line(csv, "tn_b,db_1,pro,rejected,daily_commands,");
    CHECK(l && strstr(l, ",,5,0,1,0,USD"));
    /* Not billed: neither their requests nor their bytes. */
    l = find_line(csv, "db_1,pro,usage,requests");
    CHECK(l && strstr(l, ",10,1000,1,10000,USD"));
    l = find_line(csv, "db_1,pro,usage,bytes_in");
    CHECK(l && strstr(l, ",1000,10000,1000000000,0,USD"));
    l = find_line(csv, "tn_b,,pro,total");
    CHECK(l && strstr(l, ",10010,USD"));   /* 10 commands at 1 micro each */
    /* Rejected lines come after the usage lines, before the total. */
    CHECK(strstr(csv, "usage,requests") < strstr(csv, "rejected,commands_per_second") &&
          strstr(csv, "rejected,daily_commands") < strstr(csv, ",total,"));
    char *json = export_text(db, "2026-11", USAGE_JSON);
    CHECK(strstr(json, "\"line\":\"rejected\",\"meter\":\"daily_commands\",\"adjusts_period\":"
                       "null,\"quantity\":5,\"unit_price_micros\":0,\"price_per\":1,"
                       "\"amount_micros\":0") != NULL);
    /* A plan that bills quota_rejected prices their requests and bytes. */
    sqlite3_exec(db, "INSERT INTO plan_billable_outcomes VALUES ('pro', 6)", NULL, NULL, NULL);
    free(csv);
    csv = export_text(db, "2026-11", USAGE_CSV);
    l = find_line(csv, "db_1,pro,usage,requests");
    CHECK(l && strstr(l, ",17,1000,1,17000,USD"));
    l = find_line(csv, "tn_b,db_1,pro,rejected,daily_commands,");
    CHECK(l && strstr(l, ",,5,0,1,0,USD"));
    free(csv);
    free(json);
    sqlite3_close(db);
}

TEST(admin_tokens)
{
    tg_err err;
    time_t now = 1763208000;
    char *tok = admin_token_create(ADMIN_SECRET, 3600, now, &err);
    CHECK(tok != NULL);
    if (!tok) return;
    CHECK(admin_token_verify(ADMIN_SECRET, tok, strlen(tok), now + 10, 30, &err) == 0);
    CHECK(admin_token_verify(ADMIN_SECRET, tok, strlen(tok), now + 7200, 30, &err) == -1);
    CHECK(admin_token_verify("another-secret-another-secret-another", tok, strlen(tok), now,
                             30, &err) == -1);
    CHECK(admin_token_verify(NULL, tok, strlen(tok), now, 30, &err) == -1);
    CHECK(strstr(err.msg, "disabled") != NULL);
    CHECK(admin_token_verify(ADMIN_SECRET, tok, 5, now, 30, &err) == -1);
    CHECK(admin_token_create("short", 60, now, &err) == NULL);
    /* alg none with a role claim is refused. */
    const char *none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
                       "eyJyb2xlIjoiYWRtaW4iLCJleHAiOjk5OTk5OTk5OTl9.";
    CHECK(admin_token_verify(ADMIN_SECRET, none, strlen(none), now, 30, &err) == -1);
    free(tok);
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    RUN(amounts_are_exact_integers);
    RUN(periods);
    RUN(export_lines_prices_and_allowances);
    RUN(plan_change_takes_effect_from_its_time);
    RUN(closed_period_is_frozen_and_late_events_adjust_the_next);
    RUN(export_shows_rejections_per_limit_unbilled);
    RUN(admin_tokens);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) { /* best effort */ }
    TEST_MAIN_END();
}
