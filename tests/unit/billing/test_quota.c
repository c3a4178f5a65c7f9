/* test_quota.c - billing/quota.h and limits.h: every limit's logic with an
 * injected clock (GCRA burst then rate, pipelines refused whole, UTC day
 * and month rollover, the budget reached exactly and equal to the export,
 * overrides none vs inherit, concurrency, sizes, data capacity, headers,
 * resets that never move back), and two threads on one database. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "billing/limits.h"
#include "billing/period.h"
#include "billing/quota.h"
#include "billing/quota_int.h"
#include "billing/usage.h"
#include "tests/unit/fixtures/state.h"
#include "tests/unit/testhelp.h"


/* 2026-11-10T00:00:00Z in ns. */
#define NOV10 (1794268800LL * NS_PER_S)
#define MS (1000000LL)

/* A state file with tenant tn_a (databases db_a, db_b); plan_with puts it
 * on plan `lim`. */
static sqlite3 *fresh_db(void)
{
    return fx_state_open(
        "INSERT INTO tenants (id, name, created_at) VALUES ('tn_a','a',0);"
        "INSERT INTO databases (id, tenant_id, name, redis_url, db_index, created_at)"
        " VALUES ('db_a','tn_a','a','redis://x',1,0), ('db_b','tn_a','b','redis://x',2,0);");
}

static int64_t prices_keep[PRICE_COUNT] = {LIMIT_KEEP, LIMIT_KEEP, LIMIT_KEEP, LIMIT_KEEP,
                                           LIMIT_KEEP, LIMIT_KEEP, LIMIT_KEEP, LIMIT_KEEP,
                                           LIMIT_KEEP, LIMIT_KEEP};

static void assign(sqlite3 *db)
{
    tg_err err;
    if (usage_plan_assign(db, "tn_a", "lim", 0, &err)) fprintf(stderr, "  assign: %s\n", err.msg);
}

/* Creates plan `lim` with the given limits (others unlimited). */
static void plan_with(sqlite3 *db, const limit_set *l)
{
    tg_err err;
    if (limits_plan_create(db, "lim", "Limited", NULL, prices_keep, l, &err))
        fprintf(stderr, "  plan: %s\n", err.msg);
    assign(db);
}

static limit_set none_set(void)
{
    limit_set l;
    for (int i = 0; i < LIMIT_COUNT; i++) l.v[i] = LIMIT_UNLIMITED;
    return l;
}

static quota *loaded(sqlite3 *db, int64_t now)
{
    quota *q = quota_new();
    tg_err err;
    if (quota_refresh(q, db, now, &err)) fprintf(stderr, "  refresh: %s\n", err.msg);
    return q;
}

static quota_ask ask_at(const char *dbid, int64_t cmds, int64_t now)
{
    quota_ask a = {.database_id = dbid, .commands = cmds, .bytes_in = 10, .now_ns = now};
    return a;
}

/* check + record + leave, as the request path will. */
static bool run(quota *q, const char *dbid, int64_t cmds, int64_t now, quota_verdict *v)
{
    quota_ask a = ask_at(dbid, cmds, now);
    bool ok = quota_check(q, &a, v);
    quota_usage u = {.outcome = ok ? 0 : 6, .billable_commands = ok ? cmds : 0,
                     .bytes_in = 10, .bytes_out = 5, .now_ns = now};
    quota_record(q, dbid, v, &u);
    quota_leave(v);
    return ok;
}

static quota_db *state(quota *q, const char *id)
{
    return (quota_db *)qmap_find(q, &q->dbs, id);
}

TEST(gcra_burst_then_steady_rate)
{
    sqlite3 *db = fresh_db();
    limit_set l = none_set();
    l.v[LIMIT_COMMANDS_PER_SECOND] = 10;
    l.v[LIMIT_BURST] = 5;
    plan_with(db, &l);
    quota *q = loaded(db, NOV10);
    quota_verdict v;
    for (int i = 0; i < 5; i++) CHECK(run(q, "db_a", 1, NOV10, &v));
    CHECK(v.npolicies == 1 && v.policies[0].remaining == 0);
    CHECK(!run(q, "db_a", 1, NOV10, &v));
    CHECK(v.refused == QUOTA_CPS && v.http_status == 429);
    CHECK_STR(v.error, "ERR max requests limit exceeded. Limit: 10, Usage: 6");
    CHECK(v.retry_after_s >= 1 && v.policies[0].reset_s == v.retry_after_s);
    /* Then one command per 100 ms, exactly. */
    int passed = 0;
    for (int64_t t = NOV10 + 100 * MS; t < NOV10 + 1100 * MS; t += 50 * MS)
        passed += run(q, "db_a", 1, t, &v);
    CHECK(passed == 10);
    /* Neighbour untouched. */
    CHECK(run(q, "db_b", 5, NOV10, &v));
    quota_free(q);
    sqlite3_close(db);
}

