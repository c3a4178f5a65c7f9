/*
 * spill.h - the metering spill file: an append-only file of meter_rows,
 * written when the in-memory queue or the database cannot take events,
 * and replayed into SQLite at the next start (billing/writer.h).
 *
 * Format: a 64-byte header (magic, row size, a random file id that names
 * this file in meter_spill_replays) followed by raw rows. A torn last row
 * (the process died mid-write) is ignored on replay. The file is created
 * on the first append, so a healthy run leaves none.
 *
 * Formats: "TGSPILL2" (this build's meter_row) is written; "TGSPILL1"
 * (meter_row_v1: rows before the quota limit was metered, migration 0010)
 * is still read, its rows with no limit. An existing file of another
 * format is never appended to (the append fails: nothing is mixed).
 *
 * Thread-safe: appends are serialised by a mutex inside the handle.
 */
#ifndef TG_METER_SPILL_H
#define TG_METER_SPILL_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "billing/queue.h"

#define METER_SPILL_HEADER 64
#define METER_SPILL_MAGIC "TGSPILL2"
#define METER_SPILL_MAGIC_V1 "TGSPILL1"

/* The rows of a TGSPILL1 file: meter_row without quota_limit. */
typedef struct meter_row_v1 {
    uint64_t id;
    uint64_t time_ms;
    uint64_t bytes_in, bytes_out;
    uint32_t commands, billable_commands;
    uint32_t backend_us;
    uint16_t http_status;
    uint8_t kind, outcome;
    char tenant_id[METER_ID_MAX];
    char database_id[METER_ID_MAX];
    char jti[METER_ID_MAX];
    meter_names names;
} meter_row_v1;

/* A spill file's format, from its header. */
typedef struct meter_spill_format {
    int version;                /* 1 or 2 */
    size_t row_size;            /* bytes of one row on disk */
    char file_id[33];
} meter_spill_format;

typedef struct meter_spill meter_spill;

/* A handle on path (nothing is created yet). Free with meter_spill_free
 * (NULL accepted), which closes the file. */
meter_spill *meter_spill_new(const char *path);
void meter_spill_free(meter_spill *s);

/* Appends n rows. 0, or -1 with err (disk full, permissions). */
int meter_spill_append(meter_spill *s, const meter_row *rows, size_t n, tg_err *err);

/* The file's header, read from an open descriptor: 0, or -1 if the file
 * is not a spill file of a format this build reads. */
int meter_spill_read_header(int fd, meter_spill_format *f, tg_err *err);

/* n rows of format f at raw into out (this build's rows). */
void meter_spill_decode(const meter_spill_format *f, const void *raw, size_t n,
                        meter_row *out);

#endif
