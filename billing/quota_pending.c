/*
 * quota_pending.c - databases the quota engine has not loaded yet
 * (quota.h, "Databases not loaded yet").
 *
 * A request of a database the refresher has not loaded (created a moment
 * ago through the CLI or the admin API) is counted on the database's
 * pending counter: its commands and bytes per meter outcome (the plan
 * that says which outcomes bill is not known yet), with no limit
 * applied. Creating the counter wakes the refresher, which loads the
 * database at once and, before publishing its state, adopts the counter:
 * moves what it holds into the state and the tenant's cost, and points
 * the counter at the state, where every later check and settlement goes.
 *
 * Why this is exact: the counter of an id is created, and the state of
 * that id published, under the same mutex (the pending map's shard of the
 * id's hash; both maps share the hash). A request that finds no state
 * either finds or creates the counter before the publication (which then
 * adopts it) or sees the state after it: no request is counted on a
 * counter nobody adopts, and none twice (adoption and counting hold the
 * counter's lock). The seed from the rollups covers only earlier
 * processes' events (quota_refresh.c's snapshot), so nothing this process
 * counts is also seeded.
 */
#include <string.h>

#include "common/mem.h"
#include "billing/period.h"
#include "billing/quota.h"
#include "billing/quota_int.h"

void pending_free(qnode *n)
{
    quota_pending *p = (quota_pending *)n;
    pthread_spin_destroy(&p->lock);
    free(p);
}

/* Wakes the refresher: a database waits to be loaded. */
static void kick(quota *q)
{
    pthread_mutex_lock(&q->stop_lock);
    q->kick = true;
    pthread_cond_signal(&q->stop_cond);
    pthread_mutex_unlock(&q->stop_lock);
}

quota_pending *pending_get(quota *q, const char *id, quota_db **dp)
{
    *dp = NULL;
    quota_pending *p = (quota_pending *)qmap_find(q, &q->pending, id);
    if (p) return p;
    if (strnlen(id, METER_ID_MAX) >= METER_ID_MAX) return NULL;  /* no such id */
    p = xcalloc(1, sizeof *p);
    pthread_spin_init(&p->lock, PTHREAD_PROCESS_PRIVATE);
    qnode_key(q, &p->node, id);
    qshard *s = &q->pending.shards[p->node.hash % QMAP_SHARDS];
    pthread_mutex_lock(&s->lock);
    /* Published meanwhile (under this mutex): no counter needed. */
    quota_db *d = (quota_db *)qmap_find(q, &q->dbs, id);
    quota_pending *have = d ? NULL : (quota_pending *)qmap_insert_locked(&q->pending, &p->node);
    pthread_mutex_unlock(&s->lock);
    if (have != p) {
        pending_free(&p->node);
        *dp = d;
        return have;
    }
    kick(q);
    return p;
}

/* Moves p's counters to now's day and month (lock held). */
static void pending_roll(quota_pending *p, int64_t now_ns)
{
    int64_t now_s = now_ns / NS_PER_S, day = now_s / 86400;
    int month = period_of(now_s);
    if (p->day != day) {
        p->day = day;
        memset(p->day_cmd, 0, sizeof p->day_cmd);
    }
    if (p->month != month) {
        p->month = month;
        memset(p->q, 0, sizeof p->q);
    }
}

bool pending_check(quota_pending *p, int64_t n, int64_t bytes_in, int64_t now_ns, quota_db **dp)
{
    pthread_spin_lock(&p->lock);
    if (p->adopted) {
        *dp = p->adopted;
        pthread_spin_unlock(&p->lock);
        return false;
    }
    pending_roll(p, now_ns);
    p->reserved += n;
    p->reserved_bytes += bytes_in;
    pthread_spin_unlock(&p->lock);
    return true;
}

bool pending_record(quota_pending *p, const quota_verdict *v, const quota_usage *u,
                    quota_db **dp)
{
    pthread_spin_lock(&p->lock);
    if (p->adopted) {
        *dp = p->adopted;
        pthread_spin_unlock(&p->lock);
        return false;
    }
    pending_roll(p, u->now_ns);
    if (v && v->pending == p) {
        p->reserved -= v->reserved;
        p->reserved_bytes -= v->reserved_bytes;
        if (p->reserved < 0) p->reserved = 0;   /* reserved before a roll */
        if (p->reserved_bytes < 0) p->reserved_bytes = 0;
    }
    int o = u->outcome >= 0 && u->outcome < QP_OUTCOMES ? u->outcome : QP_OUTCOMES - 1;
    p->day_cmd[o] += u->billable_commands;
    p->q[o][BQ_COMMANDS] += u->billable_commands;
    p->q[o][BQ_REQUESTS] += 1;
    p->q[o][BQ_BYTES_IN] += u->bytes_in;
    p->q[o][BQ_BYTES_OUT] += u->bytes_out;
    pthread_spin_unlock(&p->lock);
    return true;
}

/* p's counts into d (not published yet) and its tenant, priced as
 * quota_record would have (p's lock held). */
static void adopt(quota_pending *p, quota_db *d, int64_t now_ns)
{
    pending_roll(p, now_ns);
    quota_tenant *t = d->tenant;
    uint32_t bills = atomic_load_explicit(&t->billable, memory_order_relaxed);
    bool today = p->day == d->day, month = p->month == d->month;
    int64_t dq[BQ_COUNT] = {p->reserved, 0, 0, 0};
    for (int o = 0; o < QP_OUTCOMES; o++) {
        bool billed = o < 32 && (bills >> o) & 1;
        /* A refusal its plan does not bill costs nothing (quota_record). */
        bool free_refusal = o == METER_QUOTA_REJECTED && !billed;
        if (billed) dq[BQ_COMMANDS] += p->q[o][BQ_COMMANDS];
        if (billed && today) d->daily += p->day_cmd[o];
        if (free_refusal) continue;
        for (int m = BQ_REQUESTS; m < BQ_COUNT; m++) dq[m] += p->q[o][m];
    }
    if (today) d->daily += p->reserved;
    if (!month) return;
    d->monthly += dq[BQ_COMMANDS];
    d->bandwidth += dq[BQ_BYTES_IN] + dq[BQ_BYTES_OUT] + p->reserved_bytes;
    pthread_spin_lock(&t->lock);
    tenant_roll(t, p->month);
    tenant_add(t, d, dq);
    pthread_spin_unlock(&t->lock);
}

void pending_publish(quota *q, quota_db *d, int64_t now_ns)
{
    qshard *s = &q->pending.shards[d->node.hash % QMAP_SHARDS];
    pthread_mutex_lock(&s->lock);
    quota_pending *p = (quota_pending *)qmap_find(q, &q->pending, d->node.id);
    if (p) {
        pthread_spin_lock(&p->lock);
        adopt(p, d, now_ns);
        p->adopted = d;
        pthread_spin_unlock(&p->lock);
    }
    qmap_insert(q, &q->dbs, &d->node);
    pthread_mutex_unlock(&s->lock);
}
