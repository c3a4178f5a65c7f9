/* pool.c - see pool.h: a worker's backends, a short list searched by
 * (url, db). A worker talks to few backends; a list beats a hash here. */
#include "gateway/redis/pool.h"

#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/mem.h"

typedef struct pool_slot {
    struct pool_slot *next;
    backend *b;
    const backend_info *info;
    uint64_t used_ms;           /* monotonic: last handed out or seen busy */
} pool_slot;

struct redis_pool {
    backend_opts o;
    pool_slot *slots;
    uint64_t idle_ms;           /* 0: backends are never closed idle */
    uint64_t closed_idle;       /* backends closed so */
};

redis_pool *pool_new(const backend_opts *o)
{
    redis_pool *p = xcalloc(1, sizeof *p);
    p->o = *o;
    return p;
}

void pool_close_all(redis_pool *p)
{
    if (!p) return;
    /* Failing a backend's operations answers their requests, which may
     * submit nothing new here (the worker is draining), so the list can
     * be walked while freeing. */
    for (pool_slot *s = p->slots, *next; s; s = next) {
        next = s->next;
        backend_free(s->b);
        free(s);
    }
    p->slots = NULL;
}

void pool_free(redis_pool *p)
{
    if (!p) return;
    pool_close_all(p);
    free(p);
}

int pool_get(redis_pool *p, const char *url, int db, backend **out,
             const backend_info **info, tg_err *err)
{
    *out = NULL;
    *info = NULL;
    for (pool_slot *s = p->slots; s; s = s->next)
        if (backend_db(s->b) == db && !strcmp(backend_url(s->b), url)) {
            s->used_ms = clock_mono_ms();
            *out = s->b;
            *info = s->info;
            return 0;
        }
    const backend_info *bi = backend_info_for(url, p->o.connect_timeout_ms, err);
    if (!bi) return -1;
    backend *b = backend_new(url, db, bi, &p->o, err);
    if (!b) return -1;
    pool_slot *s = xcalloc(1, sizeof *s);
    s->b = b;
    s->info = bi;
    s->used_ms = clock_mono_ms();
    s->next = p->slots;
    p->slots = s;
    *out = b;
    *info = bi;
    return 0;
}

uint64_t pool_deadline(const redis_pool *p)
{
    uint64_t t = UINT64_MAX;
    for (const pool_slot *s = p->slots; s; s = s->next) {
        uint64_t d = backend_deadline(s->b);
        if (d < t) t = d;
    }
    return t;
}

void pool_set_idle_timeout(redis_pool *p, uint64_t idle_ms)
{
    /* A request may hold a backend from pool_get without anything sent on
     * it yet while it waits for the quota store (a connect and a command
     * at most): never close one sooner than that after its last use. */
    uint64_t floor = (uint64_t)p->o.connect_timeout_ms + (uint64_t)p->o.command_timeout_ms + 1000;
    p->idle_ms = idle_ms && idle_ms < floor ? floor : idle_ms;
}

void pool_check_timeouts(redis_pool *p, uint64_t now_ms)
{
    for (pool_slot **link = &p->slots, *s; (s = *link);) {
        backend_check_timeouts(s->b, now_ms);
        if (backend_pending(s->b) > 0 || backend_has_output(s->b)) s->used_ms = now_ms;
        if (p->idle_ms && now_ms >= s->used_ms + p->idle_ms) {
            *link = s->next;      /* nothing waits on it: closed quietly */
            backend_free(s->b);
            free(s);
            p->closed_idle++;
            continue;
        }
        link = &s->next;
    }
}

uint64_t pool_closed_idle(const redis_pool *p)
{
    return p->closed_idle;
}

void pool_flush(redis_pool *p)
{
    for (pool_slot *s = p->slots; s; s = s->next)
        if (backend_has_output(s->b)) backend_flush(s->b);
}
