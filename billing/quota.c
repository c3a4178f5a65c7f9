/*
 * quota.c - the request path of the quota engine (quota.h): the sharded
 * maps, the decision (quota_check), the accounting (quota_record), the
 * per-worker settlement (the maps are quota_map.c's). The header values are formatted in
 * quota_headers.c; loading and reporting are in quota_refresh.c.
 */
#include "billing/quota.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/mem.h"
#include "common/random.h"
#include "billing/period.h"
#include "billing/pricing.h"
#include "billing/quota_int.h"

/* ==== What each limit is called and answers ==== */

typedef struct kind_def {
    const char *name;       /* metered limit name, error body's "limit" */
    int status;
    const char *text;       /* Upstash's words where it has them */
} kind_def;

static const kind_def kinds[QUOTA_KIND_COUNT] = {
    [QUOTA_NONE] = {"", 200, ""},
    [QUOTA_CPS] = {"commands_per_second", 429, "ERR max requests limit exceeded"},
    [QUOTA_RPS] = {"requests_per_second", 429, "ERR max requests limit exceeded"},
    [QUOTA_TOKEN_RATE] = {"token_rate_limit", 429, "ERR max requests limit exceeded"},
    [QUOTA_DAILY] = {"daily_commands", 429, "ERR max daily request limit exceeded"},
    [QUOTA_MONTHLY] = {"monthly_commands", 429, "ERR max monthly request limit exceeded"},
    [QUOTA_BANDWIDTH] = {"monthly_bandwidth_bytes", 429,
                         "ERR max monthly bandwidth limit exceeded"},
    [QUOTA_BUDGET] = {"monthly_budget_micros", 429, "ERR monthly budget exceeded"},
    [QUOTA_REQUEST_BYTES] = {"request_bytes", 413, "ERR max request size exceeded"},
    [QUOTA_RECORD_BYTES] = {"record_bytes", 413, "ERR max single record size exceeded"},
    [QUOTA_RESPONSE_BYTES] = {"response_bytes", 413, "ERR max response size exceeded"},
    [QUOTA_CONCURRENT] = {"concurrent_requests", 429,
                          "ERR max concurrent connections exceeded"},
    [QUOTA_DATA_BYTES] = {"data_bytes", 429, "ERR DB capacity quota exceeded"},
};

const char *quota_kind_name(quota_kind k)
{
    return k > QUOTA_NONE && k < QUOTA_KIND_COUNT ? kinds[k].name : "";
}

int64_t quota_now_ns(void)
{
    return clock_wall_ns();
}

static void db_free(qnode *n)
{
    quota_db *d = (quota_db *)n;
    while (d->policy_old) {
        quota_str *o = d->policy_old;
        d->policy_old = o->next;
        free(o->s);
        free(o);
    }
    free(d->policy_hdr);
    pthread_spin_destroy(&d->lock);
    free(d);
}

static void tenant_free(qnode *n)
{
    quota_tenant *t = (quota_tenant *)n;
    pthread_spin_destroy(&t->lock);
    free(t);
}

static void token_free(qnode *n)
{
    quota_token *t = (quota_token *)n;
    pthread_spin_destroy(&t->lock);
    free(t);
}

quota *quota_new(void)
{
    quota *q = xcalloc(1, sizeof *q);
    random_bytes(q->key, sizeof q->key);
    qmap_init(&q->dbs);
    qmap_init(&q->tenants);
    qmap_init(&q->tokens);
    qmap_init(&q->pending);
    pthread_mutex_init(&q->stop_lock, NULL);
    pthread_cond_init(&q->stop_cond, NULL);
    return q;
}

void quota_free(quota *q)
{
    if (!q) return;
    quota_refresher_stop(q);
    qmap_clear(&q->dbs, db_free);
    qmap_clear(&q->tenants, tenant_free);
    qmap_clear(&q->tokens, token_free);
    qmap_clear(&q->pending, pending_free);
    quota_snap_free(q);
    pthread_mutex_destroy(&q->stop_lock);
    pthread_cond_destroy(&q->stop_cond);
    free(q->sqlite_path);
    free(q);
}

