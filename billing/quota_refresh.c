/*
 * quota_refresh.c - the quota engine off the request path (quota.h):
 * loading limits, plans and budgets from SQLite, seeding new databases'
 * counters from the rollups as they were at the first refresh, the refresher thread, the usage report.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json_out.h"
#include "common/clock.h"
#include "common/mem.h"
#include "billing/period.h"
#include "billing/pricing.h"
#include "billing/quota.h"
#include "billing/quota_int.h"
#include "billing/usage.h"

/* ==== Tenants ==== */

/* Sets t's plan, prices and budget from row and plans (tenant lock held).
 * Another plan than before: the lines so far are the old plan's, frozen
 * into the base (the export groups lines by the plan of their minute). */
static void tenant_set(quota_tenant *t, const limits_row *row, const plan *p, bool fresh)
{
    bool plan_changed = !fresh && strcmp(t->plan_id, row->plan_id);
    if (plan_changed) {
        t->base_total += t->cur_total;
        t->base_cmd_q += t->cur_cmd_q;
        t->base_cmd_amt += t->cur_cmd_amt;
        t->base_bw_q += t->cur_bw_q;
        t->base_bw_amt += t->cur_bw_amt;
        t->cur_total = t->cur_cmd_q = t->cur_cmd_amt = t->cur_bw_q = t->cur_bw_amt = 0;
        for (quota_db *d = t->dbs; d; d = d->tenant_next) memset(d->bq, 0, sizeof d->bq);
    }
    snprintf(t->plan_id, sizeof t->plan_id, "%s", row->plan_id);
    t->billable = row->billable_outcomes;
    t->budget = row->budget_micros;
    if (!p) return;
    int64_t price[BQ_COUNT] = {p->command_price_micros, p->request_price_micros,
                               p->bandwidth_price_micros, p->bandwidth_price_micros};
    int64_t per[BQ_COUNT] = {p->command_price_per, p->request_price_per,
                             p->bandwidth_price_per, p->bandwidth_price_per};
    bool prices_changed = memcmp(price, t->price, sizeof price) || memcmp(per, t->per, sizeof per);
    memcpy(t->price, price, sizeof price);
    memcpy(t->per, per, sizeof per);
    t->included_commands = p->included_commands;
    t->included_bandwidth = p->included_bandwidth_bytes;
    if (prices_changed && !fresh) tenant_recompute(t);
}

/* ==== Seeding new databases from the rollups ==== */

typedef struct seed {
    quota *q;
    quota_db **fresh;            /* databases created by this refresh, sorted by id */
    int nfresh;
    quota_tenant **fresh_tenants; /* tenants created by this refresh */
    int nfresh_tenants;
    bool daily;                  /* rows are today's (else the month's) */
    int month;
    const plan *plans;
    int nplans;
} seed;

static int by_node_id(const void *a, const void *b)
{
    return strcmp((*(qnode *const *)a)->id, (*(qnode *const *)b)->id);
}

static void *find_sorted(void *arr, int n, const char *id)
{
    qnode key, *kp = &key;
    snprintf(key.id, sizeof key.id, "%s", id);
    void **hit = bsearch(&kp, arr, (size_t)n, sizeof(void *), by_node_id);
    return hit ? *hit : NULL;
}

static void seed_row(void *arg, const usage_row *r)
{
    seed *s = arg;
    quota_db *d = find_sorted(s->fresh, s->nfresh, r->database_id);
    if (s->daily) {
        if (d) d->daily += r->commands;
        return;
    }
    quota_tenant *nt = (quota_tenant *)qmap_find(s->q, &s->q->tenants, r->tenant_id);
    if (nt && !nt->fresh) nt = NULL;
    quota_tenant *t = d ? d->tenant : nt;
    if (!t) return;   /* an old database of an old tenant: counted already */
    if (d) {
        d->monthly += r->commands;
        d->bandwidth += r->bytes_in + r->bytes_out;
    }
    /* Fresh states are not published yet, old tenants are locked. */
    int64_t q[BQ_COUNT] = {r->commands, r->requests, r->bytes_in, r->bytes_out};
    if (!nt) pthread_spin_lock(&t->lock);
    tenant_roll(t, s->month);
    if (d && !r->adjustment && !strcmp(r->plan_id, t->plan_id)) {
        tenant_add(t, d, q);
    } else {
        /* A line that no longer grows, priced by its own plan. */
        const plan *p = pricing_find(s->plans, s->nplans, r->plan_id);
        if (p) {
            int64_t c = pricing_amount(q[0], p->command_price_micros, p->command_price_per);
            int64_t rq = pricing_amount(q[1], p->request_price_micros, p->request_price_per);
            int64_t bi = pricing_amount(q[2], p->bandwidth_price_micros, p->bandwidth_price_per);
            int64_t bo = pricing_amount(q[3], p->bandwidth_price_micros, p->bandwidth_price_per);
            t->base_total += c + rq + bi + bo;
            t->base_cmd_q += q[0];
            t->base_cmd_amt += c;
            t->base_bw_q += q[2] + q[3];
            t->base_bw_amt += bi + bo;
        }
    }
    if (!nt) pthread_spin_unlock(&t->lock);
}

