/* route.c - see route.h: route lookup and method names. */
#include "gateway/http/route.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    unsigned bit;
} methods[] = {
    {"GET", M_GET}, {"HEAD", M_HEAD}, {"POST", M_POST}, {"PUT", M_PUT},
    {"OPTIONS", M_OPTIONS}, {"DELETE", M_DELETE}, {"PATCH", M_PATCH},
};

unsigned route_method_bit(const char *name)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (!strcmp(name, methods[i].name)) return methods[i].bit;
    return M_OTHER;
}

const char *route_method_name(unsigned bit)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (methods[i].bit == bit) return methods[i].name;
    return "-";
}

void route_allow_header(unsigned m, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (unsigned bit = 1; bit <= M_PATCH; bit <<= 1)
        if ((m & bit) && bit != M_OPTIONS && bit != M_OTHER)
            len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s",
                                    len ? ", " : "", route_method_name(bit));
    if (len < cap) snprintf(out + len, cap - len, "%sOPTIONS", len ? ", " : "");
}

const route *route_find(const route *table, size_t n, const char *path, unsigned method,
                        unsigned *allowed)
{
    *allowed = 0;
    for (size_t i = 0; i < n; i++) {
        const route *rt = &table[i];
        bool hit = rt->match == MATCH_EXACT ? !strcmp(path, rt->path)
                                            : !strncmp(path, rt->path, strlen(rt->path));
        if (!hit) continue;
        if (rt->methods & method) return rt;
        *allowed |= rt->methods;
        if (rt->flags & RT_EXCLUSIVE) break;
    }
    return NULL;
}