/* ==== Tenant cost: the export's arithmetic, kept incrementally ==== */

void tenant_roll(quota_tenant *t, int m)
{
    if (t->month == m) return;
    t->month = m;
    t->base_total = t->base_cmd_q = t->base_cmd_amt = t->base_bw_q = t->base_bw_amt = 0;
    t->cur_total = t->cur_cmd_q = t->cur_cmd_amt = t->cur_bw_q = t->cur_bw_amt = 0;
}

void tenant_add(quota_tenant *t, quota_db *d, const int64_t dq[BQ_COUNT])
{
    if (d->bq_month != t->month) { /* its sums were dropped with the month */
        memset(d->bq, 0, sizeof d->bq);
        d->bq_month = t->month;
    }
    for (int m = 0; m < BQ_COUNT; m++) {
        if (!dq[m]) continue;
        int64_t before = pricing_amount(d->bq[m], t->price[m], t->per[m]);
        d->bq[m] += dq[m];
        if (d->bq[m] < 0) d->bq[m] = 0;
        int64_t delta = pricing_amount(d->bq[m], t->price[m], t->per[m]) - before;
        t->cur_total += delta;
        if (m == BQ_COMMANDS) {
            t->cur_cmd_q += dq[m];
            t->cur_cmd_amt += delta;
        } else if (m != BQ_REQUESTS) {
            t->cur_bw_q += dq[m];
            t->cur_bw_amt += delta;
        }
    }
}

void tenant_recompute(quota_tenant *t)
{
    t->cur_total = t->cur_cmd_q = t->cur_cmd_amt = t->cur_bw_q = t->cur_bw_amt = 0;
    for (quota_db *d = t->dbs; d; d = d->tenant_next) {
        if (d->bq_month != t->month) continue;
        int64_t dq[BQ_COUNT];
        memcpy(dq, d->bq, sizeof dq);
        memset(d->bq, 0, sizeof d->bq);
        tenant_add(t, d, dq);
    }
}

/* usage.c's included line: the allowance's price, never more than charged. */
static int64_t included(int64_t used, int64_t allowance, int64_t price, int64_t per,
                        int64_t charged)
{
    int64_t q = used < allowance ? used : allowance;
    if (q <= 0) return 0;
    int64_t a = pricing_amount(q, price, per);
    return a > charged ? charged : a;
}

int64_t tenant_cost(const quota_tenant *t)
{
    return t->base_total + t->cur_total -
           included(t->base_cmd_q + t->cur_cmd_q, t->included_commands,
                    t->price[BQ_COMMANDS], t->per[BQ_COMMANDS],
                    t->base_cmd_amt + t->cur_cmd_amt) -
           included(t->base_bw_q + t->cur_bw_q, t->included_bandwidth,
                    t->price[BQ_BYTES_IN], t->per[BQ_BYTES_IN],
                    t->base_bw_amt + t->cur_bw_amt);
}

/* ==== GCRA ==== */

typedef struct gcra {
    int64_t T, tol;          /* emission interval and tolerance, ns */
} gcra;

static gcra gcra_of(int64_t rate, int64_t burst)
{
    gcra g;
    g.T = rate > 0 ? NS_PER_S / rate : NS_PER_S;
    if (g.T < 1) g.T = 1;
    if (burst <= 0) burst = rate > 0 ? rate : 1;
    g.tol = burst > INT64_MAX / g.T ? INT64_MAX / 2 : burst * g.T;
    return g;
}

/* The TAT after n more units at now, or -1 if that crosses the tolerance. */
static int64_t gcra_try(gcra g, int64_t tat, int64_t n, int64_t now)
{
    int64_t base = tat > now ? tat : now;
    int64_t nt = base + n * g.T;
    return nt - now > g.tol ? -1 : nt;
}

static int64_t gcra_remaining(gcra g, int64_t tat, int64_t now)
{
    int64_t used = tat > now ? tat - now : 0;
    return used >= g.tol ? 0 : (g.tol - used) / g.T;
}

