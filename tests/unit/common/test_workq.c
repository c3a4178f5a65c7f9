/* test_workq.c - the control threads' queue: jobs run on a pool thread
 * with that thread's context, come back on the submitting loop's port in
 * order, draining waits for every job, and stop runs what is queued. */
#include "common/workq.c"

#include <poll.h>
#include <stdatomic.h>

#include "tests/unit/testhelp.h"

typedef struct tjob {
    workq_job wq;
    int n;
    pthread_t ran_on;
    void *ctx;
    int *order, *norder;
} tjob;

static int ctx_made;
static int tokens[2];

static void *t_init(void *arg, tg_err *err)
{
    (void)err;
    int i = ctx_made++;
    return i < *(int *)arg ? &tokens[i] : NULL;
}

static void t_fini(void *ctx) { (void)ctx; }

static void t_run(workq_job *j, void *ctx)
{
    tjob *t = (tjob *)j;
    t->ran_on = pthread_self();
    t->ctx = ctx;
}

static void t_done(workq_job *j)
{
    tjob *t = (tjob *)j;
    t->order[(*t->norder)++] = t->n;
}

TEST(jobs_run_off_thread_and_come_back)
{
    tg_err err;
    int ok = 2;
    ctx_made = 0;
    workq *q = workq_start(1, t_init, t_fini, &ok, &err);
    workq_port *p = workq_port_new(&err);
    CHECK(q && p);
    int order[8], n = 0;
    tjob jobs[8];
    for (int i = 0; i < 8; i++) {
        jobs[i] = (tjob){.wq = {.run = t_run, .done = t_done}, .n = i, .order = order,
                         .norder = &n};
        workq_submit(q, p, &jobs[i].wq);
    }
    CHECK(workq_port_outstanding(p) == 8);
    workq_port_drain(p);
    CHECK(n == 8);
    CHECK(workq_port_outstanding(p) == 0);
    for (int i = 0; i < 8; i++) {
        CHECK(order[i] == i);                  /* one thread: in order */
        CHECK(!pthread_equal(jobs[i].ran_on, pthread_self()));
        CHECK(jobs[i].ctx == &tokens[0]);
    }
    workq_port_free(p);
    workq_stop(q);
}

TEST(port_fd_signals_completion)
{
    tg_err err;
    int ok = 2;
    ctx_made = 0;
    workq *q = workq_start(2, t_init, t_fini, &ok, &err);
    workq_port *p = workq_port_new(&err);
    int order[1], n = 0;
    tjob j = {.wq = {.run = t_run, .done = t_done}, .n = 7, .order = order, .norder = &n};
    workq_submit(q, p, &j.wq);
    struct pollfd pfd = {.fd = workq_port_fd(p), .events = POLLIN};
    CHECK(poll(&pfd, 1, 5000) == 1);
    CHECK(n == 0);                             /* done runs only when asked */
    workq_port_complete(p);
    CHECK(n == 1 && order[0] == 7);
    workq_port_free(p);
    workq_stop(q);
}

TEST(start_fails_cleanly_when_a_thread_context_fails)
{
    tg_err err;
    int ok = 1;
    ctx_made = 0;
    err.status = 0;
    workq *q = workq_start(2, t_init, t_fini, &ok, &err);
    CHECK(q == NULL);
}

/* A job that holds its thread until released. */
static atomic_int gate_open, gate_entered;

static void t_run_gated(workq_job *j, void *ctx)
{
    atomic_fetch_add(&gate_entered, 1);
    while (!atomic_load(&gate_open)) usleep(1000);
    t_run(j, ctx);
}

static void wait_entered(int n)
{
    while (atomic_load(&gate_entered) < n) usleep(1000);
}

TEST(limit_refuses_submits_beyond_it_until_jobs_finish)
{
    tg_err err;
    int ok = 2;
    ctx_made = 0;
    atomic_store(&gate_open, 0);
    atomic_store(&gate_entered, 0);
    workq *q = workq_start(1, t_init, t_fini, &ok, &err);
    workq_port *p = workq_port_new(&err);
    workq_set_limit(q, 3);
    int order[8], n = 0;
    tjob jobs[5];
    for (int i = 0; i < 5; i++)
        jobs[i] = (tjob){.wq = {.run = t_run_gated, .done = t_done}, .n = i, .order = order,
                         .norder = &n};
    CHECK(workq_submit(q, p, &jobs[0].wq) == 0);
    wait_entered(1);                           /* one running */
    CHECK(workq_submit(q, p, &jobs[1].wq) == 0);
    CHECK(workq_submit(q, p, &jobs[2].wq) == 0);   /* two queued: three out */
    CHECK(workq_submit(q, p, &jobs[3].wq) == -1);  /* refused */
    CHECK(workq_port_outstanding(p) == 3);
    atomic_store(&gate_open, 1);
    workq_port_drain(p);
    CHECK(n == 3);
    CHECK(workq_submit(q, p, &jobs[4].wq) == 0);   /* room again */
    workq_port_drain(p);
    CHECK(n == 4 && order[3] == 4);
    workq_port_free(p);
    workq_stop(q);
}

TEST(cancelled_job_is_skipped_but_completed)
{
    tg_err err;
    int ok = 2;
    ctx_made = 0;
    atomic_store(&gate_open, 0);
    atomic_store(&gate_entered, 0);
    workq *q = workq_start(1, t_init, t_fini, &ok, &err);
    workq_port *p = workq_port_new(&err);
    int order[4], n = 0;
    tjob a = {.wq = {.run = t_run_gated, .done = t_done}, .n = 0, .order = order, .norder = &n};
    tjob b = {.wq = {.run = t_run, .done = t_done}, .n = 1, .order = order, .norder = &n};
    tjob c = {.wq = {.run = t_run, .done = t_done}, .n = 2, .order = order, .norder = &n};
    CHECK(workq_submit(q, p, &a.wq) == 0);
    wait_entered(1);
    CHECK(workq_submit(q, p, &b.wq) == 0);
    CHECK(workq_submit(q, p, &c.wq) == 0);
    workq_job_cancel(&b.wq);                   /* queued behind a: never runs */
    workq_job_cancel(&a.wq);                   /* already running: runs out */
    atomic_store(&gate_open, 1);
    workq_port_drain(p);
    CHECK(n == 3);                             /* every done called */
    CHECK(a.ctx == &tokens[0]);
    CHECK(b.ctx == NULL);                      /* run skipped */
    CHECK(c.ctx == &tokens[0]);
    workq_port_free(p);
    workq_stop(q);
}

int main(void)
{
    RUN(jobs_run_off_thread_and_come_back);
    RUN(port_fd_signals_completion);
    RUN(start_fails_cleanly_when_a_thread_context_fails);
    RUN(limit_refuses_submits_beyond_it_until_jobs_finish);
    RUN(cancelled_job_is_skipped_but_completed);
    TEST_MAIN_END();
}
