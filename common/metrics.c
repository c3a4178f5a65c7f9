/* metrics.c - see metrics.h: per-thread shards, summed at a scrape. */
#include "common/metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

bool metrics_enabled = true;
_Thread_local _Atomic int64_t *metrics_tls;

const uint64_t metrics_lat_bounds_us[METRICS_LAT_BUCKETS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};
const uint64_t metrics_size_bounds[METRICS_SIZE_BUCKETS] = {
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000,
};

static const unsigned statuses[METRICS_STATUSES - 1] = {
    200, 204, 400, 401, 403, 404, 405, 408, 413, 429, 431, 499, 500, 502, 503, 504,
};

typedef struct shard {
    struct shard *next;
    _Atomic int64_t v[MS_COUNT];
} shard;

static pthread_mutex_t shards_mu = PTHREAD_MUTEX_INITIALIZER;
static shard *shards;

_Atomic int64_t *metrics_shard_new(void)
{
    shard *s = xcalloc(1, sizeof *s);
    pthread_mutex_lock(&shards_mu);
    s->next = shards;
    shards = s;
    pthread_mutex_unlock(&shards_mu);
    metrics_tls = s->v;
    return s->v;
}

void metrics_observe(unsigned base, const uint64_t *bounds, unsigned nb, uint64_t v)
{
    if (!metrics_enabled) return;
    unsigned i = 0;
    while (i < nb && v > bounds[i]) i++;
    metrics_add(base + i, 1);
    metrics_add(base + nb + 1, (int64_t)v);
}

unsigned metrics_status_index(unsigned status)
{
    for (unsigned i = 0; i < METRICS_STATUSES - 1; i++)
        if (statuses[i] == status) return i;
    return METRICS_STATUSES - 1;
}

unsigned metrics_status_of(unsigned index)
{
    return index < METRICS_STATUSES - 1 ? statuses[index] : 0;
}

int64_t metrics_read(unsigned slot)
{
    int64_t sum = 0;
    pthread_mutex_lock(&shards_mu);
    for (shard *s = shards; s; s = s->next)
        sum += atomic_load_explicit(&s->v[slot], memory_order_relaxed);
    pthread_mutex_unlock(&shards_mu);
    return sum;
}

void metrics_read_all(int64_t *out)
{
    memset(out, 0, sizeof *out * MS_COUNT);
    pthread_mutex_lock(&shards_mu);
    for (shard *s = shards; s; s = s->next)
        for (unsigned i = 0; i < MS_COUNT; i++)
            out[i] += atomic_load_explicit(&s->v[i], memory_order_relaxed);
    pthread_mutex_unlock(&shards_mu);
}

void metrics_free_all(void)
{
    pthread_mutex_lock(&shards_mu);
    while (shards) {
        shard *next = shards->next;
        free(shards);
        shards = next;
    }
    pthread_mutex_unlock(&shards_mu);
    metrics_tls = NULL;
}