/* Seconds from now until the whole second after tat: the instant the
 * bucket is full again, as an absolute second that only moves forward
 * with tat (never backwards). */
static int64_t reset_at_s(int64_t tat, int64_t now)
{
    int64_t at = (tat + NS_PER_S - 1) / NS_PER_S, now_s = now / NS_PER_S;
    return at > now_s ? at - now_s : 0;
}

/* ==== The decision ==== */

static void refuse(quota_verdict *v, quota_kind k, int64_t limit, int64_t usage,
                   int64_t retry_after_s)
{
    v->allowed = false;
    v->refused = k;
    v->http_status = kinds[k].status;
    v->limit = limit;
    v->usage = usage;
    v->retry_after_s = retry_after_s;
    snprintf(v->error, sizeof v->error, "%s. Limit: %lld, Usage: %lld", kinds[k].text,
             (long long)limit, (long long)usage);
}

static void policy_add(quota_verdict *v, const char *name, int64_t quota_, int64_t window_s,
                       int64_t remaining, int64_t reset_s)
{
    if (v->npolicies == QUOTA_POLICIES_MAX) return;
    quota_policy *p = &v->policies[v->npolicies++];
    p->name = name;
    p->quota = quota_;
    p->window_s = window_s;
    p->remaining = remaining < 0 ? 0 : remaining;
    p->reset_s = reset_s;
}

/* The state of one request's decision, before anything is stored. */
typedef struct decision {
    int64_t now, now_s, n;
    int64_t day_end_s, month_end_s, month_start_s;
    int month;
    gcra cps, rps, tok;
    int64_t tok_rate;
    int64_t cps_tat, rps_tat, tok_tat;          /* after the request; -1 refused */
    quota_token *token;
} decision;

static void roll_db(quota_db *d, const decision *x)
{
    int64_t day = x->now_s / 86400;
    int month = x->month;
    if (d->day != day) {
        d->day = day;
        d->daily = 0;
    }
    if (d->month != month) {
        d->month = month;
        d->monthly = 0;
        d->bandwidth = 0;
    }
}

/* The size, concurrency and data limits (no state changes). */
static bool check_sizes(const quota_db *d, const quota_ask *a, quota_verdict *v)
{
    const int64_t *l = d->lim;
    if (l[LIMIT_REQUEST_BYTES] >= 0 && a->bytes_in > l[LIMIT_REQUEST_BYTES]) {
        refuse(v, QUOTA_REQUEST_BYTES, l[LIMIT_REQUEST_BYTES], a->bytes_in, 0);
        return false;
    }
    if (l[LIMIT_RECORD_BYTES] >= 0 && a->largest_record > l[LIMIT_RECORD_BYTES]) {
        refuse(v, QUOTA_RECORD_BYTES, l[LIMIT_RECORD_BYTES], a->largest_record, 0);
        return false;
    }
    int64_t size = atomic_load_explicit(&d->data_bytes, memory_order_relaxed);
    if (a->writes && l[LIMIT_DATA_BYTES] >= 0 && size >= 0 && size >= l[LIMIT_DATA_BYTES]) {
        refuse(v, QUOTA_DATA_BYTES, l[LIMIT_DATA_BYTES], size, 0);
        return false;
    }
    int64_t in = atomic_load_explicit(&d->inflight, memory_order_relaxed);
    if (l[LIMIT_CONCURRENT_REQUESTS] >= 0 && in >= l[LIMIT_CONCURRENT_REQUESTS]) {
        refuse(v, QUOTA_CONCURRENT, l[LIMIT_CONCURRENT_REQUESTS], in + 1, 1);
        return false;
    }
    return true;
}

