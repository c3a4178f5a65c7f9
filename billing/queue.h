/*
 * queue.h - the bounded in-memory queue between request threads and the
 * metering writer.
 *
 * The queue is a fixed pool of batch buffers, allocated once. Producers
 * append a row to the current buffer under one mutex (a memcpy; no
 * allocation, no syscall unless the writer sleeps on a just-filled
 * buffer); a full buffer moves to the ready list. The writer takes whole
 * buffers (all ready ones, plus the partial current one when its flush
 * deadline passed or the queue is closing), commits them without holding
 * the lock, and gives them back. Capacity is the pool: when no buffer is
 * free, push fails and the caller decides (spill, count).
 *
 * meter_row is also the spill file's record format (billing/spill.h): plain
 * data, fixed size, NUL-padded strings. A change of its layout is a new
 * spill format, and the old one stays readable (spill.h).
 *
 * Thread-safe: any number of producers, one consumer.
 */
#ifndef TG_METER_QUEUE_H
#define TG_METER_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "billing/meter_event.h"

typedef struct meter_row {
    uint64_t id;
    uint64_t time_ms;
    uint64_t bytes_in, bytes_out;
    uint32_t commands, billable_commands;
    uint32_t backend_us;
    uint16_t http_status;
    uint8_t kind, outcome;
    uint8_t quota_limit;         /* meter_event.quota_limit */
    char tenant_id[METER_ID_MAX];
    char database_id[METER_ID_MAX];
    char jti[METER_ID_MAX];
    meter_names names;
} meter_row;

typedef struct meter_batch {
    struct meter_batch *next;
    size_t n, cap;
    bool resident;               /* the queue's: its pages are in memory */
    uint64_t free_since_ms;      /* the queue's: returned at (clock_mono_ms) */
    meter_row rows[];
} meter_batch;

typedef struct meter_queue meter_queue;

/* Free buffers kept resident whatever their idleness (the top of the free
 * list, taken first); a free buffer below them unused for
 * METER_QUEUE_IDLE_MS gives its pages back to the kernel. */
#define METER_QUEUE_HOT_BUFFERS 2
#define METER_QUEUE_IDLE_MS 5000

/* A queue of at least `capacity` rows in buffers of `batch` rows (at least
 * four buffers). Free with meter_queue_free (NULL accepted; the queue must
 * be idle). */
meter_queue *meter_queue_new(size_t capacity, size_t batch);
void meter_queue_free(meter_queue *q);

/* Copies row in. 0, or -1 when every buffer is in use. */
int meter_queue_push(meter_queue *q, const meter_row *row);

/* Writer side: waits until a buffer is full, the queue is closing, or
 * deadline_ms (clock_mono_ms()) passes; returns the ready buffers as a
 * list (oldest first), with the partial current buffer appended when the
 * deadline passed or the queue is closing. NULL when there is nothing.
 * *closing tells whether meter_queue_close() was called. */
meter_batch *meter_queue_take(meter_queue *q, uint64_t deadline_ms, bool *closing);

/* Returns buffers taken with meter_queue_take (the whole list), and
 * releases free buffers idle long enough (meter_queue_trim). */
void meter_queue_give_back(meter_queue *q, meter_batch *list);

/* Releases the pages of free buffers idle for METER_QUEUE_IDLE_MS at
 * now_ms (beyond the top METER_QUEUE_HOT_BUFFERS). The writer calls it
 * when it finds nothing to write, so a queue that went quiet shrinks. */
void meter_queue_trim(meter_queue *q, uint64_t now_ms);

/* Wakes the writer for a final drain. */
void meter_queue_close(meter_queue *q);

/* Writer side, between retries: sleeps ms milliseconds, or less when the
 * queue is closed meanwhile (not when it was closed already). Returns
 * whether it is closing. */
bool meter_queue_sleep(meter_queue *q, int ms);

/* Free buffers / all buffers: the admission check reads these (relaxed). */
size_t meter_queue_free_buffers(const meter_queue *q);
size_t meter_queue_buffers(const meter_queue *q);

/* Rows now queued (not yet taken). */
size_t meter_queue_depth(meter_queue *q);

#endif