/* ==== Refresh ==== */

static quota_db *db_new(quota *q, const limits_row *row, quota_tenant *t)
{
    quota_db *d = xcalloc(1, sizeof *d);
    pthread_spin_init(&d->lock, PTHREAD_PROCESS_PRIVATE);
    qnode_key(q, &d->node, row->database_id);
    d->tenant = t;
    memcpy(d->lim, row->effective.v, sizeof d->lim);
    atomic_store(&d->data_bytes, -1);
    return d;
}

static quota_tenant *tenant_new(quota *q, const char *id)
{
    quota_tenant *t = xcalloc(1, sizeof *t);
    pthread_spin_init(&t->lock, PTHREAD_PROCESS_PRIVATE);
    qnode_key(q, &t->node, id);
    t->budget = LIMIT_UNLIMITED;
    return t;
}

/* ==== The snapshot: the rollups before this engine counted ==== */

static void snap_add(void *arg, const usage_row *r, bool daily)
{
    quota_snap *sn = arg;
    quota_snap_row **rows = daily ? &sn->day_rows : &sn->rows;
    int *n = daily ? &sn->ndays : &sn->nrows, *cap = daily ? &sn->capdays : &sn->caprows;
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *rows = xrealloc(*rows, (size_t)*cap * sizeof **rows);
    }
    quota_snap_row *x = &(*rows)[(*n)++];
    snprintf(x->tenant_id, sizeof x->tenant_id, "%s", r->tenant_id ? r->tenant_id : "");
    snprintf(x->database_id, sizeof x->database_id, "%s", r->database_id ? r->database_id : "");
    snprintf(x->plan_id, sizeof x->plan_id, "%s", r->plan_id ? r->plan_id : "");
    x->adjustment = r->adjustment;
    x->requests = r->requests;
    x->commands = r->commands;
    x->bytes_in = r->bytes_in;
    x->bytes_out = r->bytes_out;
}

static void snap_month_row(void *arg, const usage_row *r) { snap_add(arg, r, false); }
static void snap_day_row(void *arg, const usage_row *r) { snap_add(arg, r, true); }

void quota_snap_free(quota *q)
{
    if (!q->snap) return;
    free(q->snap->rows);
    free(q->snap->day_rows);
    free(q->snap);
    q->snap = NULL;
}

/* Takes q's snapshot at its first refresh: this month's and today's
 * rollups, all databases (also those not loaded now). The first refresh
 * runs before the gateway serves (and after the spill file's replay), so
 * the rollups then hold every earlier process's event and none of this
 * one's; a database loaded later is seeded from it, never from the
 * rollups of its own time, which also hold events this engine counted
 * itself (or will: the meter writer commits them behind the requests). */
static int snap_take(quota *q, sqlite3 *db, int64_t now_s, tg_err *err)
{
    quota_snap *sn = xcalloc(1, sizeof *sn);
    sn->month = period_of(now_s);
    sn->day = now_s / 86400;
    if (usage_rows(db, sn->month, 0, snap_month_row, sn, err) ||
        usage_rows(db, sn->month, sn->day * 1440, snap_day_row, sn, err)) {
        free(sn->rows);
        free(sn->day_rows);
        free(sn);
        return -1;
    }
    q->snap = sn;
    return 0;
}

static void snap_replay(seed *s, const quota_snap_row *rows, int n)
{
    for (int i = 0; i < n; i++) {
        usage_row r = {rows[i].tenant_id, rows[i].database_id, rows[i].plan_id,
                       rows[i].adjustment, rows[i].requests, rows[i].commands,
                       rows[i].bytes_in, rows[i].bytes_out};
        seed_row(s, &r);
    }
}

