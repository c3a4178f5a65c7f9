/*
 * spill.h - the metering spill file: an append-only file of meter_rows,
 * written when the in-memory queue or the database cannot take events,
 * and replayed into SQLite at the next start (billing/writer.h).
 *
 * Format: a 64-byte header (magic "TGSPILL1", row size, a random file id
 * that names this file in meter_spill_replays) followed by raw meter_rows.
 * A torn last row (the process died mid-write) is ignored on replay.
 * The file is created on the first append, so a healthy run leaves none.
 *
 * Thread-safe: appends are serialised by a mutex inside the handle.
 */
#ifndef TG_METER_SPILL_H
#define TG_METER_SPILL_H

#include <stddef.h>

#include "common/err.h"
#include "billing/queue.h"

#define METER_SPILL_HEADER 64
#define METER_SPILL_MAGIC "TGSPILL1"

typedef struct meter_spill meter_spill;

/* A handle on path (nothing is created yet). Free with meter_spill_free
 * (NULL accepted), which closes the file. */
meter_spill *meter_spill_new(const char *path);
void meter_spill_free(meter_spill *s);

/* Appends n rows. 0, or -1 with err (disk full, permissions). */
int meter_spill_append(meter_spill *s, const meter_row *rows, size_t n, tg_err *err);

/* The file's header fields, read from an open descriptor: 0, or -1 if the
 * file is not a spill file of this build's row size. file_id gets 33
 * bytes. */
int meter_spill_read_header(int fd, char *file_id, tg_err *err);

#endif
