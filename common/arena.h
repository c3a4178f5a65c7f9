/*
 * arena.h - a bump allocator for everything one request parses.
 *
 * Command arguments and their arrays live here and are released together
 * when the request completes (arena_release). Pointers stay valid until
 * then: memory is added in new blocks, never moved. Not thread-safe.
 */
#ifndef TG_ARENA_H
#define TG_ARENA_H

#include <stddef.h>

typedef struct arena_block arena_block;

typedef struct arena {
    arena_block *head;
    char *cur, *end;
    char first[2048];   /* most requests never allocate a block */
} arena;

void arena_init(arena *a);
void *arena_alloc(arena *a, size_t n);       /* 16-byte aligned, never NULL */
char *arena_strndup(arena *a, const char *s, size_t n);
void arena_release(arena *a);                /* frees all; a is re-inited */

#endif
