/* workq.c - see workq.h. */
#include "common/workq.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/mem.h"

struct workq_port {
    int efd;
    pthread_mutex_t mu;
    workq_job *finished;        /* newest first */
    int outstanding;            /* the owner's count: submitted - completed */
};

typedef struct workq_thread {
    workq *q;
    pthread_t tid;
    void *ctx;
    bool started;
} workq_thread;

struct workq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    workq_job *head, *tail;
    int pending;                /* queued or running */
    int limit;                  /* 0: none */
    bool stopping;
    int n;
    workq_thread *threads;
    void (*fini)(void *ctx);
};

static void finish(workq_job *j)
{
    workq_port *p = j->port;
    pthread_mutex_lock(&p->mu);
    j->next = p->finished;
    p->finished = j;
    uint64_t one = 1;
    ssize_t w = write(p->efd, &one, sizeof one);
    (void)w; /* a full counter is still readable */
    pthread_mutex_unlock(&p->mu);
}

static void *thread_main(void *arg)
{
    workq_thread *t = arg;
    workq *q = t->q;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        while (!q->head && !q->stopping) pthread_cond_wait(&q->cv, &q->mu);
        workq_job *j = q->head;
        if (j) {
            q->head = j->next;
            if (!q->head) q->tail = NULL;
        }
        pthread_mutex_unlock(&q->mu);
        if (!j) return NULL; /* stopping, queue empty */
        if (!__atomic_load_n(&j->cancelled, __ATOMIC_ACQUIRE)) j->run(j, t->ctx);
        pthread_mutex_lock(&q->mu);
        q->pending--;
        pthread_mutex_unlock(&q->mu);
        finish(j);
    }
}

workq *workq_start(int nthreads, void *(*thread_init)(void *arg, tg_err *err),
                   void (*thread_fini)(void *thread_ctx), void *arg, tg_err *err)
{
    workq *q = xcalloc(1, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->fini = thread_fini;
    q->threads = xcalloc((size_t)nthreads, sizeof *q->threads);
    for (int i = 0; i < nthreads; i++) {
        q->threads[i].q = q;
        if (!(q->threads[i].ctx = thread_init(arg, err))) goto fail;
        q->n = i + 1;
    }
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&q->threads[i].tid, NULL, thread_main, &q->threads[i])) {
            tg_fail(err, 500, "control threads: %s", strerror(errno));
            goto fail;
        }
        q->threads[i].started = true;
    }
    return q;
fail:
    workq_stop(q);
    return NULL;
}

void workq_stop(workq *q)
{
    if (!q) return;
    pthread_mutex_lock(&q->mu);
    q->stopping = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    for (int i = 0; i < q->n; i++) {
        if (q->threads[i].started) pthread_join(q->threads[i].tid, NULL);
        if (q->fini) q->fini(q->threads[i].ctx);
    }
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q->threads);
    free(q);
}

void workq_set_limit(workq *q, int max)
{
    pthread_mutex_lock(&q->mu);
    q->limit = max > 0 ? max : 0;
    pthread_mutex_unlock(&q->mu);
}

void workq_job_cancel(workq_job *j)
{
    __atomic_store_n(&j->cancelled, 1, __ATOMIC_RELEASE);
}

int workq_submit(workq *q, workq_port *p, workq_job *j)
{
    pthread_mutex_lock(&q->mu);
    if (q->limit && q->pending >= q->limit) {
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    q->pending++;
    j->port = p;
    j->next = NULL;
    j->cancelled = 0;
    p->outstanding++;   /* the port's thread's own count */
    if (q->tail) q->tail->next = j;
    else q->head = j;
    q->tail = j;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

workq_port *workq_port_new(tg_err *err)
{
    workq_port *p = xcalloc(1, sizeof *p);
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->efd < 0) {
        tg_fail(err, 500, "eventfd: %s", strerror(errno));
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    return p;
}

int workq_port_fd(const workq_port *p) { return p->efd; }

int workq_port_outstanding(const workq_port *p) { return p->outstanding; }

void workq_port_complete(workq_port *p)
{
    uint64_t n;
    ssize_t r = read(p->efd, &n, sizeof n);
    (void)r;
    pthread_mutex_lock(&p->mu);
    workq_job *list = p->finished;
    p->finished = NULL;
    pthread_mutex_unlock(&p->mu);
    /* Oldest first: reverse the list. */
    workq_job *fwd = NULL;
    while (list) {
        workq_job *next = list->next;
        list->next = fwd;
        fwd = list;
        list = next;
    }
    while (fwd) {
        workq_job *next = fwd->next;
        p->outstanding--;
        fwd->done(fwd);
        fwd = next;
    }
}

void workq_port_drain(workq_port *p)
{
    while (p->outstanding > 0) {
        struct pollfd pfd = {.fd = p->efd, .events = POLLIN};
        poll(&pfd, 1, 100);
        workq_port_complete(p);
    }
}

void workq_port_free(workq_port *p)
{
    if (!p) return;
    workq_port_drain(p);
    close(p->efd);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
