/*
 * meter_event.h - the usage event: what one data-plane request cost
 * (meter_event, filled by the request handler), its command-name summary,
 * and the event ids that make it unique in meter_events.
 *
 * This is the vocabulary shared by the recording path (billing/meter.h),
 * the queue and spill file (billing/queue.h, billing/spill.h) and the
 * writer (billing/writer.h); it knows none of them. The name helpers are
 * pure; the id generator is process-wide, lock-free and thread-safe.
 */
#ifndef TG_METER_EVENT_H
#define TG_METER_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Codes are stored in SQLite (meter_outcomes, migrations/0002). */
typedef enum {
    METER_OK = 0,
    METER_REDIS_ERROR = 1,
    METER_BAD_REQUEST = 2,
    METER_AUTH_FAILURE = 3,
    METER_FORBIDDEN = 4,
    METER_BACKEND_UNAVAILABLE = 5,
    METER_QUOTA_REJECTED = 6,
    METER_BACKLOG = 7,            /* refused by meter_admit(): not queued */
    METER_SENT_UNANSWERED = 8,    /* written to Redis, the answer lost (504,
                                     connection lost): may have run, bills */
    METER_RATE_LIMITED = 9,       /* refused 429: over a rate limit */
} meter_outcome;

/* Codes are stored in SQLite (meter_kinds). */
typedef enum {
    METER_SINGLE = 0,
    METER_PIPELINE = 1,
    METER_MULTI_EXEC = 2,
    METER_OTHER = 3,
    METER_STREAM = 4,
} meter_kind;

#define METER_ID_MAX 64          /* tenant, database, jti (with NUL) */
#define METER_NAMES 6            /* distinct command names kept per event */
#define METER_NAME_MAX 24        /* longer names are cut */

/* The command names of one request, distinct, in first-seen order, with
 * their counts; `other` counts commands past the METER_NAMES distinct
 * names. Rendered as "SET*2 GET +3" in meter_events.command_names. */
typedef struct meter_names {
    struct {
        char name[METER_NAME_MAX];
        uint32_t count;
    } e[METER_NAMES];
    uint32_t n;
    uint32_t other;
} meter_names;

typedef struct meter_event {
    uint64_t time_ms;            /* wall clock, ms since the epoch */
    const char *tenant_id;       /* NULL when authentication failed */
    const char *database_id;
    const char *jti;
    meter_kind kind;
    uint32_t commands;           /* commands sent to Redis */
    uint32_t billable_commands;  /* minus free housekeeping (PING...) */
    uint64_t bytes_in, bytes_out;
    int http_status;
    meter_outcome outcome;
    uint32_t backend_us;         /* submit to last reply */
    uint8_t quota_limit;         /* the limit that refused it (billing/quota.h
                                    quota_kind, named in meter_quota_limits);
                                    0: none */
    meter_names names;           /* filled by meter_event_add_command */
    uint64_t id;                 /* its id (meter_id_next), 0: one is given */
} meter_event;

/* Adds one command name (name[0..len), any case) to e->names. */
void meter_event_add_command(meter_event *e, const char *name, size_t len);

/* Renders names as "SET*2 GET +3" into out (cap bytes, NUL-terminated). */
void meter_names_format(const meter_names *n, char *out, size_t cap);

/* ==== Ids ==== */

#define METER_EPOCH_MS 1735689600000ULL   /* 2025-01-01T00:00:00Z */
#define METER_SEQ_BITS 16
#define METER_NODE_BITS 6

/* A new id, unique in this process and above every id seen by
 * meter_id_seed(): (ms since METER_EPOCH_MS) << 22 | node << 16 | seq.
 * More than 65536 ids in one ms borrow from the next ms, so ids stay
 * unique and increasing. Lock-free. */
uint64_t meter_id_next(uint64_t time_ms);
void meter_id_seed(uint64_t at_least, int node_id);
uint64_t meter_id_time_ms(uint64_t id);

#endif
