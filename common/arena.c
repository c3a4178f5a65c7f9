/* arena.c - see arena.h. */
#include "common/arena.h"
#include "common/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct arena_block {
    arena_block *next;
    size_t size;
    char data[];
};

void arena_init(arena *a)
{
    a->head = NULL;
    a->cur = a->first;
    a->end = a->first + sizeof a->first;
}

void *arena_alloc(arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    uintptr_t p = ((uintptr_t)a->cur + 15) & ~(uintptr_t)15;
    if (p + n <= (uintptr_t)a->end) {
        a->cur = (char *)(p + n);
        return (void *)p;
    }
    size_t size = n + 16 > 16384 ? n + 16 : 16384;
    arena_block *b = xmalloc(sizeof *b + size);
    b->next = a->head;
    b->size = size;
    a->head = b;
    p = ((uintptr_t)b->data + 15) & ~(uintptr_t)15;
    a->cur = (char *)(p + n);
    a->end = b->data + size;
    return (void *)p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    char *d = arena_alloc(a, n + 1);
    if (n) memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void arena_release(arena *a)
{
    for (arena_block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    arena_init(a);
}