/* Seeds the fresh databases (and fresh tenants' other lines) from the
 * snapshot's month and day, when they are now's (a later one began after
 * the snapshot: every event of it is this engine's). */
static void seed_fresh(quota *q, seed *s, int64_t now_s)
{
    qsort(s->fresh, (size_t)s->nfresh, sizeof *s->fresh, by_node_id);
    for (int i = 0; i < s->nfresh; i++) {
        s->fresh[i]->day = now_s / 86400;
        s->fresh[i]->month = s->month;
    }
    const quota_snap *sn = q->snap;
    if (sn->month != s->month) return;
    s->daily = false;
    snap_replay(s, sn->rows, sn->nrows);
    if (sn->day != now_s / 86400) return;
    s->daily = true;
    snap_replay(s, sn->day_rows, sn->ndays);
}

/* One row: its tenant (created if new) and database (limits updated, or
 * created and queued for seeding). */
static void refresh_row(quota *q, const limits_row *row, const plan *plans, int nplans,
                        seed *s)
{
    const plan *p = pricing_find(plans, nplans, row->plan_id);
    quota_tenant *t = (quota_tenant *)qmap_find(q, &q->tenants, row->tenant_id);
    if (!t) {
        t = tenant_new(q, row->tenant_id);
        t->month = s->month;
        t->fresh = true;
        tenant_set(t, row, p, true);
        qmap_insert(q, &q->tenants, &t->node);   /* only the refresher reads this map */
        s->fresh_tenants = xrealloc(s->fresh_tenants,
                                    (size_t)(s->nfresh_tenants + 1) * sizeof *s->fresh_tenants);
        s->fresh_tenants[s->nfresh_tenants++] = t;
    } else if (!t->fresh) {
        pthread_spin_lock(&t->lock);
        tenant_set(t, row, p, false);
        pthread_spin_unlock(&t->lock);
    }
    quota_db *d = (quota_db *)qmap_find(q, &q->dbs, row->database_id);
    if (d) {
        pthread_spin_lock(&d->lock);
        if (memcmp(d->lim, row->effective.v, sizeof d->lim)) {
            memcpy(d->lim, row->effective.v, sizeof d->lim);
            d->policy_stale = true;
        }
        pthread_spin_unlock(&d->lock);
        return;
    }
    d = db_new(q, row, t);
    s->fresh = xrealloc(s->fresh, (size_t)(s->nfresh + 1) * sizeof *s->fresh);
    s->fresh[s->nfresh++] = d;
}

int quota_refresh(quota *q, sqlite3 *db, int64_t now_ns, tg_err *err)
{
    return quota_refresh_one(q, db, NULL, now_ns, err);
}

/* database_id NULL: every database. */
int quota_refresh_one(quota *q, sqlite3 *db, const char *database_id, int64_t now_ns,
                      tg_err *err)
{
    int64_t now_s = now_ns / NS_PER_S;
    limits_row *rows;
    plan *plans;
    int n, nplans;
    if (limits_load(db, now_s, database_id, &rows, &n, err)) return -1;
    if (pricing_load_plans(db, &plans, &nplans, err)) {
        free(rows);
        return -1;
    }
    if (!q->snap && snap_take(q, db, now_s, err)) {
        free(plans);
        free(rows);
        return -1;
    }
    seed s = {.q = q, .month = period_of(now_s), .plans = plans, .nplans = nplans};
    for (int i = 0; i < n; i++) refresh_row(q, &rows[i], plans, nplans, &s);
    if (s.nfresh) seed_fresh(q, &s, now_s);
    /* Publish: the tenant's list, then the map (release: whole). */
    for (int i = 0; i < s.nfresh; i++) {
        quota_db *d = s.fresh[i];
        quota_tenant *t = d->tenant;
        pthread_spin_lock(&t->lock);
        d->tenant_next = t->dbs;
        t->dbs = d;
        pthread_spin_unlock(&t->lock);
        pending_publish(q, d, now_ns);
    }
    for (int i = 0; i < s.nfresh_tenants; i++) s.fresh_tenants[i]->fresh = false;
    free(s.fresh);
    free(s.fresh_tenants);
    free(plans);
    free(rows);
    return 0;
}

/* ==== The refresher thread ==== */

