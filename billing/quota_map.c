/*
 * quota_map.c - the quota engine's sharded maps (quota_int.h): lock-free
 * lookups of nodes that are only ever prepended, inserts under the
 * shard's mutex.
 */
#include <stdio.h>
#include <string.h>

#include "common/siphash.h"
#include "billing/quota_int.h"

void qnode_key(const quota *q, qnode *n, const char *id)
{
    snprintf(n->id, sizeof n->id, "%s", id);
    n->hash = siphash24(q->key, n->id, strlen(n->id));
}

static qnode *_Atomic *bucket_of(const qmap *m, uint64_t h)
{
    const qshard *s = &m->shards[h % QMAP_SHARDS];
    return (qnode *_Atomic *)&s->buckets[(h / QMAP_SHARDS) % QMAP_BUCKETS];
}

static qnode *chain_find(qnode *n, uint64_t h, const char *id)
{
    for (; n; n = atomic_load_explicit(&n->next, memory_order_acquire))
        if (n->hash == h && !strcmp(n->id, id)) return n;
    return NULL;
}

qnode *qmap_find(const quota *q, const qmap *m, const char *id)
{
    size_t len = strnlen(id, METER_ID_MAX);
    if (len >= METER_ID_MAX) return NULL;
    uint64_t h = siphash24(q->key, id, len);
    qnode *_Atomic *b = bucket_of(m, h);
    return chain_find(atomic_load_explicit(b, memory_order_acquire), h, id);
}

qnode *qmap_insert_locked(qmap *m, qnode *n)
{
    qnode *_Atomic *b = bucket_of(m, n->hash);
    qnode *head = atomic_load_explicit(b, memory_order_relaxed);
    qnode *have = chain_find(head, n->hash, n->id);
    if (!have) {
        atomic_store_explicit(&n->next, head, memory_order_relaxed);
        /* Release: a reader that sees n sees it whole. */
        atomic_store_explicit(b, n, memory_order_release);
        have = n;
    }
    return have;
}

qnode *qmap_insert(quota *q, qmap *m, qnode *n)
{
    (void)q;
    qshard *s = &m->shards[n->hash % QMAP_SHARDS];
    pthread_mutex_lock(&s->lock);
    qnode *have = qmap_insert_locked(m, n);
    pthread_mutex_unlock(&s->lock);
    return have;
}

void qmap_init(qmap *m)
{
    memset(m, 0, sizeof *m);
    for (int i = 0; i < QMAP_SHARDS; i++) pthread_mutex_init(&m->shards[i].lock, NULL);
}

/* Frees every node of m with fn. */
void qmap_clear(qmap *m, void (*fn)(qnode *))
{
    for (int i = 0; i < QMAP_SHARDS; i++) {
        for (int j = 0; j < QMAP_BUCKETS; j++) {
            qnode *n = atomic_load(&m->shards[i].buckets[j]);
            while (n) {
                qnode *next = atomic_load(&n->next);
                fn(n);
                n = next;
            }
        }
        pthread_mutex_destroy(&m->shards[i].lock);
    }
}