TEST(pipeline_refused_whole)
{
    sqlite3 *db = fresh_db();
    limit_set l = none_set();
    l.v[LIMIT_COMMANDS_PER_SECOND] = 10;
    l.v[LIMIT_DAILY_COMMANDS] = 100;
    plan_with(db, &l);
    quota *q = loaded(db, NOV10);
    quota_verdict v;
    CHECK(run(q, "db_a", 8, NOV10, &v));
    CHECK(!run(q, "db_a", 3, NOV10, &v));      /* 8 + 3 > 10: none of the 3 */
    CHECK(state(q, "db_a")->daily == 8);
    CHECK(run(q, "db_a", 2, NOV10, &v));       /* exactly the rest */
    CHECK(state(q, "db_a")->daily == 10);
    quota_free(q);
    sqlite3_close(db);
}

TEST(daily_rollover_at_utc_midnight)
{
    sqlite3 *db = fresh_db();
    limit_set l = none_set();
    l.v[LIMIT_DAILY_COMMANDS] = 3;
    plan_with(db, &l);
    int64_t late = NOV10 + 86399LL * NS_PER_S;     /* 23:59:59 */
    quota *q = loaded(db, late);
    quota_verdict v;
    CHECK(run(q, "db_a", 2, late, &v));
    CHECK(run(q, "db_a", 1, late, &v));
    CHECK(v.policies[0].remaining == 0 && v.policies[0].reset_s == 1);
    CHECK(!run(q, "db_a", 1, late, &v));
    CHECK(v.refused == QUOTA_DAILY && v.retry_after_s == 1);
    CHECK_STR(v.error, "ERR max daily request limit exceeded. Limit: 3, Usage: 4");
    CHECK(run(q, "db_a", 3, NOV10 + 86400LL * NS_PER_S, &v));   /* next day */
    quota_free(q);
    sqlite3_close(db);
}

TEST(month_rollover)
{
    sqlite3 *db = fresh_db();
    limit_set l = none_set();
    l.v[LIMIT_MONTHLY_COMMANDS] = 2;
    plan_with(db, &l);
    int64_t dec1 = period_start(period_of(NOV10 / NS_PER_S) + 1) * NS_PER_S;
    quota *q = loaded(db, dec1 - NS_PER_S);
    quota_verdict v;
    CHECK(run(q, "db_a", 2, dec1 - NS_PER_S, &v));
    CHECK(!run(q, "db_a", 1, dec1 - NS_PER_S, &v));
    CHECK(v.refused == QUOTA_MONTHLY && v.retry_after_s == 1);
    CHECK(run(q, "db_a", 2, dec1, &v));
    quota_free(q);
    sqlite3_close(db);
}

TEST(budget_reached_exactly)
{
    sqlite3 *db = fresh_db();
    limit_set l = none_set();
    int64_t prices[PRICE_COUNT];
    memcpy(prices, prices_keep, sizeof prices);
    prices[PRICE_COMMAND_MICROS] = 1000000;     /* $1 per command */
    prices[PRICE_COMMAND_PER] = 1;
    prices[PRICE_INCLUDED_COMMANDS] = 1;        /* the first one free */
    prices[PRICE_BANDWIDTH_MICROS] = 0;
    tg_err err;
    CHECK(limits_plan_create(db, "lim", "Limited", NULL, prices, &l, &err) == 0);
    assign(db);
    CHECK(limits_tenant_budget(db, "tn_a", 3000000, &err) == 0);
    quota *q = loaded(db, NOV10);
    quota_verdict v;
    /* 4 commands cost $4 minus the $1 included: $3 = the budget. */
    CHECK(run(q, "db_a", 1, NOV10, &v));
    CHECK(run(q, "db_b", 2, NOV10, &v));
    CHECK(run(q, "db_a", 1, NOV10, &v));
    CHECK(!run(q, "db_b", 1, NOV10, &v));
    CHECK(v.refused == QUOTA_BUDGET);
    CHECK_STR(v.error, "ERR monthly budget exceeded. Limit: 3000000, Usage: 3000000");
    /* Raised: allowed again within the refresh. */
    CHECK(limits_tenant_budget(db, "tn_a", 4000000, &err) == 0);
    CHECK(quota_refresh(q, db, NOV10, &err) == 0);
    CHECK(run(q, "db_b", 1, NOV10, &v));
    quota_free(q);
    sqlite3_close(db);
}

