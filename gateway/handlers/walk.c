/* walk.c - see walk.h: a request's keyspace walks, slice by slice. */
#include "gateway/handlers/walk.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/mem.h"
#include "gateway/protocol/reply.h"

/* How each kind of walk counts against the limits (walk.h). */
static const struct {
    keywalk_kind kind;
    bool full;          /* counts towards WALK_FULL_MAX */
    bool slot;          /* takes the database's walk slot */
} walk_rules[] = {
    {KEYWALK_DBSIZE, true, true},   {KEYWALK_FLUSH, true, true},
    {KEYWALK_KEYS, true, true},     {KEYWALK_RANDOMKEY, false, true},
    {KEYWALK_SCAN, false, false},
};

static int rule_of(const keywalk *w)
{
    for (size_t i = 0; i < sizeof walk_rules / sizeof walk_rules[0]; i++)
        if (walk_rules[i].kind == keywalk_kind_of(w)) return (int)i;
    abort(); /* a kind without a rule: a bug */
}

struct walk_run {
    uint64_t max_reply_bytes;
    struct {
        int index;               /* among the commands sent */
        keywalk *w;
    } walks[WALK_ALL_MAX];
    int nwalks, nfull;
    bool wants_slot;
    /* While submitted: */
    backend *b;
    const backend_cmd *cmds;
    int n;
    const char *database_id;     /* the caller's; valid until the end */
    redisReply **replies;
    backend_done_fn done;
    void *ctx;
    int next;                    /* first command not yet run */
    int seg_end;                 /* end of the plain segment in flight */
    int wi;                      /* walks[wi] is the next (or current) walk */
    redisReply *slice;           /* the reply slot of the slice in flight */
    bool inflight, holds_slot;
    bool sent;                   /* anything was submitted */
    bool reached;                /* some of it was written to Redis (billable) */
    uint64_t bytes;              /* of the replies so far (max_reply_bytes) */
    /* Waiting for the database's slot: in this thread's list. */
    bool waiting;
    uint64_t wait_until;         /* ms, monotonic: then 429 */
    walk_run *wprev, *wnext;
};

/* The runs of this worker thread waiting for their database's slot. */
static _Thread_local walk_run *waiters;

/* ==== The databases walking (process-wide) ==== */

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static char **slots;             /* database ids, unordered */
static size_t nslots, slots_cap;

static bool slot_take(const char *id)
{
    bool ok = true;
    pthread_mutex_lock(&slots_lock);
    for (size_t i = 0; i < nslots && ok; i++)
        if (!strcmp(slots[i], id)) ok = false;
    if (ok) {
        if (nslots == slots_cap) {
            slots_cap = slots_cap ? 2 * slots_cap : 16;
            slots = xrealloc(slots, slots_cap * sizeof *slots);
        }
        slots[nslots++] = xstrdup(id);
    }
    pthread_mutex_unlock(&slots_lock);
    return ok;
}

static void slot_give(const char *id)
{
    pthread_mutex_lock(&slots_lock);
    for (size_t i = 0; i < nslots; i++)
        if (!strcmp(slots[i], id)) {
            free(slots[i]);
            slots[i] = slots[--nslots];
            break;
        }
    pthread_mutex_unlock(&slots_lock);
}

/* ==== Building a run ==== */

walk_run *walk_run_new(arena *a, uint64_t max_reply_bytes)
{
    walk_run *run = arena_alloc(a, sizeof *run);
    memset(run, 0, sizeof *run);
    run->max_reply_bytes = max_reply_bytes;
    return run;
}

int walk_run_add(walk_run *run, int index, keywalk *w, tg_err *err)
{
    int rule = rule_of(w);
    bool full = walk_rules[rule].full;
    if (full && run->nfull >= WALK_FULL_MAX) {
        keywalk_free(w);
        return tg_fail(err, 400, "ERR at most %d of DBSIZE, FLUSHDB, FLUSHALL and KEYS per "
                       "request on a shared database (each walks the server's whole "
                       "keyspace): send the others in another request", WALK_FULL_MAX);
    }
    if (run->nwalks >= WALK_ALL_MAX) {
        keywalk_free(w);
        return tg_fail(err, 400, "ERR at most %d keyspace commands (DBSIZE, FLUSHDB, "
                       "FLUSHALL, KEYS, RANDOMKEY, SCAN) per request on a shared "
                       "database: send the others in another request", WALK_ALL_MAX);
    }
    keywalk_limit(w, run->max_reply_bytes);
    run->walks[run->nwalks].index = index;
    run->walks[run->nwalks].w = w;
    run->nwalks++;
    if (full) run->nfull++;
    if (walk_rules[rule].slot) run->wants_slot = true;
    return 0;
}

/* ==== The request's reply cap ==== */

/* Our error in the place of a reply that went over the cap. */
static redisReply *over_cap(void)
{
    static const char msg[] = "-ERR replies too large: this request's replies together are "
                              "over max_reply_bytes; the command ran, its reply is not sent\r\n";
    return reply_from_resp(msg, sizeof msg - 1);
}

/* max_reply_bytes holds for the request's replies together, as the
 * backend holds it within one submission: replies[from..to) are counted
 * on, and from the one that goes over, each is replaced by an error. */
static void cap_replies(walk_run *run, int from, int to)
{
    for (int i = from; run->max_reply_bytes && i < to; i++) {
        if (run->bytes > run->max_reply_bytes) { /* over already */
            freeReplyObject(run->replies[i]);
            run->replies[i] = over_cap();
            continue;
        }
        run->bytes += run->replies[i] ? reply_resp2_size(run->replies[i]) : 0;
        if (run->bytes > run->max_reply_bytes) {
            freeReplyObject(run->replies[i]);
            run->replies[i] = over_cap();
        }
    }
}

