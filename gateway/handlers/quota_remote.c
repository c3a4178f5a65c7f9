/* quota_remote.c - see quota_remote.h. */
#include "gateway/handlers/quota_remote.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "billing/period.h"
#include "common/clock.h"
#include "common/mem.h"
#include "common/siphash.h"
#include "gateway/protocol/script_flags.h"
#include "gateway/redis/backend.h"

#define US_PER_S 1000000LL
#define NS_PER_US 1000LL
#define CACHE_SLOTS 256          /* refused databases remembered per worker */
#define CACHE_MAX_US US_PER_S    /* a raised limit applies within a second */
#define FAIL_LOG_EVERY_MS 60000

/*
 * KEYS: cps, rps, day, month. ARGV: n; cps T, tolerance; rps T, tolerance
 * (us; T 0: no such limit); daily, monthly limits (-1: none); the day's
 * and the month's key lifetimes (s); the day's and the month's seeds (this
 * node's counts: a counter the store lost starts there, not at 0).
 * Returns {0, cps TAT, rps TAT, daily, monthly, now} when allowed (counted),
 * {kind, usage, TAT or 0, now} when refused (1 cps, 2 rps, 3 daily,
 * 4 monthly; nothing counted). Times in us on the Redis clock.
 */
static const char script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local n = tonumber(ARGV[1])\n"
    "local cT, cTol = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local rT, rTol = tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local dl, ml = tonumber(ARGV[6]), tonumber(ARGV[7])\n"
    "local function tat_of(key)\n"
    "  local v = tonumber(redis.call('GET', key) or '0') or 0\n"
    "  if v < now then return now end\n"
    "  return v\n"
    "end\n"
    "local cnt, rnt = 0, 0\n"
    "if cT > 0 then\n"
    "  local base = tat_of(KEYS[1])\n"
    "  cnt = base + n * cT\n"
    "  if cnt - now > cTol then return {1, math.floor((base - now) / cT) + n, base, now} end\n"
    "end\n"
    "if rT > 0 then\n"
    "  local base = tat_of(KEYS[2])\n"
    "  rnt = base + rT\n"
    "  if rnt - now > rTol then return {2, math.floor((base - now) / rT) + 1, base, now} end\n"
    "end\n"
    "local d, m = 0, 0\n"
    "if dl >= 0 then\n"
    "  redis.call('SET', KEYS[3], ARGV[10], 'EX', ARGV[8], 'NX')\n"
    "  d = tonumber(redis.call('GET', KEYS[3]))\n"
    "  if n > 0 and d + n > dl then return {3, d + n, 0, now} end\n"
    "end\n"
    "if ml >= 0 then\n"
    "  redis.call('SET', KEYS[4], ARGV[11], 'EX', ARGV[9], 'NX')\n"
    "  m = tonumber(redis.call('GET', KEYS[4]))\n"
    "  if n > 0 and m + n > ml then return {4, m + n, 0, now} end\n"
    "end\n"
    "if cT > 0 then redis.call('SET', KEYS[1], string.format('%d', cnt), 'PX',\n"
    "  math.floor((cnt - now) / 1000) + 1000) end\n"
    "if rT > 0 then redis.call('SET', KEYS[2], string.format('%d', rnt), 'PX',\n"
    "  math.floor((rnt - now) / 1000) + 1000) end\n"
    "if dl >= 0 and n > 0 then d = redis.call('INCRBY', KEYS[3], n) end\n"
    "if ml >= 0 and n > 0 then m = redis.call('INCRBY', KEYS[4], n) end\n"
    "return {0, cnt, rnt, d, m, now}\n";

static const quota_kind kind_of_code[] = {QUOTA_NONE, QUOTA_CPS, QUOTA_RPS, QUOTA_DAILY,
                                          QUOTA_MONTHLY};

/* A refused database, remembered. */
typedef struct refused_slot {
    char id[METER_ID_MAX];
    int64_t until_ns;           /* refused without asking until then */
    int64_t reset_ns;           /* when the refused limit resets */
    quota_kind kind;
    int64_t limit, usage;
} refused_slot;