/* The rate limits: new TATs into x, or a refusal. */
static bool check_rates(const quota_db *d, decision *x, quota_verdict *v)
{
    const int64_t *l = d->lim;
    x->cps_tat = x->rps_tat = x->tok_tat = -1;
    if (l[LIMIT_COMMANDS_PER_SECOND] >= 0) {
        x->cps = gcra_of(l[LIMIT_COMMANDS_PER_SECOND], l[LIMIT_BURST]);
        x->cps_tat = gcra_try(x->cps, d->cps_tat, x->n, x->now);
        if (x->cps_tat < 0) {
            int64_t base = d->cps_tat > x->now ? d->cps_tat : x->now;
            int64_t r = reset_at_s(d->cps_tat, x->now);
            refuse(v, QUOTA_CPS, l[LIMIT_COMMANDS_PER_SECOND],
                   (base - x->now) / x->cps.T + x->n, r > 0 ? r : 1);
            return false;
        }
    }
    if (l[LIMIT_REQUESTS_PER_SECOND] >= 0) {
        x->rps = gcra_of(l[LIMIT_REQUESTS_PER_SECOND], l[LIMIT_REQUESTS_BURST]);
        x->rps_tat = gcra_try(x->rps, d->rps_tat, 1, x->now);
        if (x->rps_tat < 0) {
            int64_t r = reset_at_s(d->rps_tat, x->now);
            refuse(v, QUOTA_RPS, l[LIMIT_REQUESTS_PER_SECOND],
                   (d->rps_tat - x->now) / x->rps.T + 1, r > 0 ? r : 1);
            return false;
        }
    }
    if (x->token) {
        pthread_spin_lock(&x->token->lock);
        int64_t tat = x->token->tat;
        pthread_spin_unlock(&x->token->lock);
        x->tok_tat = gcra_try(x->tok, tat, x->n, x->now);
        if (x->tok_tat < 0) {
            int64_t base = tat > x->now ? tat : x->now, r = reset_at_s(tat, x->now);
            refuse(v, QUOTA_TOKEN_RATE, x->tok_rate, (base - x->now) / x->tok.T + x->n,
                   r > 0 ? r : 1);
            return false;
        }
    }
    return true;
}

/* Daily, monthly, bandwidth (no state changes). */
static bool check_counts(const quota_db *d, const quota_ask *a, const decision *x,
                         quota_verdict *v)
{
    const int64_t *l = d->lim;
    if (l[LIMIT_DAILY_COMMANDS] >= 0 && x->n > 0 && d->daily + x->n > l[LIMIT_DAILY_COMMANDS]) {
        refuse(v, QUOTA_DAILY, l[LIMIT_DAILY_COMMANDS], d->daily + x->n,
               x->day_end_s - x->now_s);
        return false;
    }
    if (l[LIMIT_MONTHLY_COMMANDS] >= 0 && x->n > 0 &&
        d->monthly + x->n > l[LIMIT_MONTHLY_COMMANDS]) {
        refuse(v, QUOTA_MONTHLY, l[LIMIT_MONTHLY_COMMANDS], d->monthly + x->n,
               x->month_end_s - x->now_s);
        return false;
    }
    if (l[LIMIT_MONTHLY_BANDWIDTH_BYTES] >= 0 &&
        d->bandwidth + a->bytes_in > l[LIMIT_MONTHLY_BANDWIDTH_BYTES]) {
        refuse(v, QUOTA_BANDWIDTH, l[LIMIT_MONTHLY_BANDWIDTH_BYTES], d->bandwidth + a->bytes_in,
               x->month_end_s - x->now_s);
        return false;
    }
    return true;
}

/* The budget, and the reservation of the request's commands in the
 * tenant's cost (tenant lock, inside the database's). */
static bool budget_take(quota_db *d, const decision *x, quota_verdict *v)
{
    quota_tenant *t = d->tenant;
    pthread_spin_lock(&t->lock);
    tenant_roll(t, x->month);
    if (t->budget >= 0 && x->n > 0) {
        int64_t cost = tenant_cost(t);
        if (cost >= t->budget) {
            pthread_spin_unlock(&t->lock);
            refuse(v, QUOTA_BUDGET, t->budget, cost, x->month_end_s - x->now_s);
            return false;
        }
    }
    int64_t dq[BQ_COUNT] = {x->n, 0, 0, 0};
    tenant_add(t, d, dq);
    pthread_spin_unlock(&t->lock);
    return true;
}