static void *refresher_main(void *arg)
{
    quota *q = arg;
    sqlite3 *db = NULL;
    pthread_mutex_lock(&q->stop_lock);
    while (!q->stop) {
        struct timespec until;
        clock_deadline_in((uint64_t)q->interval_ms, &until);
        /* A kick (a request of a database not loaded yet) ends the wait. */
        while (!q->stop && !q->kick &&
               pthread_cond_timedwait(&q->stop_cond, &q->stop_lock, &until) == 0) {
        }
        if (q->stop) break;
        q->kick = false;
        pthread_mutex_unlock(&q->stop_lock);
        tg_err err;
        if (!db && sqlite3_open_v2(q->sqlite_path, &db, SQLITE_OPEN_READONLY |
                                   SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
            fprintf(stderr, "tollgate: quotas: cannot open %s\n", q->sqlite_path);
            sqlite3_close(db);
            db = NULL;
        } else {
            sqlite3_busy_timeout(db, 500);
            if (quota_refresh(q, db, quota_now_ns(), &err))
                fprintf(stderr, "tollgate: quotas: refresh failed (limits kept): %s\n", err.msg);
        }
        pthread_mutex_lock(&q->stop_lock);
    }
    pthread_mutex_unlock(&q->stop_lock);
    sqlite3_close(db);
    return NULL;
}

int quota_refresher_start(quota *q, const char *sqlite_path, int interval_ms, tg_err *err)
{
    if (q->running) return tg_fail(err, 500, "quotas: refresher already running");
    q->sqlite_path = xstrdup(sqlite_path);
    q->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    q->stop = false;
    int e = pthread_create(&q->thread, NULL, refresher_main, q);
    if (e) return tg_fail(err, 500, "quotas: pthread_create: %s", strerror(e));
    q->running = true;
    return 0;
}

void quota_refresher_stop(quota *q)
{
    if (!q->running) return;
    pthread_mutex_lock(&q->stop_lock);
    q->stop = true;
    pthread_cond_signal(&q->stop_cond);
    pthread_mutex_unlock(&q->stop_lock);
    pthread_join(q->thread, NULL);
    q->running = false;
}

/* ==== The usage report ==== */

#define JNULL INT64_MIN

static void jnum(buf *b, const char *key, int64_t v, bool comma)
{
    if (comma) buf_putc(b, ',');
    if (v == JNULL) buf_printf(b, "\"%s\":null", key);
    else buf_printf(b, "\"%s\":%lld", key, (long long)v);
}

/* One limit: {"limit", "used", "remaining", "reset_s"}; unlimited and
 * unknown values are null. */
static void jlimit(buf *b, const char *name, int64_t limit, int64_t used, int64_t reset_s,
                   bool first)
{
    if (!first) buf_putc(b, ',');
    buf_printf(b, "\"%s\":{", name);
    bool on = limit >= 0;
    jnum(b, "limit", on ? limit : JNULL, false);
    jnum(b, "used", used, true);
    int64_t left = on && used != JNULL ? (limit > used ? limit - used : 0) : JNULL;
    jnum(b, "remaining", left, true);
    jnum(b, "reset_s", on ? reset_s : JNULL, true);
    buf_putc(b, '}');
}

int quota_usage_json(quota *q, const char *database_id, int64_t now_ns, buf *out, tg_err *err)
{
    quota_db *d = (quota_db *)qmap_find(q, &q->dbs, database_id);
    if (!d) return tg_fail(err, 404, "no live database %s", database_id);
    int64_t now_s = now_ns / NS_PER_S, l[LIMIT_COUNT];
    int64_t day_end = (now_s / 86400 + 1) * 86400, month_end = period_start(period_of(now_s) + 1);
    quota_tenant *t = d->tenant;
    pthread_spin_lock(&d->lock);
    memcpy(l, d->lim, sizeof l);
    bool today = d->day == now_s / 86400, this_month = d->month == period_of(now_s);
    int64_t daily = today ? d->daily : 0, monthly = this_month ? d->monthly : 0;
    int64_t bandwidth = this_month ? d->bandwidth : 0;
    int64_t cps_used = JNULL, rps_used = JNULL;
    if (l[LIMIT_COMMANDS_PER_SECOND] > 0) { /* the bucket's level, in commands */
        int64_t T = NS_PER_S / l[LIMIT_COMMANDS_PER_SECOND];
        cps_used = d->cps_tat > now_ns ? (d->cps_tat - now_ns + (T ? T - 1 : 0)) / (T ? T : 1) : 0;
    }
    if (l[LIMIT_REQUESTS_PER_SECOND] > 0) {
        int64_t T = NS_PER_S / l[LIMIT_REQUESTS_PER_SECOND];
        rps_used = d->rps_tat > now_ns ? (d->rps_tat - now_ns + (T ? T - 1 : 0)) / (T ? T : 1) : 0;
    }
    int64_t cps_reset = d->cps_tat > now_ns ? (d->cps_tat - now_ns + NS_PER_S - 1) / NS_PER_S : 0;
    int64_t rps_reset = d->rps_tat > now_ns ? (d->rps_tat - now_ns + NS_PER_S - 1) / NS_PER_S : 0;
    pthread_spin_lock(&t->lock);
    tenant_roll(t, period_of(now_s));
    int64_t cost = tenant_cost(t), budget = t->budget;
    char plan_id[METER_ID_MAX];
    memcpy(plan_id, t->plan_id, sizeof plan_id);
    pthread_spin_unlock(&t->lock);
    pthread_spin_unlock(&d->lock);
    int64_t size = atomic_load(&d->data_bytes), size_at = atomic_load(&d->data_at_ns);
    int64_t cps_burst = l[LIMIT_BURST] > 0 ? l[LIMIT_BURST] : l[LIMIT_COMMANDS_PER_SECOND];
    int64_t rps_burst = l[LIMIT_REQUESTS_BURST] > 0 ? l[LIMIT_REQUESTS_BURST]
                                                    : l[LIMIT_REQUESTS_PER_SECOND];
    char at[24];
    period_iso8601(now_s, at);
    buf_puts(out, "{\"database_id\":");
    json_out_string(out, d->node.id, strlen(d->node.id));
    buf_puts(out, ",\"tenant_id\":");
    json_out_string(out, t->node.id, strlen(t->node.id));
    buf_puts(out, ",\"plan_id\":");
    json_out_string(out, plan_id, strlen(plan_id));
    buf_printf(out, ",\"at\":\"%s\",\"limits\":{", at);
    /* Rates: the bucket (burst) is the limit, its level the use. */
    jlimit(out, "commands_per_second", l[LIMIT_COMMANDS_PER_SECOND] >= 0 ? cps_burst : -1,
           cps_used, cps_reset, true);
    jlimit(out, "requests_per_second", l[LIMIT_REQUESTS_PER_SECOND] >= 0 ? rps_burst : -1,
           rps_used, rps_reset, false);
    jlimit(out, "daily_commands", l[LIMIT_DAILY_COMMANDS], daily, day_end - now_s, false);
    jlimit(out, "monthly_commands", l[LIMIT_MONTHLY_COMMANDS], monthly, month_end - now_s, false);
    jlimit(out, "monthly_bandwidth_bytes", l[LIMIT_MONTHLY_BANDWIDTH_BYTES], bandwidth,
           month_end - now_s, false);
    jlimit(out, "request_bytes", l[LIMIT_REQUEST_BYTES], JNULL, JNULL, false);
    jlimit(out, "record_bytes", l[LIMIT_RECORD_BYTES], JNULL, JNULL, false);
    jlimit(out, "response_bytes", l[LIMIT_RESPONSE_BYTES], JNULL, JNULL, false);
    jlimit(out, "concurrent_requests", l[LIMIT_CONCURRENT_REQUESTS],
           atomic_load(&d->inflight), JNULL, false);
    jlimit(out, "data_bytes", l[LIMIT_DATA_BYTES], size >= 0 ? size : JNULL, JNULL, false);
    jlimit(out, "monthly_budget_micros", budget, cost, month_end - now_s, false);
    buf_printf(out, "},\"rates\":{\"commands_per_second\":");
    if (l[LIMIT_COMMANDS_PER_SECOND] >= 0) buf_put_i64(out, l[LIMIT_COMMANDS_PER_SECOND]);
    else buf_puts(out, "null");
    buf_puts(out, ",\"requests_per_second\":");
    if (l[LIMIT_REQUESTS_PER_SECOND] >= 0) buf_put_i64(out, l[LIMIT_REQUESTS_PER_SECOND]);
    else buf_puts(out, "null");
    buf_puts(out, "},\"data_sampled_at\":");
    if (size >= 0) {
        period_iso8601(size_at / NS_PER_S, at);
        buf_printf(out, "\"%s\"", at);
    } else {
        buf_puts(out, "null");
    }
    buf_puts(out, "}\n");
    return 0;
}