/* One call in flight: its request's verdict and callback. */
typedef struct qr_call {
    struct qr_call *prev, *next;
    quota_remote *qr;
    quota_verdict *v;
    quota_remote_done_fn done;
    void *ctx;
    char id[METER_ID_MAX];
    quota_shared sh;
    int64_t now_ns;             /* the local clock at the ask */
    int64_t day, month;
    bool retried;               /* sent again as EVAL after NOSCRIPT */
    int64_t n;
    redisReply *reply[1];
} qr_call;

struct quota_remote {
    backend *be;
    bool fail_closed;
    char sha[41];
    qr_call *calls;
    uint8_t key[16];
    refused_slot cache[CACHE_SLOTS];
};

static _Atomic uint64_t failed_open;
static _Atomic uint64_t last_fail_log_ms;

uint64_t quota_remote_failed_open(void)
{
    return atomic_load(&failed_open);
}

quota_remote *quota_remote_new(const tg_config *cfg, int epfd, tg_err *err)
{
    if (!cfg->quota_redis_url || !cfg->quota_redis_url[0]) {
        tg_fail(err, 500, "quota_store = redis needs quota_redis_url");
        return NULL;
    }
    backend_opts o = {epfd, (int)cfg->redis_connect_timeout_ms,
                      (int)cfg->redis_command_timeout_ms, 0};
    backend *be = backend_new(cfg->quota_redis_url, 0, NULL, &o, err);
    if (!be) return NULL;
    quota_remote *qr = xcalloc(1, sizeof *qr);
    qr->be = be;
    qr->fail_closed = cfg->quota_fail == CFG_QUOTA_FAIL_CLOSED;
    script_sha1_hex(script, sizeof script - 1, qr->sha);
    return qr;
}

static void call_unlink(qr_call *c)
{
    if (c->prev) c->prev->next = c->next;
    else c->qr->calls = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->reply[0]) freeReplyObject(c->reply[0]);
    free(c);
}

void quota_remote_drain(quota_remote *qr)
{
    if (!qr) return;
    backend_free(qr->be);   /* fails every call: their requests answer */
    qr->be = NULL;
}

void quota_remote_free(quota_remote *qr)
{
    if (!qr) return;
    quota_remote_drain(qr);
    while (qr->calls) call_unlink(qr->calls);
    free(qr);
}

void quota_remote_cancel(quota_remote *qr, void *ctx)
{
    for (qr_call *c = qr->calls; c; c = c->next)
        if (c->ctx == ctx) {
            if (qr->be) backend_cancel(qr->be, c);
            call_unlink(c);
            return;
        }
}

uint64_t quota_remote_deadline(const quota_remote *qr)
{
    return qr->be ? backend_deadline(qr->be) : UINT64_MAX;
}

void quota_remote_check_timeouts(quota_remote *qr, uint64_t now_ms)
{
    if (qr->be) backend_check_timeouts(qr->be, now_ms);
}

void quota_remote_flush(quota_remote *qr)
{
    if (qr->be && backend_has_output(qr->be)) backend_flush(qr->be);
}

/* ==== The refused cache ==== */

static refused_slot *slot_of(quota_remote *qr, const char *id)
{
    return &qr->cache[siphash24(qr->key, id, strlen(id)) % CACHE_SLOTS];
}

static int64_t secs_until(int64_t at_ns, int64_t now_ns)
{
    int64_t d = at_ns - now_ns;
    return d <= 0 ? 1 : (d + 999999999LL) / 1000000000LL;
}

/* Refuses v from the cache if its database is remembered. */
static bool cache_refuses(quota_remote *qr, const char *id, int64_t now_ns, quota_verdict *v)
{
    refused_slot *s = slot_of(qr, id);
    if (s->until_ns <= now_ns || strcmp(s->id, id)) return false;
    quota_verdict_refuse_at(v, s->kind, s->limit, s->usage, secs_until(s->reset_ns, now_ns));
    return true;
}

static void cache_put(quota_remote *qr, const qr_call *c, quota_kind k, int64_t limit,
                      int64_t usage, int64_t reset_ns)
{
    refused_slot *s = slot_of(qr, c->id);
    snprintf(s->id, sizeof s->id, "%s", c->id);
    s->kind = k;
    s->limit = limit;
    s->usage = usage;
    s->reset_ns = reset_ns;
    int64_t until = c->now_ns + CACHE_MAX_US * NS_PER_US;
    s->until_ns = reset_ns < until ? reset_ns : until;
}