/* The policies the headers announce, from the state after the decision. */
static void policies_fill(const quota_db *d, const decision *x, quota_verdict *v)
{
    const int64_t *l = d->lim;
    int64_t min_left = INT64_MAX;
    if (l[LIMIT_COMMANDS_PER_SECOND] >= 0)
        policy_add(v, "cps", l[LIMIT_COMMANDS_PER_SECOND], 1,
                   gcra_remaining(x->cps, d->cps_tat, x->now), reset_at_s(d->cps_tat, x->now));
    if (l[LIMIT_REQUESTS_PER_SECOND] >= 0)
        policy_add(v, "rps", l[LIMIT_REQUESTS_PER_SECOND], 1,
                   gcra_remaining(x->rps, d->rps_tat, x->now), reset_at_s(d->rps_tat, x->now));
    if (x->token) {
        int64_t tat = x->tok_tat >= 0 ? x->tok_tat : x->token->tat;
        policy_add(v, "token", x->tok_rate, 1, gcra_remaining(x->tok, tat, x->now),
                   reset_at_s(tat, x->now));
    }
    if (l[LIMIT_DAILY_COMMANDS] >= 0)
        policy_add(v, "daily", l[LIMIT_DAILY_COMMANDS], 86400,
                   l[LIMIT_DAILY_COMMANDS] - d->daily, x->day_end_s - x->now_s);
    if (l[LIMIT_MONTHLY_COMMANDS] >= 0)
        policy_add(v, "monthly", l[LIMIT_MONTHLY_COMMANDS],
                   x->month_end_s - x->month_start_s,
                   l[LIMIT_MONTHLY_COMMANDS] - d->monthly, x->month_end_s - x->now_s);
    int ncount = v->npolicies;   /* command and request counts end here */
    if (l[LIMIT_MONTHLY_BANDWIDTH_BYTES] >= 0)
        policy_add(v, "bandwidth", l[LIMIT_MONTHLY_BANDWIDTH_BYTES],
                   x->month_end_s - x->month_start_s,
                   l[LIMIT_MONTHLY_BANDWIDTH_BYTES] - d->bandwidth, x->month_end_s - x->now_s);
    v->tightest = -1;
    for (int i = 0; i < ncount; i++)
        if (v->policies[i].remaining < min_left) {
            min_left = v->policies[i].remaining;
            v->tightest = i;
        }
}

/* The policy a refusal names, made to announce the refusal's wait. */
static void policies_on_refusal(quota_verdict *v)
{
    static const char *const names[QUOTA_KIND_COUNT] = {
        [QUOTA_CPS] = "cps", [QUOTA_RPS] = "rps", [QUOTA_TOKEN_RATE] = "token",
        [QUOTA_DAILY] = "daily", [QUOTA_MONTHLY] = "monthly", [QUOTA_BANDWIDTH] = "bandwidth",
    };
    const char *name = names[v->refused];
    for (int i = 0; name && i < v->npolicies; i++)
        if (!strcmp(v->policies[i].name, name)) {
            v->policies[i].remaining = 0;
            if (v->retry_after_s < v->policies[i].reset_s)
                v->retry_after_s = v->policies[i].reset_s;
            v->policies[i].reset_s = v->retry_after_s;
            v->tightest = i;
        }
}

/* v's RateLimit-Policy, from d's cache, rebuilt when d's limits or the
 * month (the monthly window) changed (d's lock held). A token's policy is
 * the request's own: not cached. */
static void policy_cached(quota_db *d, const decision *x, quota_verdict *v)
{
    if (x->token || !v->npolicies) return;
    if (!d->policy_hdr || d->policy_stale || d->policy_month != x->month) {
        char text[QUOTA_HEADER_MAX];
        quota_format_policy(v, text, sizeof text);
        if (d->policy_hdr) {
            quota_str *o = xmalloc(sizeof *o);
            o->s = d->policy_hdr;
            o->next = d->policy_old;
            d->policy_old = o;
        }
        d->policy_hdr = xstrdup(text);
        d->policy_month = x->month;
        d->policy_stale = false;
    }
    v->policy_hdr = d->policy_hdr;
}

