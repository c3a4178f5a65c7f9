/*
 * table.h - looking names up in the small constant tables the code keeps
 * as data ({name, ...} structs, or lists of names). Linear: these tables
 * are short and consulted once per command when a command table is
 * built, not per request.
 */
#ifndef TG_TABLE_H
#define TG_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Index of the entry called name in table[0..n) of structs of size stride
 * whose first member is `const char *name`, or -1. */
static inline int table_find_named(const void *table, size_t n, size_t stride,
                                   const char *name)
{
    for (size_t i = 0; i < n; i++) {
        const char *const *entry = (const char *const *)(const void *)((const char *)table +
                                                                       i * stride);
        if (!strcmp(name, *entry)) return (int)i;
    }
    return -1;
}
#define FIND_NAMED(table, name) \
    table_find_named(table, sizeof table / sizeof table[0], sizeof table[0], name)

/* Whether name is in list[0..n). */
static inline bool table_has(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(name, list[i])) return true;
    return false;
}
#define IN(name, list) table_has(name, list, sizeof list / sizeof list[0])

#endif
