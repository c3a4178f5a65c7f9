/* peers.c - see peers.h: a chained hash of address -> open connections. */
#include "gateway/http/peers.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/siphash.h"

#define PEER_BUCKETS 4096

typedef struct peer {
    struct peer *next;
    uint8_t addr[16];             /* IPv4 as v4-mapped IPv6 */
    long open;
} peer;

struct http_peers {
    pthread_mutex_t mu;
    long cap;
    peer *buckets[PEER_BUCKETS];
};

http_peers *peers_new(long cap)
{
    if (cap <= 0) return NULL;
    http_peers *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    p->cap = cap;
    return p;
}

void peers_free(http_peers *p)
{
    if (!p) return;
    for (size_t i = 0; i < PEER_BUCKETS; i++)
        for (peer *e = p->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* The 16-byte key of sa; false for other families (not counted). */
static bool peer_key(const struct sockaddr *sa, uint8_t key[16])
{
    if (!sa) return false;
    if (sa->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return true;
    }
    if (sa->sa_family != AF_INET) return false;
    memset(key, 0, 10);
    key[10] = key[11] = 0xff;
    memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    return true;
}

/* The entry's link for key (*link NULL when absent). Under the mutex. */
static peer **peer_find(http_peers *p, const uint8_t key[16])
{
    peer **link = &p->buckets[hash_bytes(key, 16) % PEER_BUCKETS];
    while (*link && memcmp((*link)->addr, key, 16)) link = &(*link)->next;
    return link;
}

bool peers_admit(http_peers *p, const struct sockaddr *sa)
{
    uint8_t key[16];
    if (!p || !peer_key(sa, key)) return true;
    pthread_mutex_lock(&p->mu);
    peer *e = *peer_find(p, key);
    bool ok = !e || e->open < p->cap;
    pthread_mutex_unlock(&p->mu);
    return ok;
}

void peers_count(http_peers *p, const struct sockaddr *sa, int delta)
{
    uint8_t key[16];
    if (!p || !peer_key(sa, key)) return;
    pthread_mutex_lock(&p->mu);
    peer **link = peer_find(p, key);
    if (!*link && delta > 0) {
        *link = xcalloc(1, sizeof **link);
        memcpy((*link)->addr, key, 16);
    }
    peer *e = *link;
    if (e) {
        e->open += delta;
        if (e->open <= 0) {
            *link = e->next;
            free(e);
        }
    }
    pthread_mutex_unlock(&p->mu);
}