static quota_token *token_of(quota *q, const quota_ask *a)
{
    if (!a->token_id || !a->token_id[0] || a->token_rate <= 0) return NULL;
    quota_token *t = (quota_token *)qmap_find(q, &q->tokens, a->token_id);
    if (t) return t;
    t = xcalloc(1, sizeof *t);
    pthread_spin_init(&t->lock, PTHREAD_PROCESS_PRIVATE);
    qnode_key(q, &t->node, a->token_id);
    quota_token *have = (quota_token *)qmap_insert(q, &q->tokens, &t->node);
    if (have != t) token_free(&t->node);
    return have;
}

bool quota_check(quota *q, const quota_ask *a, quota_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->allowed = true;
    v->tightest = -1;
    v->response_bytes_max = -1;
    v->http_status = 200;
    quota_db *d = a->database_id ? (quota_db *)qmap_find(q, &q->dbs, a->database_id) : NULL;
    int64_t n = a->commands > 0 ? a->commands : 0;
    if (!d && a->database_id) {
        /* Not loaded yet: counted, without limits, until the refresher
         * (woken now) adopts its counts (quota_pending.c). */
        quota_pending *p = pending_get(q, a->database_id, &d);
        if (p && pending_check(p, n, a->bytes_in, a->now_ns, &d)) {
            v->pending = p;
            v->reserved = n;
            v->reserved_bytes = a->bytes_in;
            return true;
        }
    }
    if (!d) return true;
    decision x = {.now = a->now_ns, .now_s = a->now_ns / NS_PER_S, .n = n};
    x.day_end_s = (x.now_s / 86400 + 1) * 86400;
    x.month = period_of(x.now_s);
    x.month_start_s = period_start(x.month);
    x.month_end_s = period_start(x.month + 1);
    x.token = token_of(q, a);
    if (x.token) {
        x.tok_rate = a->token_rate;
        x.tok = gcra_of(a->token_rate, a->token_rate);
    }
    v->db = d;
    pthread_spin_lock(&d->lock);
    roll_db(d, &x);
    v->response_bytes_max = d->lim[LIMIT_RESPONSE_BYTES];
    bool ok = check_sizes(d, a, v) && check_rates(d, &x, v) && check_counts(d, a, &x, v) &&
              budget_take(d, &x, v);
    if (ok) {
        if (x.cps_tat >= 0) d->cps_tat = x.cps_tat;
        if (x.rps_tat >= 0) d->rps_tat = x.rps_tat;
        d->daily += x.n;
        d->monthly += x.n;
        d->bandwidth += a->bytes_in;
        v->reserved = x.n;
        v->reserved_bytes = a->bytes_in;
        atomic_fetch_add_explicit(&d->inflight, 1, memory_order_relaxed);
        v->entered = true;
    }
    if (ok && x.token) {
        /* Re-decided under the token's lock: another database's request
         * may have used the same token since. */
        pthread_spin_lock(&x.token->lock);
        int64_t nt = gcra_try(x.tok, x.token->tat, x.n, x.now);
        if (nt >= 0) x.token->tat = nt;
        pthread_spin_unlock(&x.token->lock);
        x.tok_tat = nt;
    }
    policies_fill(d, &x, v);
    policy_cached(d, &x, v);
    pthread_spin_unlock(&d->lock);
    if (!v->allowed) policies_on_refusal(v);
    return v->allowed;
}

void quota_verdict_refuse(quota_verdict *v, quota_kind k, int64_t limit, int64_t usage)
{
    refuse(v, k, limit, usage, 0);
}

/* ==== The shared store's side ==== */

