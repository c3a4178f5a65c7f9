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

#endif
