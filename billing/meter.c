/* meter.c - see meter.h: the recording path and the writer thread. */
#include "billing/meter.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/mem.h"
#include "billing/meter_node.h"
#include "billing/queue.h"
#include "billing/spill.h"
#include "billing/writer.h"

#define PRUNE_EVERY_MS 60000
#define PRUNE_CHUNK 50000        /* events deleted per pruning transaction */
#define RETRY_MIN_MS 50
#define RETRY_MAX_MS 1000
#define STOP_RETRY_MS 3000       /* at shutdown, retry the database this long, then spill */
#define LOG_EVERY_MS 10000

static _Atomic uint64_t m_requests, m_commands, m_billable, m_in, m_out, m_errors;
static _Atomic uint64_t m_committed, m_anonymous, m_duplicates, m_conflicts, m_spilled,
    m_replayed, m_rejected, m_lost, m_failures;

/* The running meter; NULL fields when stopped. */
static struct {
    _Atomic bool running;
    meter_queue *q;
    meter_spill *spill;
    meter_writer *w;
    meter_node *node;
    meter_options o;
    _Atomic uint64_t stop_at;       /* clock_mono_ms: stopping, spill from then on */
    pthread_t thread;
    char *spill_path;
    _Atomic uint64_t last_loss_log;
    _Atomic bool spill_failing;     /* the last spill write failed */
} M;

static void copy_id(char *dst, const char *src)
{
    size_t l = src ? strnlen(src, METER_ID_MAX - 1) : 0;
    memcpy(dst, src ? src : "", l);
    memset(dst + l, 0, METER_ID_MAX - l);
}

static void row_fill(meter_row *r, const meter_event *e)
{
    r->time_ms = e->time_ms;
    r->bytes_in = e->bytes_in;
    r->bytes_out = e->bytes_out;
    r->commands = e->commands;
    r->billable_commands = e->billable_commands;
    r->backend_us = e->backend_us;
    r->http_status = (uint16_t)e->http_status;
    r->kind = (uint8_t)e->kind;
    r->outcome = (uint8_t)e->outcome;
    r->quota_limit = e->quota_limit;
    copy_id(r->tenant_id, e->tenant_id);
    copy_id(r->database_id, e->database_id);
    copy_id(r->jti, e->jti);
    r->names = e->names;
    r->id = e->id ? e->id : meter_id_next(e->time_ms);
}

static void log_loss(const char *what, uint64_t n, const tg_err *err)
{
    uint64_t now = clock_mono_ms(), last = atomic_load(&M.last_loss_log);
    if (now - last < 1000 && last) return;
    atomic_store(&M.last_loss_log, now);
    fprintf(stderr, "tollgate: metering: LOST %llu event(s) (%s): %s\n",
            (unsigned long long)n, what, err ? err->msg : "no room");
}

bool meter_admit(void)
{
    if (!atomic_load_explicit(&M.running, memory_order_relaxed)) return true;
    /* Spill mode refuses only when the spill file fails too (disk full):
     * refusing beats losing. */
    if (M.o.overflow == METER_OVERFLOW_SPILL &&
        !atomic_load_explicit(&M.spill_failing, memory_order_relaxed))
        return true;
    /* Refuse once three quarters of the buffers are in use. */
    if (meter_queue_free_buffers(M.q) * 4 > meter_queue_buffers(M.q)) return true;
    atomic_fetch_add_explicit(&m_rejected, 1, memory_order_relaxed);
    return false;
}

