/*
 * meter.h - the metering hook every data-plane request passes through.
 *
 * Each finished request produces one meter_event (who, what, how many
 * Redis commands, bytes, status, outcome, backend latency). This module is
 * the seam for the metering issue: today it keeps process-wide counters
 * (atomic, thread-safe, never touching disk on the request path); the
 * SQLite writer thread and rollups plug in behind meter_record().
 */
#ifndef TG_METER_H
#define TG_METER_H

#include <stdint.h>

typedef enum {
    METER_OK,
    METER_REDIS_ERROR,
    METER_BAD_REQUEST,
    METER_AUTH_FAILURE,
    METER_FORBIDDEN,
    METER_BACKEND_UNAVAILABLE,
} meter_outcome;

typedef enum { METER_SINGLE, METER_PIPELINE, METER_MULTI_EXEC, METER_OTHER } meter_kind;

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
} meter_event;

typedef struct meter_totals {
    uint64_t requests, commands, billable_commands, bytes_in, bytes_out, errors;
} meter_totals;

void meter_record(const meter_event *e);
void meter_snapshot(meter_totals *out);

#endif
