/* redis_url.c - see redis_url.h. */
#include "gateway/redis/redis_url.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static int copy_part(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap) return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

int redis_url_parse(const char *url, redis_url *out, tg_err *err)
{
    memset(out, 0, sizeof *out);
    out->db = -1;
    if (!strncmp(url, "unix://", 7)) {
        if (copy_part(out->path, sizeof out->path, url + 7, strlen(url + 7)) ||
            out->path[0] != '/')
            return tg_fail(err, 400, "redis url: bad unix socket path");
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return tg_fail(err, 400, "redis url must start with redis:// or unix://");
    const char *p = url + 8;
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        int bad = colon ? copy_part(out->user, sizeof out->user, p, (size_t)(colon - p)) ||
                              copy_part(out->password, sizeof out->password, colon + 1,
                                        (size_t)(at - colon - 1))
                        /* redis://password@host, the common short form */
                        : copy_part(out->password, sizeof out->password, p, (size_t)(at - p));
        if (bad) return tg_fail(err, 400, "redis url: credentials too long");
        p = at + 1;
    }
    const char *slash = strchr(p, '/');
    size_t hl = slash ? (size_t)(slash - p) : strlen(p);
    const char *colon = memchr(p, ':', hl);
    size_t hostlen = colon ? (size_t)(colon - p) : hl;
    if (hostlen == 0 || copy_part(out->host, sizeof out->host, p, hostlen))
        return tg_fail(err, 400, "redis url: bad host");
    out->port = 6379;
    if (colon) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (end != p + hl || port <= 0 || port > 65535)
            return tg_fail(err, 400, "redis url: bad port");
        out->port = (int)port;
    }
    if (slash && slash[1]) {
        char *end;
        long db = strtol(slash + 1, &end, 10);
        if (*end || db < 0 || db > 100000) return tg_fail(err, 400, "redis url: bad db");
        out->db = (int)db;
    }
    return 0;
}

redisContext *redis_url_connect(const redis_url *u, int timeout_ms, tg_err *err)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = u->path[0] ? redisConnectUnixWithTimeout(u->path, tv)
                                 : redisConnectWithTimeout(u->host, u->port, tv);
    if (!c || c->err) {
        tg_fail(err, 503, "ERR backend unavailable: %s", c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (u->password[0]) {
        redisReply *r = u->user[0] ? redisCommand(c, "AUTH %s %s", u->user, u->password)
                                   : redisCommand(c, "AUTH %s", u->password);
        bool ok = r && r->type != REDIS_REPLY_ERROR;
        if (r) freeReplyObject(r);
        if (!ok) {
            tg_fail(err, 503, "ERR backend unavailable: authentication refused");
            redisFree(c);
            return NULL;
        }
    }
    return c;
}