void meter_record(const meter_event *e)
{
    atomic_fetch_add_explicit(&m_requests, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m_commands, e->commands, memory_order_relaxed);
    atomic_fetch_add_explicit(&m_billable, e->billable_commands, memory_order_relaxed);
    atomic_fetch_add_explicit(&m_in, e->bytes_in, memory_order_relaxed);
    atomic_fetch_add_explicit(&m_out, e->bytes_out, memory_order_relaxed);
    if (e->outcome != METER_OK)
        atomic_fetch_add_explicit(&m_errors, 1, memory_order_relaxed);
    if (!atomic_load_explicit(&M.running, memory_order_acquire)) return;
    if (e->outcome == METER_BACKLOG) return;   /* counted in rejected */
    meter_row row;
    row_fill(&row, e);
    if (meter_queue_push(M.q, &row) == 0) return;
    /* The queue is full: the spill file, whatever the policy (reject
     * mode gets here only when admitted requests overrun the headroom). */
    tg_err err;
    if (meter_spill_append(M.spill, &row, 1, &err) == 0) {
        atomic_store_explicit(&M.spill_failing, false, memory_order_relaxed);
        atomic_fetch_add_explicit(&m_spilled, 1, memory_order_relaxed);
        return;
    }
    atomic_store_explicit(&M.spill_failing, true, memory_order_relaxed);
    atomic_fetch_add_explicit(&m_lost, 1, memory_order_relaxed);
    log_loss("queue full, spill failed", 1, &err);
}

/* ==== The writer thread ==== */

static size_t list_rows(const meter_batch *b)
{
    size_t n = 0;
    for (; b; b = b->next) n += b->n;
    return n;
}

static int spill_list(const meter_batch *b, tg_err *err)
{
    for (; b; b = b->next)
        if (b->n && meter_spill_append(M.spill, b->rows, b->n, err)) return -1;
    return 0;
}

/* Counts a successful commit; a clash is an error, logged. */
static void count_commit(const meter_commit_stats *st, const char *what)
{
    atomic_fetch_add_explicit(&m_committed, st->inserted, memory_order_relaxed);
    atomic_fetch_add_explicit(&m_anonymous, st->anonymous, memory_order_relaxed);
    atomic_fetch_add_explicit(&m_duplicates, st->duplicates, memory_order_relaxed);
    if (!st->conflicts) return;
    atomic_fetch_add_explicit(&m_conflicts, st->conflicts, memory_order_relaxed);
    fprintf(stderr, "tollgate: metering: ERROR: %llu %s event(s) had an id already stored for "
            "a different event (first: %llu); stored under new ids and billed. Does another "
            "writer share this node id?\n", (unsigned long long)st->conflicts, what,
            (unsigned long long)st->first_conflict_id);
}

/* Spills list: true when done. Counts it as spilled, or as lost when
 * give_up (stopping past the deadline, the database down too). */
static bool writer_spill(meter_batch *list, size_t n, bool give_up)
{
    tg_err err;
    if (spill_list(list, &err) == 0) {
        atomic_store_explicit(&M.spill_failing, false, memory_order_relaxed);
        atomic_fetch_add_explicit(&m_spilled, n, memory_order_relaxed);
        return true;
    }
    atomic_store_explicit(&M.spill_failing, true, memory_order_relaxed);
    fprintf(stderr, "tollgate: metering: %s\n", err.msg);
    if (!give_up) return false;
    atomic_fetch_add_explicit(&m_lost, n, memory_order_relaxed);
    log_loss("database and spill file both failed at shutdown", n, &err);
    return true;
}

/* Commits list, retrying while the database refuses. Spills instead when
 * the policy says so, or once the gateway has been stopping for
 * STOP_RETRY_MS (meter_stop sets M.stop_at; the closing flag is read on
 * every attempt and wakes the back-off sleep, so a database that stays
 * down holds the shutdown for STOP_RETRY_MS, not forever). */
static void writer_handle(meter_batch *list)
{
    tg_err err;
    int delay = RETRY_MIN_MS;
    size_t n = list_rows(list);
    for (;;) {
        uint64_t stop_at = atomic_load(&M.stop_at);
        bool past = stop_at && clock_mono_ms() >= stop_at;
        if (!past) {
            meter_commit_stats st;
            uint64_t t0 = clock_mono_us();
            if (meter_writer_commit(M.w, list, &st, &err) == 0) {
                metrics_observe(MS_METER_FLUSH, metrics_lat_bounds_us, METRICS_LAT_BUCKETS,
                                clock_mono_us() - t0);
                metrics_observe(MS_METER_BATCH, metrics_size_bounds, METRICS_SIZE_BUCKETS, n);
                count_commit(&st, "recorded");
                return;
            }
            atomic_fetch_add_explicit(&m_failures, 1, memory_order_relaxed);
            fprintf(stderr, "tollgate: %s (%zu events waiting)\n", err.msg, n);
            stop_at = atomic_load(&M.stop_at);
            past = stop_at && clock_mono_ms() >= stop_at;
        }
        if ((M.o.overflow == METER_OVERFLOW_SPILL || past) && writer_spill(list, n, past))
            return;
        int ms = delay;
        if (stop_at) {
            uint64_t now = clock_mono_ms();
            ms = now >= stop_at ? 0 : (int)(stop_at - now < (uint64_t)ms ? stop_at - now : (uint64_t)ms);
        }
        meter_queue_sleep(M.q, ms);
        delay = delay * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : delay * 2;
    }
}