bool quota_shared_of(const quota_verdict *v, quota_shared *out)
{
    quota_db *d = v->db;
    if (!d) return false;
    pthread_spin_lock(&d->lock);
    const int64_t *l = d->lim;
    *out = (quota_shared){
        .cps = l[LIMIT_COMMANDS_PER_SECOND], .burst = l[LIMIT_BURST],
        .rps = l[LIMIT_REQUESTS_PER_SECOND], .rburst = l[LIMIT_REQUESTS_BURST],
        .daily = l[LIMIT_DAILY_COMMANDS], .monthly = l[LIMIT_MONTHLY_COMMANDS],
        .daily_seen = d->daily - v->reserved, .monthly_seen = d->monthly - v->reserved,
    };
    pthread_spin_unlock(&d->lock);
    if (out->daily_seen < 0) out->daily_seen = 0;
    if (out->monthly_seen < 0) out->monthly_seen = 0;
    return out->cps >= 0 || out->rps >= 0 || out->daily >= 0 || out->monthly >= 0;
}

void quota_verdict_refuse_at(quota_verdict *v, quota_kind k, int64_t limit, int64_t usage,
                             int64_t retry_after_s)
{
    refuse(v, k, limit, usage, retry_after_s);
    policies_on_refusal(v);
}

void quota_verdict_policy(quota_verdict *v, const char *name, int64_t remaining,
                          int64_t reset_s)
{
    int ncount = 0;
    for (int i = 0; i < v->npolicies; i++) {
        quota_policy *p = &v->policies[i];
        if (strcmp(p->name, "bandwidth")) ncount = i + 1;
        if (strcmp(p->name, name)) continue;
        p->remaining = remaining < 0 ? 0 : remaining;
        if (reset_s > p->reset_s) p->reset_s = reset_s;
    }
    int64_t min_left = INT64_MAX;
    v->tightest = -1;
    for (int i = 0; i < ncount; i++)
        if (v->policies[i].remaining < min_left) {
            min_left = v->policies[i].remaining;
            v->tightest = i;
        }
}

/* ==== After the response ==== */

void quota_record(quota *q, const char *database_id, const quota_verdict *v,
                  const quota_usage *u)
{
    quota_db *d = v && v->db ? v->db : (quota_db *)qmap_find(q, &q->dbs, database_id);
    if (!d && database_id) {
        quota_pending *p = v && v->pending ? v->pending : pending_get(q, database_id, &d);
        if (p && pending_record(p, v, u, &d)) return;
    }
    if (!d) return;
    /* A check counted on the pending counter was moved into d with it
     * (one state per id: d adopted v->pending). */
    bool mine = v && (v->db == d || v->pending);
    int64_t reserved = mine ? v->reserved : 0;
    int64_t reserved_bytes = mine ? v->reserved_bytes : 0;
    decision x = {.now = u->now_ns, .now_s = u->now_ns / NS_PER_S};
    x.month = period_of(x.now_s);
    quota_tenant *t = d->tenant;
    pthread_spin_lock(&d->lock);
    roll_db(d, &x);
    pthread_spin_lock(&t->lock);
    tenant_roll(t, x.month);
    bool bills = u->outcome >= 0 && u->outcome < 32 &&
                 (atomic_load_explicit(&t->billable, memory_order_relaxed) >> u->outcome) & 1;
    int64_t billed = bills ? u->billable_commands : 0;
    /* A refusal its plan does not bill costs nothing at all: no request,
     * no bytes (usage.c prices it the same way). */
    bool free_refusal = u->outcome == METER_QUOTA_REJECTED && !bills;
    int64_t in = free_refusal ? 0 : u->bytes_in, out = free_refusal ? 0 : u->bytes_out;
    int64_t dq[BQ_COUNT] = {billed - reserved, free_refusal ? 0 : 1, in, out};
    tenant_add(t, d, dq);
    pthread_spin_unlock(&t->lock);
    d->daily += billed - reserved;
    d->monthly += billed - reserved;
    if (d->daily < 0) d->daily = 0;
    if (d->monthly < 0) d->monthly = 0;
    /* bytes_in was counted in bandwidth at the check already */
    d->bandwidth += out + in - reserved_bytes;
    if (d->bandwidth < 0) d->bandwidth = 0;
    pthread_spin_unlock(&d->lock);
}

