/*
 * mem.h - allocation with one out-of-memory policy: abort.
 *
 * Every allocation in tollgate goes through these wrappers. Running out of
 * memory is not a recoverable condition for a gateway (half-built replies,
 * half-metered requests), so like redis's zmalloc we print one line and
 * abort. Callers therefore never check for NULL. Thread-safe.
 */
#ifndef TG_MEM_H
#define TG_MEM_H

#include <stddef.h>
#include <stdlib.h> /* free() pairs with these */

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
