/*
 * log.h - the process's diagnostic lines (stderr) with a level, and the
 * access log's destination.
 *
 * log_at writes one line "tollgate: LEVEL: message" with one write(2), so
 * lines of concurrent threads never interleave; lines above the level set
 * by log_set_level (setting `log_level`) are skipped at the cost of one
 * comparison. What goes into a message follows common/redact.h: never a
 * token, a value or a password.
 *
 * The access log (one JSON line per request, gateway/handlers/observe.c)
 * goes to log_access: stderr, or a file opened for appending by
 * log_open_access; each line one write(2) too.
 */
#ifndef TG_LOG_H
#define TG_LOG_H

#include <stddef.h>

#include "common/err.h"

typedef enum { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG } log_level;

extern int log_level_max;         /* lines at or below it are written */

void log_set_level(int level);
static inline int log_enabled(int level) { return level <= log_level_max; }

__attribute__((format(printf, 2, 3)))
void log_at(int level, const char *fmt, ...);

/* "-" or "stderr" (or NULL): stderr; else a file, created 0640 if need be
 * and appended to. 0, or -1 with err. */
int log_open_access(const char *dest, tg_err *err);
void log_close_access(void);

/* Writes line[0..len) (ending with a newline) to the access log. */
void log_access(const char *line, size_t len);

#endif