/* The engine's cost seeded from rollups equals the export's total. */
TEST(budget_seed_equals_export)
{
    sqlite3 *db = fresh_db();
    limit_set l = none_set();
    plan_with(db, &l);   /* payg prices: 500,000 commands included */
    int64_t nov_min = NOV10 / NS_PER_S / 60;
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO meter_rollups VALUES"
             " ('tn_a','db_a',%lld,0,'2026-11',10,700001,700001,12345678901,2222222222,0),"
             " ('tn_a','db_b',%lld,0,'2026-11',3,3333,3333,5,7,0),"
             " ('tn_a','db_b',%lld,5,'2026-11',1,99,99,1,1,1),"
             " ('tn_a','db_b',%lld,6,'2026-11',4,0,0,999999999999,5,4),"
             " ('tn_a','db_gone',%lld,0,'2026-11',1,1000,1000,1,1,0);",
             (long long)nov_min, (long long)nov_min - 5, (long long)nov_min,
             (long long)nov_min, (long long)nov_min - 1440);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    buf out;
    buf_init(&out);
    tg_err err;
    CHECK(usage_export(db, period_of(NOV10 / NS_PER_S), USAGE_CSV, &out, &err) == 0);
    buf_putc(&out, '\0');
    const char *total = strstr(out.data, ",total,,,,,,");
    long long want = total ? atoll(total + strlen(",total,,,,,,")) : -1;
    quota *q = loaded(db, NOV10 + 3600 * NS_PER_S);
    quota_tenant *t = state(q, "db_a")->tenant;
    CHECK(tenant_cost(t) == want);
    CHECK(state(q, "db_a")->daily == 700001);
    /* db_b: 3333 yesterday; today only an unbilled outcome (5) */
    CHECK(state(q, "db_b")->daily == 0);
    CHECK(state(q, "db_b")->monthly == 3333);
    if (tenant_cost(t) != want) fprintf(stderr, "  cost %lld, export %lld\n%s",
                                        (long long)tenant_cost(t), want, out.data);
    buf_release(&out);
    quota_free(q);
    sqlite3_close(db);
}

/* The limit names the meter stores (meter_quota_limits, migration 0010)
 * are the engine's, code for code. */