/* One chunk of retention pruning: raw events past retention_days, else
 * the oldest ones while the state file holds more than retention_mb. True
 * when more may be left, so the writer comes back to it between batches
 * rather than stalling them. */
static bool prune(void)
{
    tg_err err;
    uint64_t keep_ms = (uint64_t)M.o.retention_days * 86400000ULL, now = clock_wall_ms(), n = 0;
    if (now > keep_ms && meter_writer_prune(M.w, now - keep_ms, PRUNE_CHUNK, &n, &err))
        goto out_log;
    if (n == PRUNE_CHUNK) return true;
    uint64_t used;
    if (M.o.retention_mb <= 0) return false;
    if (meter_writer_used_bytes(M.w, &used, &err)) goto out_log;
    if (used <= (uint64_t)M.o.retention_mb << 20) return false;
    if (meter_writer_prune_oldest(M.w, PRUNE_CHUNK, &n, &err)) goto out_log;
    return n == PRUNE_CHUNK;   /* fewer: nothing raw is left to prune */

out_log:
    fprintf(stderr, "tollgate: %s\n", err.msg);
    return false;
}

static void *writer_main(void *arg)
{
    (void)arg;
    /* Background work: a commit burst (a few ms of CPU every 100 ms) must
     * not delay request threads on a small machine. The writer has ten
     * times the headroom it needs, so it runs at a lower priority (nice 10
     * for this thread only). */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) != 0) { /* best effort */ }
    uint64_t deadline = clock_mono_ms() + (uint64_t)M.o.flush_ms;
    uint64_t next_prune = clock_mono_ms();   /* prune once at start */
    for (;;) {
        bool closing;
        meter_batch *list = meter_queue_take(M.q, deadline, &closing);
        uint64_t now = clock_mono_ms();
        if (now >= deadline) deadline = now + (uint64_t)M.o.flush_ms;
        if (list) {
            writer_handle(list);
            meter_queue_give_back(M.q, list);
        } else if (closing) {
            break;   /* closing: loop until take finds nothing */
        } else {
            meter_queue_trim(M.q, now);   /* quiet: idle buffers' pages go back */
        }
        if (!closing && now >= next_prune)
            next_prune = prune() ? now : now + PRUNE_EVERY_MS;
    }
    return NULL;
}

/* ==== Lifecycle ==== */

