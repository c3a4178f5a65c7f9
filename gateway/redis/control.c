/* control.c - see control.h: one thread, a short list of watched backends
 * under one mutex. */
#include "gateway/redis/control.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/mem.h"
#include "gateway/redis/redis_url.h"

#define RECHECK_AFTER_KILL_MS 20   /* the next script may already run */
#define RETRY_MS 250               /* after UNKILLABLE or a broken call */

typedef struct watch {
    struct watch *next;
    char *url;
    redisContext *c;          /* the control thread's own; NULL until used */
    bool busy;                /* kill until NOTBUSY */
    bool told_unkillable;     /* logged this episode */
    uint64_t due_ms;          /* monotonic: not before */
} watch;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t tid;
    bool running, stopping;
    int timeout_ms;
    watch *watches;
    control_stats st;
} C = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

void control_busy(const char *url)
{
    pthread_mutex_lock(&C.lock);
    C.st.asked++;
    watch *w = C.watches;
    while (w && strcmp(w->url, url)) w = w->next;
    if (!w) {
        w = xcalloc(1, sizeof *w);
        w->url = xstrdup(url);
        w->next = C.watches;
        C.watches = w;
    }
    if (!w->busy) {
        w->busy = true;
        w->told_unkillable = false;
        w->due_ms = 0;
    }
    pthread_cond_signal(&C.wake);
    pthread_mutex_unlock(&C.lock);
}

void control_stats_get(control_stats *out)
{
    pthread_mutex_lock(&C.lock);
    *out = C.st;
    pthread_mutex_unlock(&C.lock);
}

typedef enum { KILL_KILLED, KILL_FREE, KILL_UNKILLABLE, KILL_BROKEN } kill_result;

/* One SCRIPT KILL on w's connection (made on first use), without the
 * lock: it may block up to timeout_ms. */
static kill_result kill_once(watch *w, int timeout_ms)
{
    tg_err err;
    if (!w->c) {
        redis_url u;
        if (redis_url_parse(w->url, &u, &err)) return KILL_FREE; /* cannot be helped */
        w->c = redis_url_connect(&u, timeout_ms, &err);
        if (!w->c) return KILL_BROKEN;
    }
    redisReply *r = redisCommand(w->c, "SCRIPT KILL");
    if (!r) {   /* timed out or broke: hiredis contexts are not reused after */
        redisFree(w->c);
        w->c = NULL;
        return KILL_BROKEN;
    }
    kill_result k = r->type == REDIS_REPLY_STATUS ? KILL_KILLED
                    : r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOTBUSY", 7) ? KILL_FREE
                    : r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "UNKILLABLE", 10)
                        ? KILL_UNKILLABLE
                        : KILL_FREE; /* e.g. NOPERM: nothing this thread can do */
    if (k == KILL_FREE && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOTBUSY", 7))
        fprintf(stderr, "tollgate: control: SCRIPT KILL refused: %.160s\n", r->str);
    freeReplyObject(r);
    return k;
}

/* The watch due first, or NULL; *wait_ms how long until one is due. */
static watch *next_due(uint64_t now, long *wait_ms)
{
    watch *best = NULL;
    for (watch *w = C.watches; w; w = w->next)
        if (w->busy && (!best || w->due_ms < best->due_ms)) best = w;
    *wait_ms = !best ? -1 : best->due_ms > now ? (long)(best->due_ms - now) : 0;
    return best && best->due_ms <= now ? best : NULL;
}

static void wait_for_work(long wait_ms)
{
    if (wait_ms < 0) {
        pthread_cond_wait(&C.wake, &C.lock);
        return;
    }
    struct timespec ts;
    clock_deadline_in((uint64_t)wait_ms, &ts);
    pthread_cond_timedwait(&C.wake, &C.lock, &ts);
}

static void *control_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&C.lock);
    while (!C.stopping) {
        long wait_ms;
        watch *w = next_due(clock_mono_ms(), &wait_ms);
        if (!w) {
            wait_for_work(wait_ms);
            continue;
        }
        pthread_mutex_unlock(&C.lock);
        kill_result k = kill_once(w, C.timeout_ms);  /* w is never freed while running */
        pthread_mutex_lock(&C.lock);
        uint64_t now = clock_mono_ms();
        if (k == KILL_KILLED) {
            C.st.killed++;
            fprintf(stderr, "tollgate: killed a script that outran the command timeout\n");
            w->due_ms = now + RECHECK_AFTER_KILL_MS;
        } else if (k == KILL_UNKILLABLE) {
            C.st.unkillable++;
            if (!w->told_unkillable)
                fprintf(stderr, "tollgate: warning: a script that already wrote keeps a "
                        "backend busy and cannot be killed; retrying\n");
            w->told_unkillable = true;
            w->due_ms = now + RETRY_MS;
        } else if (k == KILL_BROKEN) {
            w->due_ms = now + RETRY_MS;
        } else {
            w->busy = false;
        }
    }
    pthread_mutex_unlock(&C.lock);
    return NULL;
}

int control_start(int timeout_ms, tg_err *err)
{
    pthread_mutex_lock(&C.lock);
    C.timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
    C.stopping = false;
    int e = C.running ? 0 : pthread_create(&C.tid, NULL, control_main, NULL);
    if (!e) C.running = true;
    pthread_mutex_unlock(&C.lock);
    if (e) return tg_fail(err, 500, "control thread: %s", strerror(e));
    return 0;
}

void control_stop(void)
{
    pthread_mutex_lock(&C.lock);
    bool running = C.running;
    C.stopping = true;
    pthread_cond_signal(&C.wake);
    pthread_mutex_unlock(&C.lock);
    if (running) pthread_join(C.tid, NULL);
    pthread_mutex_lock(&C.lock);
    C.running = false;
    for (watch *w = C.watches, *next; w; w = next) {
        next = w->next;
        if (w->c) redisFree(w->c);
        free(w->url);
        free(w);
    }
    C.watches = NULL;
    pthread_mutex_unlock(&C.lock);
}
