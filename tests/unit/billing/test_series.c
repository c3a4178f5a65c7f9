/* test_series.c - billing/series.h and detail.h: the usage detail rollups
 * the writer keeps (exactly once, replays included, beyond raw retention)
 * and the dashboard API's queries on them. On throwaway SQLite files. */
#include <stdlib.h>
#include <unistd.h>

#include "billing/detail.h"
#include "billing/limits.h"
#include "billing/period.h"
#include "billing/series.h"
#include "billing/spill.h"
#include "billing/usage.h"
#include "billing/writer.h"
#include "common/mem.h"
#include "tests/unit/fixtures/state.h"
#include "tests/unit/testhelp.h"

/* 2025-11-15T12:00:00Z */
#define T0 1763208000LL

/* A fresh migrated state file with tenant t1 (databases d1, d2) and t2
 * (d3); returns its path (static buffer). */
static const char *fresh_db(void)
{
    return fx_state_path(
        "INSERT INTO tenants (id, name, created_at) VALUES ('t1','one',0),('t2','two',0);"
        "INSERT INTO databases (id, tenant_id, name, redis_url, db_index, created_at) VALUES"
        " ('d1','t1','a','redis://x',1,0),('d2','t1','b','redis://x',2,0),"
        " ('d3','t2','c','redis://x',3,0);");
}

static uint64_t next_id = 1000;

/* A row of tenant/database/jti at second t (from T0) with cmds commands
 * named "get" (and "set" when cmds > 1), latency us. */
static void make_row(meter_row *r, int64_t t, const char *tenant, const char *database,
                     const char *jti, meter_outcome outcome, uint32_t cmds, uint32_t us)
{
    memset(r, 0, sizeof *r);
    r->time_ms = (uint64_t)(T0 + t) * 1000;
    r->id = ((r->time_ms - METER_EPOCH_MS) << 22) | next_id++;
    snprintf(r->tenant_id, sizeof r->tenant_id, "%s", tenant);
    snprintf(r->database_id, sizeof r->database_id, "%s", database);
    snprintf(r->jti, sizeof r->jti, "%s", jti);
    r->commands = cmds;
    r->billable_commands = cmds;
    r->bytes_in = 100;
    r->bytes_out = 50;
    r->backend_us = us;
    r->outcome = (uint8_t)outcome;
    r->http_status = outcome == METER_OK ? 200 : outcome == METER_RATE_LIMITED ? 429 : 413;
    meter_event e = {0};
    if (cmds) meter_event_add_command(&e, "get", 3);
    for (uint32_t i = 1; i < cmds; i++) meter_event_add_command(&e, "SET", 3);
    r->names = e.names;
}

enum { NROWS = 8 };

/* Minute 0: 3 requests of j1 (1, 2, 3 commands); minute 1: one of j2 (10
 * commands), one quota rejection and one rate-limited (no commands);
 * minute 2: one of j1 on d2; hour +1: one of j3 on d3 (tenant t2). */
static meter_batch *sample_batch(void)
{
    meter_batch *b = xcalloc(1, sizeof *b + NROWS * sizeof b->rows[0]);
    b->cap = b->n = NROWS;
    make_row(&b->rows[0], 5, "t1", "d1", "j1", METER_OK, 1, 100);
    make_row(&b->rows[1], 10, "t1", "d1", "j1", METER_OK, 2, 200);
    make_row(&b->rows[2], 20, "t1", "d1", "j1", METER_OK, 3, 5000);
    make_row(&b->rows[3], 65, "t1", "d1", "j2", METER_OK, 10, 300);
    snprintf(b->rows[3].names.e[0].name, METER_NAME_MAX, "Get");   /* one row with "get" */
    make_row(&b->rows[4], 70, "t1", "d1", "j2", METER_QUOTA_REJECTED, 0, 0);
    make_row(&b->rows[5], 75, "t1", "d1", "j1", METER_RATE_LIMITED, 0, 0);
    make_row(&b->rows[6], 130, "t1", "d2", "j1", METER_OK, 4, 100);
    make_row(&b->rows[7], 3700, "t2", "d3", "j3", METER_OK, 1, 100);
    return b;
}

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db;
    sqlite3_open(path, &db);
    return db;
}

static int64_t num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -999;
}

static const cJSON *item(const cJSON *o, const char *key, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, key), i);
}

