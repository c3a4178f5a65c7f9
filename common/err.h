/*
 * err.h - the error detail that travels with a failed action.
 *
 * Actions return 0 or -1; on -1 they fill a tg_err with the HTTP status the
 * caller should answer with and a human-readable message (already safe to
 * put inside a JSON string once escaped; never contains secrets). Plain
 * data, no ownership.
 */
#ifndef TG_ERR_H
#define TG_ERR_H

#include <stdarg.h>
#include <stdio.h>

typedef struct tg_err {
    int status;        /* HTTP status: 400, 401, 403, 413, 503 ... */
    char msg[512];
} tg_err;

__attribute__((format(printf, 3, 4)))
static inline int tg_fail(tg_err *e, int status, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->status = status;
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

#endif