/* ==== The call ==== */

/* GCRA of a rate and burst, in us (the engine's arithmetic). */
static void gcra_us(int64_t rate, int64_t burst, int64_t *T, int64_t *tol)
{
    if (rate < 0) {
        *T = *tol = 0;
        return;
    }
    *T = rate > 0 ? US_PER_S / rate : US_PER_S;
    if (*T < 1) *T = 1;
    if (burst <= 0) burst = rate > 0 ? rate : 1;
    *tol = burst * *T;
}

static void on_reply(void *ctx, const tg_err *err, bool sent);

static int submit(quota_remote *qr, qr_call *c, tg_err *err)
{
    int64_t cT, cTol, rT, rTol;
    gcra_us(c->sh.cps, c->sh.burst, &cT, &cTol);
    gcra_us(c->sh.rps, c->sh.rburst, &rT, &rTol);
    int64_t now_s = c->now_ns / 1000000000LL;
    int64_t day_ttl = (c->day + 1) * 86400 - now_s + 3600;
    int64_t month_ttl = period_start((int)c->month + 1) - now_s + 86400;
    char words[7][32 + METER_ID_MAX];
    const char *head = c->retried ? "EVAL" : "EVALSHA";
    snprintf(words[0], sizeof words[0], "%s", head);
    snprintf(words[2], sizeof words[2], "4");
    snprintf(words[3], sizeof words[3], "tollgate:q:%s:cps", c->id);
    snprintf(words[4], sizeof words[4], "tollgate:q:%s:rps", c->id);
    snprintf(words[5], sizeof words[5], "tollgate:q:%s:d:%lld", c->id, (long long)c->day);
    snprintf(words[6], sizeof words[6], "tollgate:q:%s:m:%lld", c->id, (long long)c->month);
    int64_t nums[11] = {c->n, cT, cTol, rT, rTol, c->sh.daily, c->sh.monthly, day_ttl,
                        month_ttl, c->sh.daily_seen, c->sh.monthly_seen};
    char *argv[18];
    size_t lens[18];
    argv[0] = words[0];
    argv[1] = c->retried ? (char *)script : qr->sha;
    argv[2] = words[2];
    for (int i = 3; i <= 6; i++) argv[i] = words[i];
    char nw[11][24];
    for (int i = 0; i < 11; i++) {
        snprintf(nw[i], sizeof nw[i], "%lld", (long long)nums[i]);
        argv[7 + i] = nw[i];
    }
    for (int i = 0; i < 18; i++) lens[i] = strlen(argv[i]);
    backend_cmd cmd = {.cmd = {18, argv, lens}};
    return backend_submit(qr->be, &cmd, 1, false, NULL, c->reply, on_reply, c, err);
}

/* The store did not answer: quota_fail decides. */
static qr_outcome unavailable(quota_remote *qr, const char *why)
{
    uint64_t now = clock_mono_ms(), last = atomic_load(&last_fail_log_ms);
    if ((!last || now - last >= FAIL_LOG_EVERY_MS) &&
        atomic_compare_exchange_strong(&last_fail_log_ms, &last, now))
        fprintf(stderr, "tollgate: quota store unreachable (%s): requests %s "
                "(%llu let through so far)\n", why, qr->fail_closed ? "refused" : "allowed",
                (unsigned long long)atomic_load(&failed_open));
    if (qr->fail_closed) return QR_UNAVAILABLE;
    atomic_fetch_add(&failed_open, 1);
    return QR_ALLOWED;
}

static int64_t i64_at(const redisReply *r, size_t i)
{
    return i < r->elements && r->element[i]->type == REDIS_REPLY_INTEGER ? r->element[i]->integer
                                                                         : 0;
}

