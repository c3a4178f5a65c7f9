/*
 * workq.h - a small pool of threads that runs blocking jobs for event
 * loops that must not block, and hands each finished job back to the loop
 * that submitted it.
 *
 * A loop owns a port (workq_port_new): an eventfd it watches on its own
 * epoll instance. It submits a job naming its port; a pool thread runs the
 * job's `run` with that thread's context (made by thread_init when the
 * pool starts: e.g. its own SQLite connection); the finished job is linked
 * onto the port's list and the eventfd written. When the fd is readable
 * the loop calls workq_port_complete, which calls each finished job's
 * `done` on the loop's thread. Jobs run in submission order, one per free
 * thread.
 *
 * Bounds: with a limit (workq_set_limit), a submit while that many jobs
 * are queued or running is refused, so a burst cannot queue without end.
 * A job whose submitter no longer wants it (its client left) is cancelled
 * (workq_job_cancel): if it has not started, its `run` is skipped; its
 * `done` is called all the same.
 *
 * Lifetimes: a job is the submitter's memory until `done` is called. A
 * port is freed by its loop after workq_port_drain (which waits for its
 * outstanding jobs and completes them); the pool is stopped after every
 * port is drained (workq_stop runs what is still queued first). Port and
 * pool functions are thread-safe as documented per function.
 */
#ifndef TG_WORKQ_H
#define TG_WORKQ_H

#include "common/err.h"

typedef struct workq workq;
typedef struct workq_port workq_port;
typedef struct workq_job workq_job;

struct workq_job {
    workq_job *next;                           /* the queue's, then the port's */
    void (*run)(workq_job *j, void *thread_ctx);   /* on a pool thread */
    void (*done)(workq_job *j);                    /* on the port's thread */
    workq_port *port;                          /* set by workq_submit */
    int cancelled;                             /* workq_job_cancel (atomic) */
};

/* Starts nthreads threads; thread_init(arg, err) is called for each in the
 * caller's thread before any starts (NULL + err fails the start; what was
 * made is finished with thread_fini). NULL + err on failure. */
workq *workq_start(int nthreads, void *(*thread_init)(void *arg, tg_err *err),
                   void (*thread_fini)(void *thread_ctx), void *arg, tg_err *err);

/* Runs what is queued, joins the threads, calls thread_fini. NULL ok. */
void workq_stop(workq *q);

/* At most max jobs queued or running at once (0: no limit, the start's). */
void workq_set_limit(workq *q, int max);

/* Any thread. j->run and j->done set by the caller. 0, or -1 when the
 * limit is reached: the job was not taken (it stays the caller's, done is
 * not called). */
int workq_submit(workq *q, workq_port *p, workq_job *j);

/* Any thread, while j is submitted and its done not yet called: j's run
 * is skipped if it has not started. */
void workq_job_cancel(workq_job *j);

/* A port for the calling thread's loop. NULL + err. */
workq_port *workq_port_new(tg_err *err);
int workq_port_fd(const workq_port *p);

/* On the port's thread, when its fd is readable: calls done of each job
 * finished since the last call. */
void workq_port_complete(workq_port *p);

/* On the port's thread: waits for every job submitted on p, completing
 * them (done is called). Then p may be freed. */
void workq_port_drain(workq_port *p);

/* Jobs submitted on p and not yet completed (the port's thread). */
int workq_port_outstanding(const workq_port *p);

void workq_port_free(workq_port *p);    /* NULL ok; drained first */

#endif