TEST(limit_codes_match_the_stored_names)
{
    sqlite3 *db = fresh_db();
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "SELECT name FROM meter_quota_limits WHERE code = ?", -1, &st,
                             NULL) == SQLITE_OK);
    for (int k = QUOTA_NONE + 1; k < QUOTA_KIND_COUNT; k++) {
        sqlite3_bind_int(st, 1, k);
        bool row = sqlite3_step(st) == SQLITE_ROW;
        CHECK(row);
        if (row) CHECK_STR((const char *)sqlite3_column_text(st, 0), quota_kind_name(k));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM meter_quota_limits", -1, &st, NULL) ==
          SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == QUOTA_KIND_COUNT - 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

TEST(override_none_vs_inherit)
{
    sqlite3 *db = fresh_db();
    limit_set l = none_set();
    l.v[LIMIT_DAILY_COMMANDS] = 2;
    plan_with(db, &l);
    tg_err err;
    limit_set o;
    limits_keep_all(&o);
    o.v[LIMIT_DAILY_COMMANDS] = LIMIT_UNLIMITED;       /* "unlimited" */
    CHECK(limits_db_set(db, "db_a", &o, &err) == 0);
    quota *q = loaded(db, NOV10);
    quota_verdict v;
    CHECK(run(q, "db_a", 5, NOV10, &v));        /* override: unlimited */
    CHECK(!run(q, "db_b", 5, NOV10, &v));       /* inherits 2 */
    o.v[LIMIT_DAILY_COMMANDS] = LIMIT_INHERIT;         /* "none": clears */
    CHECK(limits_db_set(db, "db_a", &o, &err) == 0);
    CHECK(quota_refresh(q, db, NOV10, &err) == 0);
    CHECK(!run(q, "db_a", 1, NOV10, &v) && v.refused == QUOTA_DAILY);
    o.v[LIMIT_DAILY_COMMANDS] = 100;
    CHECK(limits_db_set(db, "db_b", &o, &err) == 0);
    CHECK(quota_refresh(q, db, NOV10, &err) == 0);
    CHECK(run(q, "db_b", 50, NOV10, &v));
    int64_t parsed;
    CHECK(limits_value_parse("none", true, &parsed) == 0 && parsed == LIMIT_INHERIT);
    CHECK(limits_value_parse("none", false, &parsed) == 0 && parsed == LIMIT_UNLIMITED);
    CHECK(limits_value_parse("-5", false, &parsed) == -1);
    quota_free(q);
    sqlite3_close(db);
}

TEST(concurrent_enter_leave)
{
    sqlite3 *db = fresh_db();
    limit_set l = none_set();
    l.v[LIMIT_CONCURRENT_REQUESTS] = 2;
    plan_with(db, &l);
    quota *q = loaded(db, NOV10);
    quota_ask a = ask_at("db_a", 1, NOV10);
    quota_verdict v1, v2, v3;
    CHECK(quota_check(q, &a, &v1) && quota_check(q, &a, &v2));
    CHECK(!quota_check(q, &a, &v3) && v3.refused == QUOTA_CONCURRENT && !v3.entered);
    CHECK_STR(v3.error, "ERR max concurrent connections exceeded. Limit: 2, Usage: 3");
    quota_leave(&v1);
    quota_leave(&v1);                           /* once only */
    CHECK(quota_check(q, &a, &v3));
    quota_leave(&v2);
    quota_leave(&v3);
    CHECK(atomic_load(&state(q, "db_a")->inflight) == 0);
    quota_free(q);
    sqlite3_close(db);
}

TEST(sizes_and_data_capacity)
{
    sqlite3 *db = fresh_db();
    limit_set l = none_set();
    l.v[LIMIT_REQUEST_BYTES] = 100;
    l.v[LIMIT_RECORD_BYTES] = 50;
    l.v[LIMIT_RESPONSE_BYTES] = 1000;
    l.v[LIMIT_DATA_BYTES] = 4096;
    plan_with(db, &l);
    quota *q = loaded(db, NOV10);
    quota_ask a = ask_at("db_a", 1, NOV10);
    quota_verdict v;
    a.bytes_in = 101;
    CHECK(!quota_check(q, &a, &v) && v.http_status == 413 && v.refused == QUOTA_REQUEST_BYTES);
    CHECK_STR(v.error, "ERR max request size exceeded. Limit: 100, Usage: 101");
    a.bytes_in = 100;
    a.largest_record = 51;
    CHECK(!quota_check(q, &a, &v) && v.http_status == 413);
    CHECK_STR(v.error, "ERR max single record size exceeded. Limit: 50, Usage: 51");
    a.largest_record = 50;
    a.writes = true;
    CHECK(quota_check(q, &a, &v) && v.response_bytes_max == 1000);
    quota_verdict_refuse(&v, QUOTA_RESPONSE_BYTES, v.response_bytes_max, 1001);
    CHECK(!v.allowed && v.http_status == 413);
    CHECK_STR(v.error, "ERR max response size exceeded. Limit: 1000, Usage: 1001");
    CHECK_STR(quota_kind_name(v.refused), "response_bytes");
    quota_leave(&v);
    a.database_id = NULL;                       /* no database: nothing to limit */
    CHECK(quota_check(q, &a, &v) && !v.entered);
    a.database_id = "db_a";
    quota_data_set(q, "db_a", 4096, NOV10);
    CHECK(!quota_check(q, &a, &v) && v.refused == QUOTA_DATA_BYTES);
    CHECK_STR(v.error, "ERR DB capacity quota exceeded. Limit: 4096, Usage: 4096");
    a.writes = false;                           /* reads and deletes still work */
    CHECK(quota_check(q, &a, &v));
    quota_leave(&v);
    quota_free(q);
    sqlite3_close(db);
}

TEST(token_rate_limit)
{
    sqlite3 *db = fresh_db();
    limit_set l = none_set();
    plan_with(db, &l);
    quota *q = loaded(db, NOV10);
    quota_ask a = ask_at("db_a", 1, NOV10);
    a.token_id = "jti1";
    a.token_rate = 2;
    quota_verdict v;
    CHECK(quota_check(q, &a, &v));
    quota_leave(&v);
    CHECK(quota_check(q, &a, &v));
    quota_leave(&v);
    CHECK(!quota_check(q, &a, &v) && v.refused == QUOTA_TOKEN_RATE);
    a.token_id = "jti2";                        /* another token, own bucket */
    CHECK(quota_check(q, &a, &v));
    quota_leave(&v);
    quota_free(q);
    sqlite3_close(db);
}

TEST(headers_and_resets_never_move_back)
{
    sqlite3 *db = fresh_db();
    limit_set l = none_set();
    l.v[LIMIT_COMMANDS_PER_SECOND] = 4;
    l.v[LIMIT_BURST] = 8;
    l.v[LIMIT_DAILY_COMMANDS] = 1000;
    plan_with(db, &l);
    quota *q = loaded(db, NOV10);
    quota_verdict v;
    CHECK(run(q, "db_a", 1, NOV10, &v));
    char pol[QUOTA_HEADER_MAX], rl[QUOTA_HEADER_MAX], num[24];
    CHECK_STR(quota_headers(&v, pol, sizeof pol, rl, sizeof rl),
              "\"cps\";q=4;w=1, \"daily\";q=1000;w=86400");
    CHECK_STR(rl, "\"cps\";r=7;t=1");
    quota_format_i64(-9223372036854775807LL - 1, num, sizeof num);
    CHECK_STR(num, "-9223372036854775808");
    quota_format_i64(0, num, sizeof num);
    CHECK_STR(num, "0");
    int64_t last_at[QUOTA_POLICIES_MAX] = {0};
    bool monotone = true, retry_ok = true;
    srand(7);
    int64_t t = NOV10;
    for (int i = 0; i < 3000; i++) {
        t += (rand() % 400) * MS;
        run(q, "db_a", 1 + rand() % 3, t, &v);
        for (int k = 0; k < v.npolicies; k++) {
            int64_t at = t / NS_PER_S + v.policies[k].reset_s;
            if (at < last_at[k]) monotone = false;
            last_at[k] = at;
        }
        if (!v.allowed && v.tightest >= 0 &&
            v.retry_after_s < v.policies[v.tightest].reset_s)
            retry_ok = false;
    }
    CHECK(monotone);
    CHECK(retry_ok);
    quota_free(q);
    sqlite3_close(db);
}

typedef struct hammer {
    quota *q;
    int n;
} hammer;

static void *hammer_main(void *arg)
{
    hammer *h = arg;
    quota_verdict v;
    for (int i = 0; i < h->n; i++) run(h->q, "db_a", 1, NOV10 + i, &v);
    return NULL;
}

TEST(two_threads_one_database_counts_exact)
{
    sqlite3 *db = fresh_db();
    limit_set l = none_set();
    l.v[LIMIT_DAILY_COMMANDS] = 150000;
    plan_with(db, &l);
    quota *q = loaded(db, NOV10);
    hammer h = {q, 100000};
    pthread_t a, b;
    pthread_create(&a, NULL, hammer_main, &h);
    pthread_create(&b, NULL, hammer_main, &h);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    quota_db *d = state(q, "db_a");
    CHECK(d->daily == 150000);                  /* exactly the cap, never more */
    CHECK(d->tenant->cur_cmd_q == 150000);
    CHECK(d->tenant->cur_cmd_q + 0 == d->bq[BQ_COMMANDS]);
    CHECK(d->bq[BQ_REQUESTS] == 150000);        /* every admitted request; a */
    CHECK(d->bandwidth == 150000 * 15);         /* refusal costs nothing */
    CHECK(atomic_load(&d->inflight) == 0);
    quota_free(q);
    sqlite3_close(db);
}

/* A worker's settlements: the common case waits for the flush (one lock
 * per database), anything else is settled at once; the sums end exact. */
TEST(local_settlement_flushes_exact_sums)
{
    sqlite3 *db = fresh_db();
    limit_set l = none_set();
    l.v[LIMIT_DAILY_COMMANDS] = 5;
    plan_with(db, &l);
    quota *q = loaded(db, NOV10);
    quota_local *ql = quota_local_new(q);
    quota_db *d = state(q, "db_a");
    quota_verdict v;
    for (int i = 0; i < 7; i++) {
        quota_ask a = ask_at("db_a", 1, NOV10 + i);
        bool ok = quota_check(q, &a, &v);
        CHECK(ok == (i < 5));
        quota_usage u = {.outcome = ok ? 0 : 6, .billable_commands = ok ? 1 : 0,
                         .bytes_in = 10, .bytes_out = 5, .now_ns = NOV10 + i};
        quota_record_local(ql, "db_a", &v, &u);
        quota_leave(&v);
    }
    /* Before the flush: commands counted at the checks, bytes_in reserved;
     * the refusals cost nothing (nothing to settle). */
    CHECK(d->daily == 5 && d->bq[BQ_COMMANDS] == 5);
    CHECK(d->bq[BQ_REQUESTS] == 0 && d->bandwidth == 50);
    quota_local_flush(ql);
    CHECK(d->daily == 5 && d->bq[BQ_COMMANDS] == 5);
    CHECK(d->bq[BQ_REQUESTS] == 5 && d->bq[BQ_BYTES_IN] == 50 && d->bq[BQ_BYTES_OUT] == 25);
    CHECK(d->bandwidth == 75);
    /* A request billed other than reserved (its answer lost before it was
     * sent: no commands bill) is settled at once. */
    quota_ask a = ask_at("db_a", 1, NOV10 + 86400 * NS_PER_S);   /* the next day */
    CHECK(quota_check(q, &a, &v));
    quota_usage u = {.outcome = 5, .billable_commands = 0, .bytes_in = 10, .bytes_out = 5,
                     .now_ns = NOV10 + 86400 * NS_PER_S};
    quota_record_local(ql, "db_a", &v, &u);
    quota_leave(&v);
    CHECK(d->daily == 0 && d->bq[BQ_REQUESTS] == 6 && d->bandwidth == 90);
    quota_local_free(ql);
    quota_local_free(NULL);
    quota_free(q);
    sqlite3_close(db);
}

TEST(usage_json)
{
    sqlite3 *db = fresh_db();
    limit_set l = none_set();
    l.v[LIMIT_DAILY_COMMANDS] = 10;
    plan_with(db, &l);
    quota *q = loaded(db, NOV10);
    quota_verdict v;
    run(q, "db_a", 4, NOV10, &v);
    buf out;
    buf_init(&out);
    tg_err err;
    CHECK(quota_usage_json(q, "db_a", NOV10, &out, &err) == 0);
    buf_putc(&out, '\0');
    CHECK(strstr(out.data, "\"daily_commands\":{\"limit\":10,\"used\":4,\"remaining\":6,"
                           "\"reset_s\":86400}") != NULL);
    CHECK(strstr(out.data, "\"plan_id\":\"lim\"") != NULL);
    CHECK(quota_usage_json(q, "db_nope", NOV10, &out, &err) == -1 && err.status == 404);
    buf_release(&out);
    quota_free(q);
    sqlite3_close(db);
}

int main(void)
{
    if (fx_dir_make("tg-quota")) return 1;
    RUN(gcra_burst_then_steady_rate);
    RUN(pipeline_refused_whole);
    RUN(daily_rollover_at_utc_midnight);
    RUN(month_rollover);
    RUN(budget_reached_exactly);
    RUN(budget_seed_equals_export);
    RUN(limit_codes_match_the_stored_names);
    RUN(override_none_vs_inherit);
    RUN(concurrent_enter_leave);
    RUN(sizes_and_data_capacity);
    RUN(token_rate_limit);
    RUN(headers_and_resets_never_move_back);
    RUN(two_threads_one_database_counts_exact);
    RUN(local_settlement_flushes_exact_sums);
    RUN(usage_json);
    if (fx_dir_remove()) return 1;
    TEST_MAIN_END();
}
