/* meter_event.c - see meter_event.h: command names and event ids. */
#include "billing/meter_event.h"

#include <stdatomic.h>
#include <string.h>
#include <strings.h>

/* ==== Ids ==== */

static _Atomic uint64_t id_last;
static _Atomic uint64_t id_node_bits;

#define SEQ_MASK ((1ULL << METER_SEQ_BITS) - 1)
#define TIME_SHIFT (METER_SEQ_BITS + METER_NODE_BITS)

void meter_id_seed(uint64_t at_least, int node_id)
{
    atomic_store(&id_node_bits, (uint64_t)(node_id & ((1 << METER_NODE_BITS) - 1))
                                    << METER_SEQ_BITS);
    uint64_t cur = atomic_load(&id_last);
    while (cur < at_least && !atomic_compare_exchange_weak(&id_last, &cur, at_least)) {}
}

uint64_t meter_id_next(uint64_t time_ms)
{
    uint64_t node = atomic_load_explicit(&id_node_bits, memory_order_relaxed);
    uint64_t t = time_ms > METER_EPOCH_MS ? time_ms - METER_EPOCH_MS : 0;
    uint64_t base = t << TIME_SHIFT | node;
    uint64_t cur = atomic_load_explicit(&id_last, memory_order_relaxed), next;
    do {
        /* The next sequence number in cur's ms; past the last one, the
         * next ms (never carrying into the node bits). cur may come from
         * another node (the seed): then move past it. */
        uint64_t ct = cur >> TIME_SHIFT, cs = cur & SEQ_MASK;
        next = cs == SEQ_MASK ? (ct + 1) << TIME_SHIFT | node : (ct << TIME_SHIFT | node | (cs + 1));
        if (next <= cur) next = (ct + 1) << TIME_SHIFT | node;
        if (next < base) next = base;
    } while (!atomic_compare_exchange_weak_explicit(&id_last, &cur, next, memory_order_relaxed,
                                                    memory_order_relaxed));
    return next;
}

uint64_t meter_id_time_ms(uint64_t id)
{
    return (id >> TIME_SHIFT) + METER_EPOCH_MS;
}

/* ==== Events ==== */

void meter_event_add_command(meter_event *e, const char *name, size_t len)
{
    meter_names *n = &e->names;
    if (len >= METER_NAME_MAX) len = METER_NAME_MAX - 1;
    for (uint32_t i = 0; i < n->n; i++)
        if (!strncasecmp(n->e[i].name, name, len) && n->e[i].name[len] == '\0') {
            n->e[i].count++;
            return;
        }
    if (n->n == METER_NAMES) {
        n->other++;
        return;
    }
    char *dst = n->e[n->n].name;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        dst[i] = c >= 'a' && c <= 'z' ? (char)(c - 32) : (c > ' ' && c < 127 ? c : '?');
    }
    dst[len] = '\0';
    n->e[n->n++].count = 1;
}

/* Appends src (at most max bytes, NUL-terminated) at out[*k], within cap. */
static void put(char *out, size_t cap, size_t *k, const char *src, size_t max)
{
    size_t n = strnlen(src, max);
    if (*k + n >= cap) n = *k + 1 < cap ? cap - *k - 1 : 0;
    memcpy(out + *k, src, n);
    *k += n;
    out[*k] = '\0';
}

/* Appends the decimal v. */
static void put_u32(char *out, size_t cap, size_t *k, uint32_t v)
{
    char d[11];
    int i = 10;
    d[i] = '\0';
    do d[--i] = (char)('0' + v % 10);
    while ((v /= 10) && i > 0);
    put(out, cap, k, d + i, 10);
}

void meter_names_format(const meter_names *n, char *out, size_t cap)
{
    size_t k = 0;
    if (cap == 0) return;
    out[0] = '\0';
    /* By hand: this runs once per event on the writer's hot path. */
    for (uint32_t i = 0; i < n->n && i < METER_NAMES; i++) {
        if (k) put(out, cap, &k, " ", 1);
        put(out, cap, &k, n->e[i].name, METER_NAME_MAX);
        if (n->e[i].count > 1) {
            put(out, cap, &k, "*", 1);
            put_u32(out, cap, &k, n->e[i].count);
        }
    }
    if (n->other) {
        put(out, cap, &k, k ? " +" : "+", 2);
        put_u32(out, cap, &k, n->other);
    }
}

