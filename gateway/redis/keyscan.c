/* keyscan.c - see keyscan.h. */
#include "gateway/redis/keyscan.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const char keyscan_flush_slice_lua[] =
    "local r = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3]) "
    "for i = 1, #r[2], 500 do "
    "redis.call('UNLINK', unpack(r[2], i, math.min(i + 499, #r[2]))) end "
    "return r[1]";

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

int keyscan_flush_sliced(redisContext *c, const char *glob, tg_err *err)
{
    char cursor[32] = "0", count[16];
    snprintf(count, sizeof count, "%d", KEYSCAN_SLICE_KEYS);
    do {
        const char *argv[] = {"EVAL", keyscan_flush_slice_lua, "0", cursor, glob, count};
        redisReply *r = redisCommandArgv(c, 6, argv, NULL);
        if (!r) return tg_fail(err, 503, "ERR cannot remove the keys: %s", c->errstr);
        bool ok = r->type == REDIS_REPLY_STRING && r->len > 0 && r->len < sizeof cursor;
        if (ok) memcpy(cursor, r->str, r->len + 1);
        else tg_fail(err, 503, "ERR cannot remove the keys: %.200s",
                     r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        if (!ok) return -1;
    } while (strcmp(cursor, "0"));
    return 0;
}