TEST(latency_buckets)
{
    int prev = -1;
    bool ok = true;
    for (uint64_t v = 0; v < 5000000; v = v < 100 ? v + 1 : v * 21 / 20) {
        int b = detail_bucket((uint32_t)v);
        if (b < prev || b >= DETAIL_BUCKETS || detail_bucket_max(b) < v) ok = false;
        if (b > 0 && detail_bucket_max(b - 1) >= v) ok = false;     /* the right bucket */
        if (v >= 4 && detail_bucket_max(b) > v + v / 4) ok = false; /* at most 25% wide */
        prev = b;
    }
    CHECK(ok);
    CHECK(detail_bucket(UINT32_MAX) < DETAIL_BUCKETS);
    CHECK(detail_bucket_max(detail_bucket(UINT32_MAX)) == UINT32_MAX);
    CHECK(detail_bucket(3) == 3 && detail_bucket(4) == 4 && detail_bucket(7) == 7 &&
          detail_bucket(8) == 8 && detail_bucket(10) == 9);
}

TEST(series_from_writer_exactly_once)
{
    const char *path = fresh_db();
    tg_err err;
    meter_writer *w = meter_writer_open(path, false, &err);
    meter_batch *b = sample_batch();
    meter_commit_stats st;
    CHECK(meter_writer_commit(w, b, &st, &err) == 0 && st.inserted == NROWS);
    CHECK(meter_writer_commit(w, b, &st, &err) == 0 && st.duplicates == NROWS);
    sqlite3 *db = open_db(path);
    cJSON *s = series_usage(db, "d1", T0, T0 + 180, SERIES_MINUTE, &err);
    CHECK(s != NULL);
    if (s) {
        CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(s, "buckets")) == 3);
        const cJSON *b0 = item(s, "buckets", 0), *b1 = item(s, "buckets", 1);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(b0, "t")), "2025-11-15T12:00:00Z");
        CHECK(num(b0, "requests") == 3 && num(b0, "commands") == 6 && num(b0, "errors") == 0);
        CHECK(num(b0, "bytes_in") == 300 && num(b0, "bytes_out") == 150);
        CHECK(num(b1, "requests") == 3 && num(b1, "commands") == 10);
        CHECK(num(b1, "quota_rejected") == 2 && num(b1, "errors") == 0);
        CHECK(num(item(s, "buckets", 2), "requests") == 0);   /* d2's row is not d1's */
        const cJSON *top = item(s, "top_commands", 0);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(top, "name")), "SET");
        CHECK(num(top, "count") == 12);                       /* 1 + 2 + 9 */
        top = item(s, "top_commands", 1);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(top, "name")), "GET");
        CHECK(num(top, "count") == 4);
        const cJSON *lat = cJSON_GetObjectItem(s, "latency_us");
        /* 100, 200, 300, 5000: p50 in 200's bucket, p99 the max. */
        CHECK(num(lat, "max") == 5000 && num(lat, "p99") == 5000);
        CHECK(num(lat, "p50") >= 200 && num(lat, "p50") <= 250);
        cJSON_Delete(s);
    }
    /* Hour step: one bucket, aligned down. */
    s = series_usage(db, "d1", T0 + 30, T0 + 100, SERIES_HOUR, &err);
    CHECK(s && num(item(s, "buckets", 0), "requests") == 6 &&
          cJSON_GetArraySize(cJSON_GetObjectItem(s, "buckets")) == 1);
    cJSON_Delete(s);
    /* A range without traffic: zeros, null latency. */
    s = series_usage(db, "d1", T0 - 7200, T0 - 3600, SERIES_MINUTE, &err);
    CHECK(s && cJSON_GetArraySize(cJSON_GetObjectItem(s, "buckets")) == 60);
    CHECK(s && cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "latency_us"), "p50")));
    cJSON_Delete(s);
    sqlite3_close(db);
    free(b);
    meter_writer_free(w);
}

