/*
 * metrics.h - the process's counters, gauges and histograms, cheap enough
 * for the request path.
 *
 * Every thread that counts gets its own shard (a calloc'd array of every
 * slot, made on its first count and kept until metrics_free_all), and
 * counts into it with a relaxed load and store: no lock, no shared cache
 * line, no atomic read-modify-write. A scrape (metrics_read) sums a slot
 * over every shard; a shard's values stay after its thread exits, so
 * counters never go back. A gauge is a slot that goes up and down (+1 on
 * open, -1 on close, on any thread): its sum is the current value.
 *
 * Slots are numbered here, by what they count (the catalogue that names
 * them for Prometheus is gateway/handlers/metrics.c). Grids are flat: the
 * requests counter is one slot per (route, status, outcome) index, a
 * histogram one slot per bucket plus one for the sum of observations.
 *
 * Who feeds what: gateway/http/ (connections), auth/ (token cache),
 * gateway/redis/ (backend errors, reconnects, connections), billing/ (the
 * writer's batches and commits), gateway/handlers/ (requests, latencies,
 * quota refusals), and a stream producer (SSE: metrics_add(MS_SSE_STREAMS,
 * +1) when a stream opens, -1 when it ends; MS_SSE_DROPPED for a slow
 * reader cut off). metrics_enabled off turns every count into one
 * predictable branch (setting `metrics`, for measuring what counting costs).
 */
#ifndef TG_METRICS_H
#define TG_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Label grids of the request counter. */
#define METRICS_ROUTES 32        /* route table rows; the last: no route */
#define METRICS_STATUSES 17      /* metrics_status_index's list, last: other */
#define METRICS_OUTCOMES 12      /* meter outcome codes; the last: other */
#define METRICS_QUOTA_KINDS 24   /* quota refusal kinds (billing/quota.h) */

/* Histogram bucket bounds: latencies in microseconds, sizes in events. */
#define METRICS_LAT_BUCKETS 16
#define METRICS_SIZE_BUCKETS 12
extern const uint64_t metrics_lat_bounds_us[METRICS_LAT_BUCKETS];
extern const uint64_t metrics_size_bounds[METRICS_SIZE_BUCKETS];
/* A histogram of n bounds takes n + 2 slots: n buckets, +Inf, the sum. */
#define METRICS_HIST_SLOTS(n) ((n) + 2)

enum {
    MS_TOKEN_CACHE_HITS,
    MS_TOKEN_CACHE_MISSES,
    MS_BACKEND_ERRORS,           /* connections failed (every pending op errs) */
    MS_BACKEND_CONNECTS,         /* connections started, first ones included */
    MS_BACKEND_RECONNECTS,       /* ... of those, by a connection that had one */
    MS_BACKEND_CONNECTIONS,      /* gauge: connected or connecting */
    MS_HTTP_CONNECTIONS,         /* gauge: client connections open */
    MS_SSE_STREAMS,              /* gauge: event streams open (fed by pub/sub) */
    MS_SSE_DROPPED,              /* streams cut for a slow reader */
    MS_QUOTA_REJECTIONS,         /* + quota kind */
    MS_HTTP_REQUESTS = MS_QUOTA_REJECTIONS + METRICS_QUOTA_KINDS,
    MS_HTTP_DURATION = MS_HTTP_REQUESTS + METRICS_ROUTES * METRICS_STATUSES * METRICS_OUTCOMES,
    MS_BACKEND_DURATION = MS_HTTP_DURATION + METRICS_ROUTES * METRICS_HIST_SLOTS(METRICS_LAT_BUCKETS),
    MS_METER_BATCH = MS_BACKEND_DURATION + METRICS_HIST_SLOTS(METRICS_LAT_BUCKETS),
    MS_METER_FLUSH = MS_METER_BATCH + METRICS_HIST_SLOTS(METRICS_SIZE_BUCKETS),
    MS_COUNT = MS_METER_FLUSH + METRICS_HIST_SLOTS(METRICS_LAT_BUCKETS)
};

extern bool metrics_enabled;     /* set once at start-up, before threads */

/* This thread's shard (made on first use). */
extern _Thread_local _Atomic int64_t *metrics_tls;
_Atomic int64_t *metrics_shard_new(void);

static inline void metrics_add(unsigned slot, int64_t n)
{
    if (!metrics_enabled) return;
    _Atomic int64_t *s = metrics_tls;
    if (__builtin_expect(s == NULL, 0)) s = metrics_shard_new();
    atomic_store_explicit(&s[slot], atomic_load_explicit(&s[slot], memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* Counts v (microseconds or events) in the histogram at base. */
void metrics_observe(unsigned base, const uint64_t *bounds, unsigned nb, uint64_t v);

/* The index of an HTTP status in the request grid. */
unsigned metrics_status_index(unsigned status);
/* The status of an index (0 for the last: "other"). */
unsigned metrics_status_of(unsigned index);

/* The sum of a slot over every shard (a scrape). */
int64_t metrics_read(unsigned slot);
/* Every slot summed into out[0..MS_COUNT) (one pass over the shards). */
void metrics_read_all(int64_t *out);

/* Frees every shard (at exit, after every counting thread has stopped). */
void metrics_free_all(void);

#endif
