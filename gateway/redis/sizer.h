/*
 * sizer.h - a database's size on its backend, estimated on blocking
 * connections (the data_bytes quota's measurement; gateway/sampler.h
 * drives it).
 *
 * How a size is estimated, always as (average MEMORY USAGE of a sample of
 * keys) x (key count):
 *  - a dedicated database (its own logical DB): SELECT db_index, DBSIZE;
 *    no key: 0 bytes; else up to SIZER_SAMPLE_KEYS keys drawn by
 *    RANDOMKEY (with replacement), each measured with MEMORY USAGE key
 *    SAMPLES 0 (every element of a collection: exact per key, O(elements)
 *    on the server);
 *  - a shared (key-prefix) database: a SCAN of its logical DB with MATCH
 *    on its prefix, COUNT SIZER_SCAN_COUNT, at most SIZER_SCAN_CALLS calls
 *    per measurement, counting the keys that match and measuring the first
 *    SIZER_SAMPLE_KEYS of the pass. The scan walks the whole logical DB
 *    (every tenant's keys), so a pass over more than SIZER_SCAN_CALLS x
 *    SIZER_SCAN_COUNT keys spans several measurements: the cursor is kept
 *    in the sizer between them. Until a pass ends, the answer is the last
 *    finished pass's estimate, or the pass's own so far when that is
 *    larger (a lower bound of the count: growth shows at once, shrinking
 *    when the pass ends). SCAN may return a key twice: counts are
 *    estimates.
 *
 * Connections (one per backend URL, as the URL's user, every call bounded
 * by the timeout) and scan passes (one per shared database) are kept in
 * the sizer between measurements; a connection that reports an error is
 * dropped and made again at the next measurement.
 *
 * Not thread-safe: one sizer belongs to one thread, never a worker (every
 * call blocks on the network). sizer_estimate is pure.
 */
#ifndef TG_SIZER_H
#define TG_SIZER_H

#include <stdint.h>

#include "common/err.h"

#define SIZER_SAMPLE_KEYS 64    /* keys measured with MEMORY USAGE per estimate */
#define SIZER_SCAN_COUNT 1000   /* SCAN COUNT of one slice (shared databases) */
#define SIZER_SCAN_CALLS 100    /* SCAN calls per measurement of a shared database */

typedef struct sizer sizer;

/* One database to measure. */
typedef struct sizer_target {
    const char *database_id;
    const char *redis_url;      /* its backend, connected to as the URL's user */
    int db_index;
    const char *key_prefix;     /* shared database: its prefix; "" or NULL: dedicated */
} sizer_target;

/* A sizer whose calls wait at most timeout_ms each. Free with sizer_free
 * (NULL accepted): closes its connections. */
sizer *sizer_new(int timeout_ms);
void sizer_free(sizer *s);

/* Estimates t's size into *bytes (see above). 0, or -1 with a 503 err
 * (backend unreachable, or a refused command such as MEMORY without the
 * right ACL); *bytes is then untouched. */
int sizer_measure(sizer *s, const sizer_target *t, int64_t *bytes, tg_err *err);

/* Ends a round of measurements: forgets the scan passes of databases not
 * measured since the previous call (deleted, or no longer limited). */
void sizer_round_end(sizer *s);

/* sampled_bytes / sampled x keys, rounded to nearest, saturated at
 * INT64_MAX. keys == 0: 0. sampled == 0 with keys > 0: -1 (no estimate).
 * Negative inputs: -1. */
int64_t sizer_estimate(int64_t sampled_bytes, int64_t sampled, int64_t keys);

#endif