TEST(tokens_beyond_retention)
{
    const char *path = fresh_db();
    tg_err err;
    meter_writer *w = meter_writer_open(path, false, &err);
    meter_batch *b = sample_batch();
    meter_commit_stats st;
    CHECK(meter_writer_commit(w, b, &st, &err) == 0);
    uint64_t deleted;
    CHECK(meter_writer_prune(w, (uint64_t)(T0 + 86400) * 1000, 0, &deleted, &err) == 0);
    CHECK(deleted == NROWS);
    sqlite3 *db = open_db(path);
    cJSON *s = series_tokens(db, "d1", T0, T0 + 60, &err);
    CHECK(s && cJSON_GetArraySize(cJSON_GetObjectItem(s, "tokens")) == 2);
    if (s) {
        /* payg: 2 micros a command (200000 per 100000); bytes round to 0. */
        const cJSON *t0 = item(s, "tokens", 0), *t1 = item(s, "tokens", 1);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(t0, "jti")), "j2");
        CHECK(num(t0, "requests") == 2 && num(t0, "commands") == 10 &&
              num(t0, "cost_micros") == 20);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(t1, "jti")), "j1");
        CHECK(num(t1, "requests") == 4 && num(t1, "billable_commands") == 6 &&
              num(t1, "cost_micros") == 12 && num(t1, "bytes_in") == 400);
    }
    cJSON_Delete(s);
    /* Latency and top commands too outlive the raw events. */
    s = series_usage(db, "d1", T0, T0 + 3600, SERIES_HOUR, &err);
    CHECK(s && num(cJSON_GetObjectItem(s, "latency_us"), "max") == 5000);
    CHECK(s && num(item(s, "top_commands", 0), "count") == 12);
    cJSON_Delete(s);
    sqlite3_close(db);
    free(b);
    meter_writer_free(w);
}

TEST(replayed_spill_counts_once)
{
    const char *path = fresh_db();
    char spill[300];
    snprintf(spill, sizeof spill, "%s.spill", path);
    tg_err err;
    meter_writer *w = meter_writer_open(path, false, &err);
    meter_batch *b = sample_batch();
    meter_commit_stats st;
    CHECK(meter_writer_commit(w, b, &st, &err) == 0);   /* committed, then spilled too */
    meter_spill *sp = meter_spill_new(spill);
    CHECK(meter_spill_append(sp, b->rows, NROWS, &err) == 0);
    meter_spill_free(sp);
    CHECK(meter_writer_replay(w, spill, 3, &st, &err) == 0 && st.inserted == 0);
    sqlite3 *db = open_db(path);
    cJSON *s = series_tokens(db, "d1", T0, T0 + 60, &err);
    CHECK(s && num(item(s, "tokens", 1), "requests") == 4);
    cJSON_Delete(s);
    sqlite3_close(db);
    free(b);
    meter_writer_free(w);
}

/* The detail is in the batch's transaction: when its upsert fails, the
 * events and rollups of the batch are not committed either. */
TEST(detail_failure_rolls_back_the_batch)
{
    const char *path = fresh_db();
    tg_err err;
    meter_writer *w = meter_writer_open(path, false, &err);
    meter_batch *b = sample_batch();
    meter_commit_stats st;
    sqlite3 *db = open_db(path);
    sqlite3_exec(db, "DROP TABLE meter_command_rollups", NULL, NULL, NULL);
    CHECK(meter_writer_commit(w, b, &st, &err) == -1);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM meter_raw) + (SELECT count(*) FROM"
                       " meter_rollups) + (SELECT count(*) FROM meter_token_rollups)", -1, &q, NULL);
    CHECK(sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) == 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    free(b);
    meter_writer_free(w);
}

TEST(bad_input)
{
    const char *path = fresh_db();
    sqlite3 *db = open_db(path);
    tg_err err = {0};
    series_step step;
    CHECK(series_step_parse("hour", &step) == 0 && step == SERIES_HOUR);
    CHECK(series_step_parse("week", &step) == -1 && series_step_parse(NULL, &step) == -1);
    CHECK(!series_usage(db, "d1", T0, T0, SERIES_MINUTE, &err) && err.status == 400);
    CHECK(!series_usage(db, "d1", -5, T0, SERIES_DAY, &err) && err.status == 400);
    CHECK(!series_usage(db, "d1", T0, T0 + 86400 * 30, SERIES_MINUTE, &err) &&
          err.status == 400 && strstr(err.msg, "at most"));
    CHECK(!series_usage(db, "nope", T0, T0 + 60, SERIES_MINUTE, &err) && err.status == 404);
    CHECK(!series_tokens(db, "nope", T0, T0 + 60, &err) && err.status == 404);
    CHECK(!series_tokens(db, "d1", T0 + 60, T0, &err) && err.status == 400);
    CHECK(!billing_current(db, "nope", T0, &err) && err.status == 404);
    sqlite3_exec(db, "UPDATE databases SET deleted_at = 1 WHERE id = 'd2'", NULL, NULL, NULL);
    CHECK(!series_usage(db, "d2", T0, T0 + 60, SERIES_MINUTE, &err) && err.status == 404);
    /* A database that cannot be read: 503. */
    sqlite3_exec(db, "DROP TABLE meter_latency", NULL, NULL, NULL);
    CHECK(!series_usage(db, "d1", T0, T0 + 60, SERIES_MINUTE, &err) && err.status == 503);
    sqlite3_close(db);
}

