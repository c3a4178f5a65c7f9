/* peers.c - see peers.h: a chained hash of address -> open connections and
 * the unauthenticated requests' token bucket. */
#include "gateway/http/peers.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/mem.h"
#include "common/siphash.h"

#define PEER_BUCKETS 4096

typedef struct peer {
    struct peer *next;
    uint8_t addr[16];             /* IPv4 as v4-mapped IPv6 */
    long open;
    double tokens;                /* as of `at` */
    uint64_t at;                  /* clock_mono_ms; 0: the bucket was never used */
} peer;

struct http_peers {
    pthread_mutex_t mu;
    long cap, rate, burst;
    long n;
    size_t sweep;                 /* next chain swept of idle entries */
    peer *buckets[PEER_BUCKETS];
};

http_peers *peers_new(long cap, long rate, long burst)
{
    if (cap <= 0 && rate <= 0) return NULL;
    http_peers *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    p->cap = cap > 0 ? cap : 0;
    p->rate = rate > 0 ? rate : 0;
    p->burst = burst > 0 ? burst : 1;
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

/* e's tokens at now (refilled, at most burst). */
static double bucket_level(const http_peers *p, const peer *e, uint64_t now)
{
    if (!e->at) return (double)p->burst;
    double t = e->tokens + (double)(now > e->at ? now - e->at : 0) * (double)p->rate / 1000.0;
    return t > (double)p->burst ? (double)p->burst : t;
}

/* Whether e can go: no connection open and its bucket full again. */
static bool peer_idle(const http_peers *p, const peer *e, uint64_t now)
{
    return e->open <= 0 && bucket_level(p, e, now) >= (double)p->burst;
}

/* Frees the idle entries of one chain. Under the mutex. */
static void chain_sweep(http_peers *p, size_t i, uint64_t now)
{
    for (peer **link = &p->buckets[i]; *link;) {
        peer *e = *link;
        if (!peer_idle(p, e, now)) {
            link = &e->next;
            continue;
        }
        *link = e->next;
        free(e);
        p->n--;
    }
}

/* The entry's link for key (*link NULL when absent), after sweeping its
 * chain and one other (a rolling sweep: entries left idle by closed
 * connections go within PEER_BUCKETS lookups). Under the mutex. */
static peer **peer_find(http_peers *p, const uint8_t key[16], uint64_t now)
{
    size_t i = hash_bytes(key, 16) % PEER_BUCKETS;
    chain_sweep(p, p->sweep, now);
    p->sweep = (p->sweep + 1) % PEER_BUCKETS;
    chain_sweep(p, i, now);
    peer **link = &p->buckets[i];
    while (*link && memcmp((*link)->addr, key, 16)) link = &(*link)->next;
    return link;
}

static peer *peer_add(http_peers *p, peer **link, const uint8_t key[16])
{
    *link = xcalloc(1, sizeof **link);
    memcpy((*link)->addr, key, 16);
    p->n++;
    return *link;
}

bool peers_admit(http_peers *p, const struct sockaddr *sa)
{
    uint8_t key[16];
    if (!p || !p->cap || !peer_key(sa, key)) return true;
    pthread_mutex_lock(&p->mu);
    peer *e = *peer_find(p, key, clock_mono_ms());
    bool ok = !e || e->open < p->cap;
    pthread_mutex_unlock(&p->mu);
    return ok;
}

void peers_count(http_peers *p, const struct sockaddr *sa, int delta)
{
    uint8_t key[16];
    if (!p || !peer_key(sa, key)) return;
    uint64_t now = clock_mono_ms();
    pthread_mutex_lock(&p->mu);
    peer **link = peer_find(p, key, now);
    peer *e = *link;
    if (!e && delta > 0) e = peer_add(p, link, key);
    if (e) {
        e->open += delta;
        if (peer_idle(p, e, now)) {
            *link = e->next;
            free(e);
            p->n--;
        }
    }
    pthread_mutex_unlock(&p->mu);
}

bool peers_take_anon(http_peers *p, const struct sockaddr *sa, uint64_t now_ms,
                     unsigned *retry_s)
{
    uint8_t key[16];
    *retry_s = 0;
    if (!p || !p->rate || !peer_key(sa, key)) return true;
    pthread_mutex_lock(&p->mu);
    peer **link = peer_find(p, key, now_ms);
    peer *e = *link ? *link : peer_add(p, link, key);
    double level = bucket_level(p, e, now_ms);
    bool ok = level >= 1.0;
    e->tokens = ok ? level - 1.0 : level;
    e->at = now_ms ? now_ms : 1;
    if (!ok) {
        double wait_s = (1.0 - level) / (double)p->rate;
        *retry_s = (unsigned)wait_s + 1;   /* whole seconds, rounded up */
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

long peers_entries(http_peers *p)
{
    if (!p) return 0;
    pthread_mutex_lock(&p->mu);
    long n = p->n;
    pthread_mutex_unlock(&p->mu);
    return n;
}