/* ==== Per-worker settlement ==== */

#define QLOCAL_MAX 16   /* databases per loop turn before a flush */

struct quota_local {
    quota *q;
    int n;
    int64_t now_ns;     /* the latest settlement's time: the flush's */
    struct {
        quota_db *d;
        int64_t requests, bytes_in, bytes_out;   /* the tenant's sums */
        int64_t bandwidth;                       /* not yet in d->bandwidth */
    } e[QLOCAL_MAX];
};

quota_local *quota_local_new(quota *q)
{
    quota_local *l = xcalloc(1, sizeof *l);
    l->q = q;
    return l;
}

void quota_local_free(quota_local *l)
{
    if (!l) return;
    quota_local_flush(l);
    free(l);
}

void quota_local_flush(quota_local *l)
{
    if (!l || !l->n) return;
    int64_t now_s = l->now_ns / NS_PER_S;
    decision x = {.now_s = now_s, .month = period_of(now_s)};
    for (int i = 0; i < l->n; i++) {
        quota_db *d = l->e[i].d;
        quota_tenant *t = d->tenant;
        int64_t dq[BQ_COUNT] = {0, l->e[i].requests, l->e[i].bytes_in, l->e[i].bytes_out};
        pthread_spin_lock(&d->lock);
        roll_db(d, &x);
        d->bandwidth += l->e[i].bandwidth;
        pthread_spin_lock(&t->lock);
        tenant_roll(t, x.month);
        tenant_add(t, d, dq);
        pthread_spin_unlock(&t->lock);
        pthread_spin_unlock(&d->lock);
    }
    l->n = 0;
}

void quota_record_local(quota_local *l, const char *database_id, const quota_verdict *v,
                        const quota_usage *u)
{
    if (!l) return;
    quota_db *d = v ? v->db : NULL;
    if (!d) {
        quota_record(l->q, database_id, v, u);
        return;
    }
    uint32_t billable = atomic_load_explicit(&d->tenant->billable, memory_order_relaxed);
    bool bills = u->outcome >= 0 && u->outcome < 32 && (billable >> u->outcome) & 1;
    /* A refusal at the check that its plan does not bill: nothing was
     * reserved and it costs nothing, so there is nothing to settle (a
     * flooding tenant's refusals take no lock here). */
    if (!v->allowed && u->outcome == METER_QUOTA_REJECTED && !bills && !v->reserved &&
        !v->reserved_bytes)
        return;
    if (!v->allowed || (bills ? u->billable_commands : 0) != v->reserved) {
        quota_record(l->q, database_id, v, u);
        return;
    }
    int i = 0;
    while (i < l->n && l->e[i].d != d) i++;
    if (i == QLOCAL_MAX) {
        quota_local_flush(l);
        i = 0;
    }
    if (i == l->n) {
        l->e[i].d = d;
        l->e[i].requests = l->e[i].bytes_in = l->e[i].bytes_out = l->e[i].bandwidth = 0;
        l->n++;
    }
    if (u->now_ns > l->now_ns) l->now_ns = u->now_ns;
    l->e[i].requests++;
    l->e[i].bytes_in += u->bytes_in;
    l->e[i].bytes_out += u->bytes_out;
    /* bytes_in was counted in bandwidth at the check already */
    l->e[i].bandwidth += u->bytes_out + u->bytes_in - v->reserved_bytes;
}

void quota_leave(quota_verdict *v)
{
    if (!v->entered) return;
    atomic_fetch_sub_explicit(&v->db->inflight, 1, memory_order_relaxed);
    v->entered = false;
}

void quota_data_set(quota *q, const char *database_id, int64_t bytes, int64_t now_ns)
{
    quota_db *d = (quota_db *)qmap_find(q, &q->dbs, database_id);
    if (!d) return;
    atomic_store_explicit(&d->data_bytes, bytes, memory_order_relaxed);
    atomic_store_explicit(&d->data_at_ns, now_ns, memory_order_relaxed);
}
