/* test_sync_token.c - gateway/protocol/sync_token.h: one counter per
 * database, and concurrent bumps from many threads, on many databases at
 * once (counters created while others are bumped), sum exactly. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gateway/protocol/sync_token.h"
#include "tests/unit/testhelp.h"

TEST(per_database_counters)
{
    sync_token *a = sync_token_for("db_a"), *b = sync_token_for("db_b");
    CHECK(a && b && a != b);
    CHECK(sync_token_for("db_a") == a); /* the same counter on every lookup */
    CHECK(sync_token_current(a) == 0 && sync_token_current(b) == 0);
    CHECK(sync_token_bump(a) == 1);
    CHECK(sync_token_bump(a) == 2);
    CHECK(sync_token_current(a) == 2);
    CHECK(sync_token_current(b) == 0); /* a write on A leaves B's token */
    CHECK(sync_token_bump(b) == 1);
    CHECK(sync_token_current(a) == 2);
    /* Ids that share a prefix are other databases. */
    sync_token *ab = sync_token_for("db_ab");
    CHECK(ab != a && sync_token_current(ab) == 0);
}

#define THREADS 8
#define DBS 64
#define BUMPS (DBS * 300)

static void *bumper(void *arg)
{
    int t = (int)(intptr_t)arg;
    char id[32];
    for (int i = 0; i < BUMPS; i++) {
        /* Every thread walks every database, from its own start, so
         * lookups create counters while others bump theirs. */
        snprintf(id, sizeof id, "conc_%d", (i + t * 7) % DBS);
        sync_token_bump(sync_token_for(id));
    }
    return NULL;
}

TEST(concurrent_bumps_sum_exactly)
{
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, bumper, (void *)(intptr_t)t) == 0);
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    uint64_t total = 0;
    bool even = true;
    char id[32];
    for (int d = 0; d < DBS; d++) {
        snprintf(id, sizeof id, "conc_%d", d);
        uint64_t v = sync_token_current(sync_token_for(id));
        total += v;
        /* BUMPS is a multiple of DBS: each thread bumps each one as often */
        if (v != (uint64_t)THREADS * BUMPS / DBS) even = false;
    }
    CHECK(total == (uint64_t)THREADS * BUMPS);
    CHECK(even);
}

TEST(free_all_then_fresh)
{
    sync_token_free_all();
    CHECK(sync_token_current(sync_token_for("db_a")) == 0);
    sync_token_free_all();
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    RUN(per_database_counters);
    RUN(concurrent_bumps_sum_exactly);
    RUN(free_all_then_fresh);
    TEST_MAIN_END();
}