/* ==== Running ==== */

static int advance(walk_run *run, tg_err *err);

/* The run is over: the slot is free for the next request at once. */
static void finish(walk_run *run, const tg_err *err)
{
    if (run->holds_slot) slot_give(run->database_id);
    run->holds_slot = false;
    run->done(run->ctx, err, run->reached || !err);
}

static void go_on(walk_run *run)
{
    tg_err err;
    if (advance(run, &err)) finish(run, &err);
}

static void on_segment(void *ctx, const tg_err *err, bool sent)
{
    walk_run *run = ctx;
    run->inflight = false;
    run->reached |= sent;
    if (err) {
        finish(run, err);
        return;
    }
    cap_replies(run, run->next, run->seg_end);
    run->next = run->seg_end;
    go_on(run);
}

static void on_slice(void *ctx, const tg_err *err, bool sent)
{
    walk_run *run = ctx;
    run->inflight = false;
    run->reached |= sent;
    if (err) { /* the backend freed the slice's reply */
        run->slice = NULL;
        finish(run, err);
        return;
    }
    redisReply *r = run->slice, *answer;
    run->slice = NULL;
    keywalk *w = run->walks[run->wi].w;
    if (keywalk_feed(w, r, &answer)) {
        run->replies[run->walks[run->wi].index] = answer;
        cap_replies(run, run->next, run->next + 1);
        keywalk_free(w);
        run->wi++;
        run->next++;
    }
    go_on(run);
}

/* Submits what comes next: a slice of the current walk, or the plain
 * commands up to the next walk; at the end, answers. */
static int advance(walk_run *run, tg_err *err)
{
    if (run->next >= run->n) {
        finish(run, NULL);
        return 0;
    }
    bool walking = run->wi < run->nwalks && run->walks[run->wi].index == run->next;
    int rc;
    if (walking) {
        backend_cmd c = {.as_gateway = true};
        keywalk_next(run->walks[run->wi].w, &c.cmd);
        rc = backend_submit(run->b, &c, 1, false, run->database_id, &run->slice, on_slice,
                            run, err);
    } else {
        run->seg_end = run->wi < run->nwalks ? run->walks[run->wi].index : run->n;
        rc = backend_submit(run->b, run->cmds + run->next, run->seg_end - run->next, false,
                            run->database_id, run->replies + run->next, on_segment, run,
                            err);
    }
    if (!rc) run->inflight = run->sent = true;
    return rc;
}

/* ==== Waiting for the database's slot ==== */

static void wait_unlink(walk_run *run)
{
    if (!run->waiting) return;
    if (run->wprev) run->wprev->wnext = run->wnext;
    else waiters = run->wnext;
    if (run->wnext) run->wnext->wprev = run->wprev;
    run->wprev = run->wnext = NULL;
    run->waiting = false;
}

static void wait_link(walk_run *run)
{
    run->waiting = true;
    run->wait_until = clock_mono_ms() + WALK_WAIT_MS;
    run->wprev = NULL;
    run->wnext = waiters;
    if (waiters) waiters->wprev = run;
    waiters = run;
}

uint64_t walk_deadline(void)
{
    return waiters ? clock_mono_ms() + WALK_POLL_MS : UINT64_MAX;
}

void walk_poll(uint64_t now_ms)
{
    walk_run *next;
    /* Oldest first: the list is newest first, so start at its tail. */
    walk_run *run = waiters;
    while (run && run->wnext) run = run->wnext;
    for (; run; run = next) {
        next = run->wprev;
        tg_err err;
        if (slot_take(run->database_id)) {
            wait_unlink(run);
            run->holds_slot = true;
            if (advance(run, &err)) finish(run, &err);
        } else if (now_ms >= run->wait_until) {
            wait_unlink(run);
            tg_fail(&err, 429, "ERR this database's DBSIZE, FLUSHDB, FLUSHALL, KEYS and "
                    "RANDOMKEY run one at a time, and another has run for over %d s: "
                    "retry later", WALK_WAIT_MS / 1000);
            finish(run, &err);
        }
    }
}

int walk_run_submit(walk_run *run, backend *b, const backend_cmd *cmds, int n,
                    const char *database_id, redisReply **replies, backend_done_fn done,
                    void *ctx, tg_err *err)
{
    run->b = b;
    run->cmds = cmds;
    run->n = n;
    run->database_id = database_id;
    run->replies = replies;
    run->done = done;
    run->ctx = ctx;
    if (run->wants_slot) {
        if (!slot_take(database_id)) { /* walk_poll starts it */
            wait_link(run);
            return 0;
        }
        run->holds_slot = true;
    }
    /* The first submission fails before anything is sent: no answer. */
    if (advance(run, err)) {
        slot_give(database_id);
        run->holds_slot = false;
            return -1;
    }
    return 0;
}

uint32_t walk_run_billable(const walk_run *run, uint32_t billable)
{
    if (!run) return billable;
    if (!run->sent) return 0;
    for (int i = 0; i < run->nwalks; i++) {
        uint32_t s = keywalk_slices(run->walks[i].w);
        if (s > 1) billable += s - 1;
    }
    return billable;
}

void walk_run_end(walk_run *run)
{
    if (!run) return;
    wait_unlink(run);
    if (run->inflight && run->b) backend_cancel(run->b, run);
    run->inflight = false;
    for (int i = 0; i < run->nwalks; i++) keywalk_free(run->walks[i].w);
    if (run->holds_slot) slot_give(run->database_id);
    run->holds_slot = false;
}