/* The script's answer into c->v. */
static qr_outcome apply(quota_remote *qr, qr_call *c, const redisReply *r)
{
    quota_verdict *v = c->v;
    int64_t code = i64_at(r, 0), now_us = i64_at(r, r->elements - 1);
    int64_t now_s = now_us / US_PER_S;
    int64_t day_end = (c->day + 1) * 86400, month_end = period_start((int)c->month + 1);
    if (code > 0 && code <= 4) {
        quota_kind k = kind_of_code[code];
        int64_t limit = k == QUOTA_CPS ? c->sh.cps : k == QUOTA_RPS ? c->sh.rps
                      : k == QUOTA_DAILY ? c->sh.daily : c->sh.monthly;
        int64_t usage = i64_at(r, 1), tat = i64_at(r, 2), reset_s;
        if (code <= 2) {
            int64_t at = (tat + US_PER_S - 1) / US_PER_S;
            reset_s = at > now_s ? at - now_s : 1;
        } else {
            reset_s = (code == 3 ? day_end : month_end) - now_s;
        }
        quota_verdict_refuse_at(v, k, limit, usage, reset_s);
        cache_put(qr, c, k, limit, usage, c->now_ns + reset_s * 1000000000LL);
        return QR_REFUSED;
    }
    int64_t cT, cTol, rT, rTol;
    gcra_us(c->sh.cps, c->sh.burst, &cT, &cTol);
    gcra_us(c->sh.rps, c->sh.rburst, &rT, &rTol);
    int64_t tats[2] = {i64_at(r, 1), i64_at(r, 2)}, Ts[2] = {cT, rT}, tols[2] = {cTol, rTol};
    static const char *const names[2] = {"cps", "rps"};
    for (int i = 0; i < 2; i++) {
        if (Ts[i] <= 0) continue;
        int64_t used = tats[i] > now_us ? tats[i] - now_us : 0;
        int64_t at = (tats[i] + US_PER_S - 1) / US_PER_S;
        quota_verdict_policy(v, names[i], used >= tols[i] ? 0 : (tols[i] - used) / Ts[i],
                             at > now_s ? at - now_s : 0);
    }
    if (c->sh.daily >= 0)
        quota_verdict_policy(v, "daily", c->sh.daily - i64_at(r, 3), day_end - now_s);
    if (c->sh.monthly >= 0)
        quota_verdict_policy(v, "monthly", c->sh.monthly - i64_at(r, 4), month_end - now_s);
    return QR_ALLOWED;
}

static void on_reply(void *ctx, const tg_err *err, bool sent)
{
    qr_call *c = ctx;
    quota_remote *qr = c->qr;
    (void)sent;
    qr_outcome out;
    redisReply *r = c->reply[0];
    if (err) {
        c->reply[0] = NULL;     /* the backend's to free */
        out = unavailable(qr, err->msg);
    } else if (r->type == REDIS_REPLY_ERROR && !c->retried && !strncmp(r->str, "NOSCRIPT", 8)) {
        tg_err e2;
        freeReplyObject(r);
        c->reply[0] = NULL;
        c->retried = true;      /* EVAL loads it for every later EVALSHA */
        if (submit(qr, c, &e2) == 0) return;
        out = unavailable(qr, e2.msg);
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements < 4) {
        out = unavailable(qr, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    } else {
        out = apply(qr, c, r);
    }
    quota_remote_done_fn done = c->done;
    void *dctx = c->ctx;
    call_unlink(c);
    done(dctx, out);
}

qr_outcome quota_remote_check(quota_remote *qr, const quota_ask *a, quota_verdict *v,
                              quota_remote_done_fn done, void *ctx)
{
    quota_shared sh;
    if (!a->database_id || !quota_shared_of(v, &sh)) return QR_ALLOWED;
    if (cache_refuses(qr, a->database_id, a->now_ns, v)) return QR_REFUSED;
    if (!qr->be) return unavailable(qr, "draining");
    qr_call *c = xcalloc(1, sizeof *c);
    c->qr = qr;
    c->v = v;
    c->done = done;
    c->ctx = ctx;
    snprintf(c->id, sizeof c->id, "%s", a->database_id);
    c->sh = sh;
    c->n = a->commands > 0 ? a->commands : 0;
    c->now_ns = a->now_ns;
    int64_t now_s = a->now_ns / 1000000000LL;
    c->day = now_s / 86400;
    c->month = period_of(now_s);
    c->next = qr->calls;
    if (qr->calls) qr->calls->prev = c;
    qr->calls = c;
    tg_err err;
    if (submit(qr, c, &err)) {
        call_unlink(c);
        return unavailable(qr, err.msg);
    }
    return QR_PENDING;
}
