/* queue.c - see queue.h: a pool of batch buffers behind one mutex.
 *
 * The buffers are allocated once (at the defaults, 16 of 4,096 rows of
 * 424 bytes: 28 MB of address space) and are resident once used. Returned
 * buffers go on top of the free list (taken first), so a steady load
 * cycles through the same few, which stay resident whatever their number.
 * Below the top METER_QUEUE_HOT_BUFFERS, a buffer left unused for
 * METER_QUEUE_IDLE_MS gives its pages back to the kernel: a burst does not
 * leave its high-water mark in the RSS, and no load pays page faults for
 * buffers it keeps using. */
#include "billing/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/mem.h"

struct meter_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;              /* a buffer filled, or closing */
    meter_batch *free_list;
    meter_batch *ready_head, *ready_tail;
    meter_batch *cur;               /* being filled; NULL until the first push */
    size_t batch_cap, nbuffers;
    _Atomic size_t nfree;
    bool closing;
};

meter_queue *meter_queue_new(size_t capacity, size_t batch)
{
    if (batch < 1) batch = 1;
    size_t nb = (capacity + batch - 1) / batch;
    if (nb < 4) nb = 4;
    meter_queue *q = xcalloc(1, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    q->batch_cap = batch;
    q->nbuffers = nb;
    for (size_t i = 0; i < nb; i++) {
        meter_batch *b = xmalloc(sizeof *b + batch * sizeof b->rows[0]);
        b->n = 0;
        b->cap = batch;
        b->resident = false;
        b->next = q->free_list;
        q->free_list = b;
    }
    atomic_store(&q->nfree, nb);
    return q;
}

static void free_list(meter_batch *b)
{
    while (b) {
        meter_batch *next = b->next;
        free(b);
        b = next;
    }
}

void meter_queue_free(meter_queue *q)
{
    if (!q) return;
    free_list(q->free_list);
    free_list(q->ready_head);
    free(q->cur);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

/* Caller holds mu. */
static void make_ready(meter_queue *q, meter_batch *b)
{
    b->next = NULL;
    if (q->ready_tail) q->ready_tail->next = b;
    else q->ready_head = b;
    q->ready_tail = b;
}

int meter_queue_push(meter_queue *q, const meter_row *row)
{
    pthread_mutex_lock(&q->mu);
    meter_batch *b = q->cur;
    if (!b || b->n == b->cap) {
        if (b) {
            make_ready(q, b);
            pthread_cond_signal(&q->cv);
        }
        b = q->free_list;
        q->cur = b;
        if (!b) {
            pthread_mutex_unlock(&q->mu);
            return -1;
        }
        q->free_list = b->next;
        b->next = NULL;
        b->n = 0;
        b->resident = true;
        atomic_fetch_sub_explicit(&q->nfree, 1, memory_order_relaxed);
    }
    memcpy(&b->rows[b->n++], row, sizeof *row);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

meter_batch *meter_queue_take(meter_queue *q, uint64_t deadline_ms, bool *closing)
{
    struct timespec ts = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000};
    bool timed_out = false;
    pthread_mutex_lock(&q->mu);
    while (!q->ready_head && !q->closing && !timed_out)
        timed_out = pthread_cond_timedwait(&q->cv, &q->mu, &ts) == ETIMEDOUT;
    if (!timed_out && !q->closing && clock_mono_ms() >= deadline_ms) timed_out = true;
    meter_batch *list = q->ready_head;
    meter_batch *tail = q->ready_tail;
    q->ready_head = q->ready_tail = NULL;
    if ((timed_out || q->closing) && q->cur && q->cur->n > 0) {
        q->cur->next = NULL;
        if (tail) tail->next = q->cur;
        else list = q->cur;
        q->cur = NULL;
    }
    *closing = q->closing;
    pthread_mutex_unlock(&q->mu);
    return list;
}

/* Gives b's whole pages back to the kernel (the next push into it faults
 * in zeroed ones). b is free: in the free list, mu held. */
static void release_pages(meter_batch *b)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)b->rows + page - 1) & ~(page - 1);
    uintptr_t hi = (uintptr_t)(b->rows + b->cap) & ~(page - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* Releases the free buffers below the top METER_QUEUE_HOT_BUFFERS unused
 * since METER_QUEUE_IDLE_MS before now_ms (mu held: a few madvise calls
 * after a burst, none in a steady state). */
static void trim_locked(meter_queue *q, uint64_t now_ms)
{
    size_t i = 0;
    for (meter_batch *b = q->free_list; b; b = b->next, i++)
        if (i >= METER_QUEUE_HOT_BUFFERS && b->resident &&
            now_ms >= b->free_since_ms + METER_QUEUE_IDLE_MS) {
            release_pages(b);
            b->resident = false;
        }
}

void meter_queue_give_back(meter_queue *q, meter_batch *list)
{
    uint64_t now = clock_mono_ms();
    size_t k = 0;
    pthread_mutex_lock(&q->mu);
    while (list) {
        meter_batch *next = list->next;
        list->n = 0;
        list->free_since_ms = now;
        list->next = q->free_list;
        q->free_list = list;
        list = next;
        k++;
    }
    atomic_fetch_add_explicit(&q->nfree, k, memory_order_relaxed);
    trim_locked(q, now);
    pthread_mutex_unlock(&q->mu);
}

void meter_queue_trim(meter_queue *q, uint64_t now_ms)
{
    pthread_mutex_lock(&q->mu);
    trim_locked(q, now_ms);
    pthread_mutex_unlock(&q->mu);
}

void meter_queue_close(meter_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closing = true;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

bool meter_queue_sleep(meter_queue *q, int ms)
{
    uint64_t until = clock_mono_ms() + (uint64_t)(ms > 0 ? ms : 0);
    struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000};
    pthread_mutex_lock(&q->mu);
    bool was_closing = q->closing;
    /* Pushes signal cv too: wait again until the time is up or closing. */
    while ((was_closing || !q->closing) && clock_mono_ms() < until)
        if (pthread_cond_timedwait(&q->cv, &q->mu, &ts) == ETIMEDOUT) break;
    bool closing = q->closing;
    pthread_mutex_unlock(&q->mu);
    return closing;
}

size_t meter_queue_free_buffers(const meter_queue *q)
{
    return atomic_load_explicit(&q->nfree, memory_order_relaxed);
}

size_t meter_queue_buffers(const meter_queue *q)
{
    return q->nbuffers;
}

size_t meter_queue_depth(meter_queue *q)
{
    size_t n = 0;
    pthread_mutex_lock(&q->mu);
    for (meter_batch *b = q->ready_head; b; b = b->next) n += b->n;
    if (q->cur) n += q->cur->n;
    pthread_mutex_unlock(&q->mu);
    return n;
}