/* The current bill is the export's lines for the tenant: same amounts. */
TEST(current_bill_matches_export)
{
    const char *path = fresh_db();
    tg_err err;
    meter_writer *w = meter_writer_open(path, false, &err);
    meter_batch *b = sample_batch();
    meter_commit_stats st;
    CHECK(meter_writer_commit(w, b, &st, &err) == 0);
    sqlite3 *db = open_db(path);
    /* A plan without allowances, so the amounts are not all included. */
    sqlite3_exec(db, "UPDATE plans SET included_commands = 5, included_bandwidth_bytes = 0",
                 NULL, NULL, NULL);
    cJSON *c = billing_current(db, "t1", T0 + 600, &err);
    CHECK(c != NULL);
    buf out;
    buf_init(&out);
    CHECK(usage_export(db, period_parse("2025-11"), USAGE_JSON, &out, &err) == 0);
    buf_putc(&out, '\0');
    cJSON *exp = cJSON_Parse(out.data);
    if (c && exp) {
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "period")), "2025-11");
        CHECK(cJSON_IsNull(cJSON_GetObjectItem(c, "budget_micros")));
        int64_t want_total = -1, n = 0;
        const cJSON *l;
        cJSON_ArrayForEach(l, cJSON_GetObjectItem(exp, "totals"))
            if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(l, "tenant_id")), "t1"))
                want_total = num(l, "amount_micros");
        cJSON_ArrayForEach(l, cJSON_GetObjectItem(exp, "lines"))
            if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(l, "tenant_id")), "t1") &&
                strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(l, "line")), "total"))
                n++;
        CHECK(want_total > 0 && num(c, "total_micros") == want_total);
        CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(c, "lines")) == n);
        /* 20 billable commands, 5 included: 15 * 2 micros. */
        CHECK(want_total == 30);
        const cJSON *first = item(c, "lines", 0);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(first, "database_id")), "d1");
        CHECK(cJSON_GetStringValue(cJSON_GetObjectItem(first, "description")) != NULL);
    }
    cJSON_Delete(c);
    cJSON_Delete(exp);
    buf_release(&out);
    CHECK(limits_tenant_budget(db, "t1", 5000000, &err) == 0);
    c = billing_current(db, "t1", T0 + 600, &err);
    CHECK(c && num(c, "budget_micros") == 5000000);
    cJSON_Delete(c);
    /* t2 sees only its own usage; next month: nothing yet. */
    c = billing_current(db, "t2", T0 + 600, &err);
    CHECK(c && num(c, "total_micros") == 0 &&
          cJSON_GetArraySize(cJSON_GetObjectItem(c, "lines")) == 5)   /* 4 meters, 1 included */;
    cJSON_Delete(c);
    c = billing_current(db, "t1", T0 + 40 * 86400, &err);
    CHECK(c && num(c, "total_micros") == 0 &&
          cJSON_GetArraySize(cJSON_GetObjectItem(c, "lines")) == 0);
    CHECK_STR(c ? cJSON_GetStringValue(cJSON_GetObjectItem(c, "currency")) : NULL, "USD");
    cJSON_Delete(c);
    sqlite3_close(db);
    free(b);
    meter_writer_free(w);
}

int main(void)
{
    if (fx_dir_make("tg-series")) return 1;
    RUN(latency_buckets);
    RUN(series_from_writer_exactly_once);
    RUN(tokens_beyond_retention);
    RUN(replayed_spill_counts_once);
    RUN(detail_failure_rolls_back_the_batch);
    RUN(bad_input);
    RUN(current_bill_matches_export);
    if (fx_dir_remove()) return 1;
    TEST_MAIN_END();
}
