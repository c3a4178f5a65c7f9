/* test_metrics.c - common/metrics: per-thread shards summed at a read,
 * gauges, histograms, the status grid, the off switch. */
#include <pthread.h>

#include "common/metrics.h"
#include "tests/unit/testhelp.h"

#define THREADS 4
#define PER_THREAD 100000

static void *count_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) metrics_add(MS_TOKEN_CACHE_HITS, 1);
    metrics_add(MS_HTTP_CONNECTIONS, 1);   /* opened here ... */
    return NULL;
}

TEST(shards_sum_over_threads_and_outlive_them)
{
    int64_t before = metrics_read(MS_TOKEN_CACHE_HITS);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, count_many, NULL);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    CHECK(metrics_read(MS_TOKEN_CACHE_HITS) - before == (int64_t)THREADS * PER_THREAD);
    /* ... closed on another thread: a gauge is the sum. */
    for (int i = 0; i < THREADS; i++) metrics_add(MS_HTTP_CONNECTIONS, -1);
    CHECK(metrics_read(MS_HTTP_CONNECTIONS) == 0);
}

TEST(histogram_buckets_and_sum)
{
    unsigned base = MS_BACKEND_DURATION;
    metrics_observe(base, metrics_lat_bounds_us, METRICS_LAT_BUCKETS, 50);       /* <= 100us */
    metrics_observe(base, metrics_lat_bounds_us, METRICS_LAT_BUCKETS, 100);      /* edge: le */
    metrics_observe(base, metrics_lat_bounds_us, METRICS_LAT_BUCKETS, 101);      /* <= 250us */
    metrics_observe(base, metrics_lat_bounds_us, METRICS_LAT_BUCKETS, 99999999); /* +Inf */
    int64_t v[MS_COUNT];
    metrics_read_all(v);
    CHECK(v[base + 0] == 2);
    CHECK(v[base + 1] == 1);
    CHECK(v[base + METRICS_LAT_BUCKETS] == 1);
    CHECK(v[base + METRICS_LAT_BUCKETS + 1] == 50 + 100 + 101 + 99999999);
}

TEST(status_index_round_trip)
{
    CHECK(metrics_status_of(metrics_status_index(200)) == 200);
    CHECK(metrics_status_of(metrics_status_index(429)) == 429);
    CHECK(metrics_status_index(418) == METRICS_STATUSES - 1);
    CHECK(metrics_status_of(METRICS_STATUSES - 1) == 0);
}

TEST(off_counts_nothing)
{
    int64_t before = metrics_read(MS_BACKEND_ERRORS);
    metrics_enabled = false;
    metrics_add(MS_BACKEND_ERRORS, 5);
    metrics_observe(MS_METER_BATCH, metrics_size_bounds, METRICS_SIZE_BUCKETS, 3);
    metrics_enabled = true;
    CHECK(metrics_read(MS_BACKEND_ERRORS) == before);
    CHECK(metrics_read(MS_METER_BATCH + METRICS_SIZE_BUCKETS + 1) == 0);
    metrics_add(MS_BACKEND_ERRORS, 5);
    CHECK(metrics_read(MS_BACKEND_ERRORS) == before + 5);
}

int main(void)
{
    RUN(shards_sum_over_threads_and_outlive_them);
    RUN(histogram_buckets_and_sum);
    RUN(status_index_round_trip);
    RUN(off_counts_nothing);
    metrics_free_all();
    TEST_MAIN_END();
}