int meter_start(const meter_options *o, tg_err *err)
{
    if (atomic_load(&M.running)) return tg_fail(err, 500, "metering: already started");
    M.o = *o;
    if (M.o.flush_ms < 1) M.o.flush_ms = 100;
    if (M.o.batch_events < 1) M.o.batch_events = 4096;
    if (M.o.queue_events < M.o.batch_events) M.o.queue_events = M.o.batch_events;
    size_t pl = strlen(o->sqlite_path) + 16;
    if (o->spill_path && *o->spill_path) {
        M.spill_path = xstrdup(o->spill_path);
    } else {
        M.spill_path = xmalloc(pl);
        snprintf(M.spill_path, pl, "%s.meter-spill", o->sqlite_path);
    }
    M.o.spill_path = M.spill_path;
    M.w = meter_writer_open(o->sqlite_path, o->sync_full, err);
    if (!M.w) goto out_free;
    /* The node first: replayed clashes are re-keyed with this node's ids. */
    M.node = meter_node_claim(o->sqlite_path, o->node_id, err);
    if (!M.node) goto out_free;
    uint64_t max_id;
    if (meter_writer_max_id(M.w, &max_id, err)) goto out_free;
    meter_id_seed(max_id, meter_node_id(M.node));
    if (meter_node_id(M.node) != o->node_id)
        fprintf(stderr, "tollgate: metering: node id %d is held by another gateway on %s; "
                "this one uses node id %d\n", o->node_id, o->sqlite_path, meter_node_id(M.node));
    meter_commit_stats replayed;
    if (meter_writer_replay(M.w, M.spill_path, M.o.batch_events, &replayed, err)) goto out_free;
    if (replayed.inserted || replayed.anonymous) {
        atomic_fetch_add(&m_replayed, replayed.inserted + replayed.anonymous);
        fprintf(stderr, "tollgate: metering: replayed %llu event(s) from %s\n",
                (unsigned long long)(replayed.inserted + replayed.anonymous), M.spill_path);
    }
    if (replayed.conflicts) count_commit(&(meter_commit_stats){.conflicts = replayed.conflicts,
                                           .first_conflict_id = replayed.first_conflict_id},
                                         "replayed");
    /* Replayed rows may carry ids above the stored ones. */
    if (meter_writer_max_id(M.w, &max_id, err)) goto out_free;
    meter_id_seed(max_id, meter_node_id(M.node));
    M.q = meter_queue_new(M.o.queue_events, M.o.batch_events);
    M.spill = meter_spill_new(M.spill_path);
    atomic_store(&M.running, true);
    if (pthread_create(&M.thread, NULL, writer_main, NULL)) {
        atomic_store(&M.running, false);
        tg_fail(err, 500, "metering: cannot start the writer thread");
        goto out_free;
    }
    return 0;

out_free:
    meter_queue_free(M.q);
    meter_spill_free(M.spill);
    meter_writer_free(M.w);
    meter_node_release(M.node);
    free(M.spill_path);
    memset(&M, 0, sizeof M);
    return -1;
}

void meter_stop(void)
{
    if (!atomic_load(&M.running)) return;
    atomic_store(&M.running, false);
    /* Bounded: the writer retries the database until stop_at, then spills
     * what is left (see writer_handle). */
    uint64_t stop_at = clock_mono_ms() + STOP_RETRY_MS;
    atomic_store(&M.stop_at, stop_at);
    meter_writer_set_deadline(M.w, stop_at);
    meter_queue_close(M.q);
    pthread_join(M.thread, NULL);
    meter_queue_free(M.q);
    meter_spill_free(M.spill);
    meter_writer_free(M.w);
    meter_node_release(M.node);
    free(M.spill_path);
    memset(&M, 0, sizeof M);
}

/* ==== Counters ==== */

void meter_snapshot(meter_totals *out)
{
    out->requests = atomic_load(&m_requests);
    out->commands = atomic_load(&m_commands);
    out->billable_commands = atomic_load(&m_billable);
    out->bytes_in = atomic_load(&m_in);
    out->bytes_out = atomic_load(&m_out);
    out->errors = atomic_load(&m_errors);
    out->committed = atomic_load(&m_committed);
    out->anonymous = atomic_load(&m_anonymous);
    out->duplicates = atomic_load(&m_duplicates);
    out->conflicts = atomic_load(&m_conflicts);
    out->spilled = atomic_load(&m_spilled);
    out->replayed = atomic_load(&m_replayed);
    out->rejected = atomic_load(&m_rejected);
    out->lost = atomic_load(&m_lost);
    out->commit_failures = atomic_load(&m_failures);
    out->queued = atomic_load(&M.running) && M.q ? meter_queue_depth(M.q) : 0;
}

void meter_format_totals(const meter_totals *t, char *out, size_t cap)
{
    snprintf(out, cap, "metering: %llu recorded, %llu committed, %llu anonymous (counted "
             "per minute), %llu duplicate, "
             "%llu id clashes, %llu spilled, %llu replayed, %llu rejected, %llu lost, "
             "%llu commit failures",
             (unsigned long long)t->requests, (unsigned long long)t->committed,
             (unsigned long long)t->anonymous,
             (unsigned long long)t->duplicates, (unsigned long long)t->conflicts,
             (unsigned long long)t->spilled,
             (unsigned long long)t->replayed, (unsigned long long)t->rejected,
             (unsigned long long)t->lost, (unsigned long long)t->commit_failures);
}
