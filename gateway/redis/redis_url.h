/*
 * redis_url.h - parses backend addresses: redis://[user[:password]@]host[:port][/db]
 * or unix:///path/to/socket. Pure function, thread-safe.
 */
#ifndef TG_REDIS_URL_H
#define TG_REDIS_URL_H

#include "common/err.h"

typedef struct redis_url {
    char host[256];      /* host name or address; empty for unix sockets */
    int port;
    char path[256];      /* unix socket path, or empty */
    char user[128];
    char password[256];
    int db;              /* /db suffix, -1 when absent */
} redis_url;

int redis_url_parse(const char *url, redis_url *out, tg_err *err);

struct redisContext;

/* A blocking hiredis connection to u as the URL's user (AUTH when it has a
 * password), every call bounded by timeout_ms. For administrative calls
 * off the request path (set-up, the control thread, the CLI), never from
 * a worker's event loop. NULL with a 503 err. */
struct redisContext *redis_url_connect(const redis_url *u, int timeout_ms, tg_err *err);

#endif
