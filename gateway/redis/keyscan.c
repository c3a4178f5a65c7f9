/* keyscan.c - see keyscan.h. */
#include "gateway/redis/keyscan.h"

#include <stdbool.h>

const char keyscan_flush_lua[] =
    "local cur = '0' "
    "repeat "
    "local r = redis.call('SCAN', cur, 'MATCH', ARGV[1], 'COUNT', 1000) "
    "cur = r[1] "
    "for i = 1, #r[2], 500 do "
    "redis.call('UNLINK', unpack(r[2], i, math.min(i + 499, #r[2]))) end "
    "until cur == '0' "
    "return redis.status_reply('OK')";

size_t keyscan_glob(const char *prefix, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = prefix[i];
        bool special = c == '*' || c == '?' || c == '[' || c == ']' || c == '\\';
        if (n + 3 > cap) return 0;
        if (special) out[n++] = '\\';
        out[n++] = c;
    }
    if (n + 2 > cap) return 0;
    out[n++] = '*';
    out[n] = '\0';
    return n;
}
