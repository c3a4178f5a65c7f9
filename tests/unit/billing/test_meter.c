/* test_meter.c - billing/meter.h, queue.h, spill.h, writer.h: ids, the
 * queue, batch commits with rollups, exactly-once replays, late events,
 * drain on stop, the overflow policies. On throwaway SQLite files. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "billing/meter.h"
#include "billing/meter_node.h"
#include "billing/queue.h"
#include "billing/spill.h"
#include "billing/writer.h"
#include "common/clock.h"
#include "tests/unit/fixtures/state.h"
#include "tests/unit/testhelp.h"

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_open(path, &db);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fprintf(stderr, "  sql: %s\n", msg);
    sqlite3_free(msg);
    sqlite3_close(db);
}

/* 2026-11-15T12:00:00Z */
#define NOV_MS 1763208000000ULL

static void make_row(meter_row *r, uint64_t id, uint64_t t, const char *tenant,
                     const char *database, meter_outcome outcome, uint32_t cmds)
{
    memset(r, 0, sizeof *r);
    r->id = id;
    r->time_ms = t;
    snprintf(r->tenant_id, sizeof r->tenant_id, "%s", tenant);
    snprintf(r->database_id, sizeof r->database_id, "%s", database);
    snprintf(r->jti, sizeof r->jti, "jti1");
    r->commands = cmds;
    r->billable_commands = cmds;
    r->bytes_in = 10;
    r->bytes_out = 20;
    r->http_status = outcome == METER_OK ? 200 : 400;
    r->outcome = (uint8_t)outcome;
}

static meter_batch *batch_new(size_t cap)
{
    meter_batch *b = calloc(1, sizeof *b + cap * sizeof b->rows[0]);
    b->cap = cap;
    return b;
}

/* ==== Ids ==== */

TEST(ids_time_ordered_and_unique)
{
    meter_id_seed(0, 5);
    uint64_t prev = meter_id_next(NOV_MS);
    CHECK(meter_id_time_ms(prev) == NOV_MS);
    CHECK(((prev >> 16) & 63) == 5);
    int bad = 0;
    /* 70,000 ids in one ms: past 65,536 they borrow the next ms. */
    for (int i = 0; i < 70000; i++) {
        uint64_t id = meter_id_next(NOV_MS);
        if (id <= prev || ((id >> 16) & 63) != 5) bad++;
        prev = id;
    }
    CHECK(bad == 0);
    CHECK(meter_id_time_ms(prev) == NOV_MS + 1);
    /* A clock that goes back never reuses an id. */
    CHECK(meter_id_next(NOV_MS - 5000) > prev);
}

TEST(ids_seeded_past_stored)
{
    uint64_t stored = ((NOV_MS + 60000 - METER_EPOCH_MS) << 22) | (7ULL << 16) | 99;
    meter_id_seed(stored, 2);   /* a max id written by node 7 */
    uint64_t id = meter_id_next(NOV_MS);
    CHECK(id > stored);
    CHECK(((id >> 16) & 63) == 2);
}

static void *id_thread(void *arg)
{
    uint64_t *out = arg;
    for (int i = 0; i < 100000; i++) out[i] = meter_id_next(clock_wall_ms());
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

TEST(ids_unique_across_threads)
{
    uint64_t *ids = malloc(2 * 100000 * sizeof *ids);
    pthread_t t1, t2;
    pthread_create(&t1, NULL, id_thread, ids);
    pthread_create(&t2, NULL, id_thread, ids + 100000);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    int increasing = 1;
    for (int i = 1; i < 100000; i++)
        if (ids[i] <= ids[i - 1] || ids[100000 + i] <= ids[100000 + i - 1]) increasing = 0;
    CHECK(increasing);
    qsort(ids, 200000, sizeof *ids, cmp_u64);
    int dup = 0;
    for (int i = 1; i < 200000; i++) dup += ids[i] == ids[i - 1];
    CHECK(dup == 0);
    free(ids);
}

/* ==== Command names ==== */

TEST(names_distinct_with_counts)
{
    meter_event e;
    memset(&e, 0, sizeof e);
    const char *cmds[] = {"set", "SET", "get", "incr", "get", "a", "b", "c", "d", "e"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        meter_event_add_command(&e, cmds[i], strlen(cmds[i]));
    char out[256];
    meter_names_format(&e.names, out, sizeof out);
    CHECK_STR(out, "SET*2 GET*2 INCR A B C +2");
    meter_event empty;
    memset(&empty, 0, sizeof empty);
    meter_names_format(&empty.names, out, sizeof out);
    CHECK_STR(out, "");
    meter_event longname;
    memset(&longname, 0, sizeof longname);
    meter_event_add_command(&longname, "averyveryverylongcommandnamethatgoeson", 38);
    meter_names_format(&longname.names, out, sizeof out);
    CHECK(strlen(out) == METER_NAME_MAX - 1);
}

/* ==== Queue ==== */

TEST(queue_bounded_batches)
{
    meter_queue *q = meter_queue_new(40, 10);   /* 4 buffers of 10 */
    meter_row r;
    make_row(&r, 1, NOV_MS, "t", "d", METER_OK, 1);
    int pushed = 0;
    while (meter_queue_push(q, &r) == 0 && pushed < 1000) pushed++;
    CHECK(pushed == 40);
    CHECK(meter_queue_free_buffers(q) == 0);
    bool closing;
    /* All four buffers are full and ready. */
    meter_batch *l = meter_queue_take(q, clock_mono_ms() + 1000, &closing);
    size_t n = 0, nb = 0;
    for (meter_batch *b = l; b; b = b->next) n += b->n, nb++;
    CHECK(n == 40 && nb == 4 && !closing);
    meter_queue_give_back(q, l);
    CHECK(meter_queue_free_buffers(q) == 4);
    for (int i = 0; i < 12; i++) CHECK(meter_queue_push(q, &r) == 0);
    CHECK(meter_queue_depth(q) == 12);
    /* Before the deadline only full buffers; after it the partial too. */
    l = meter_queue_take(q, clock_mono_ms() + 1000, &closing);
    n = 0;
    for (meter_batch *b = l; b; b = b->next) n += b->n;
    CHECK(n == 10);
    meter_queue_give_back(q, l);
    l = meter_queue_take(q, clock_mono_ms(), &closing);
    n = 0;
    for (meter_batch *b = l; b; b = b->next) n += b->n;
    CHECK(n == 2);
    meter_queue_give_back(q, l);
    meter_queue_close(q);
    l = meter_queue_take(q, clock_mono_ms() + 1000, &closing);
    CHECK(l == NULL && closing);
    meter_queue_free(q);
}

/* Pages of b's rows the kernel holds (mincore), of the whole pages. */
static size_t resident_pages(const meter_batch *b, size_t *whole)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)b->rows + page - 1) & ~(page - 1);
    uintptr_t hi = (uintptr_t)(b->rows + b->cap) & ~(page - 1);
    *whole = (hi - lo) / page;
    unsigned char vec[4096];
    if (*whole > sizeof vec || mincore((void *)lo, hi - lo, vec)) return (size_t)-1;
    size_t n = 0;
    for (size_t i = 0; i < *whole; i++) n += vec[i] & 1;
    return n;
}

/* Buffers given back are all resident at first (a load that keeps using
 * them pays no page faults); once idle for METER_QUEUE_IDLE_MS, all but
 * the top METER_QUEUE_HOT_BUFFERS give their pages back; the queue works
 * the same afterwards (rows intact). */
TEST(queue_releases_cold_buffers)
{
    meter_queue *q = meter_queue_new(8 * 1000, 1000);  /* 8 buffers, ~100 pages each */
    meter_row r;
    make_row(&r, 1, NOV_MS, "tenant", "db", METER_OK, 1);
    int pushed = 0;
    while (meter_queue_push(q, &r) == 0) pushed++;
    CHECK(pushed == 8000);
    bool closing;
    meter_batch *l = meter_queue_take(q, clock_mono_ms() + 1000, &closing), *bs[8];
    int nb = 0;
    for (meter_batch *b = l; b && nb < 8; b = b->next) bs[nb++] = b;
    CHECK(nb == 8);
    meter_queue_give_back(q, l);
    CHECK(meter_queue_free_buffers(q) == 8);
    int hot = 0, cold = 0;
    size_t whole;
    for (int i = 0; i < nb; i++) hot += resident_pages(bs[i], &whole) == whole && whole > 50;
    CHECK(hot == 8);                              /* not idle yet: all kept */
    /* A steady load of three buffers at a time (more than the hot ones)
     * keeps all three resident. */
    int steady_bad = 0;
    for (int cycle = 0; cycle < 10; cycle++) {
        for (int i = 0; i < 3000; i++) meter_queue_push(q, &r);
        meter_batch *three = meter_queue_take(q, clock_mono_ms(), &closing), *t[4];
        int nt = 0;
        for (meter_batch *b = three; b && nt < 4; b = b->next) t[nt++] = b;
        meter_queue_give_back(q, three);
        meter_queue_trim(q, clock_mono_ms());
        for (int i = 0; i < nt; i++)
            if (resident_pages(t[i], &whole) != whole) steady_bad++;
        if (nt != 3) steady_bad++;
    }
    CHECK(steady_bad == 0);
    /* Idle: all but the top ones are released. */
    meter_queue_trim(q, clock_mono_ms() + METER_QUEUE_IDLE_MS);
    hot = cold = 0;
    meter_batch *hots[8];
    for (int i = 0; i < nb; i++) {
        size_t res = resident_pages(bs[i], &whole);
        if (res == whole && whole > 50) hots[hot++] = bs[i];
        if (res == 0 && whole > 50) cold++;
    }
    CHECK(hot == METER_QUEUE_HOT_BUFFERS && cold == 8 - METER_QUEUE_HOT_BUFFERS);
    /* The next load starts on the resident ones. */
    for (int i = 0; i < 1000; i++) meter_queue_push(q, &r);
    meter_batch *one = meter_queue_take(q, clock_mono_ms(), &closing);
    bool was_hot = false;
    for (int i = 0; i < hot && i < 8; i++) was_hot |= one == hots[i];
    CHECK(one && !one->next && was_hot);
    meter_queue_give_back(q, one);
    /* Everything again: the released ones fault back in; every row reads
     * back. */
    pushed = 0;
    for (int i = 0; i < 8000; i++) {
        r.commands = (uint32_t)i;
        if (meter_queue_push(q, &r) == 0) pushed++;
    }
    CHECK(pushed == 8000);
    l = meter_queue_take(q, clock_mono_ms(), &closing);   /* the current one too */
    int bad = 0, seen = 0;
    for (meter_batch *b = l; b; b = b->next)
        for (size_t i = 0; i < b->n; i++, seen++)
            if (b->rows[i].commands != (uint32_t)seen || strcmp(b->rows[i].tenant_id, "tenant"))
                bad++;
    CHECK(seen == 8000 && bad == 0);
    meter_queue_give_back(q, l);
    meter_queue_free(q);
}

/* ==== Writer: commits, rollups, exactly-once ==== */

TEST(writer_rollups_and_idempotent_commit)
{
    const char *path = fx_state_path(NULL);
    tg_err err;
    meter_writer *w = meter_writer_open(path, false, &err);
    CHECK(w != NULL);
    if (!w) return;
    meter_batch *b = batch_new(8);
    make_row(&b->rows[b->n++], 101, NOV_MS, "tA", "dA", METER_OK, 1);
    make_row(&b->rows[b->n++], 102, NOV_MS + 1000, "tA", "dA", METER_OK, 10);
    make_row(&b->rows[b->n++], 103, NOV_MS + 2000, "tA", "dA", METER_REDIS_ERROR, 1);
    make_row(&b->rows[b->n++], 104, NOV_MS + 61000, "tA", "dA", METER_OK, 3);
    make_row(&b->rows[b->n++], 105, NOV_MS, "tB", "dB", METER_OK, 2);
    meter_commit_stats ins;
    CHECK(meter_writer_commit(w, b, &ins, &err) == 0);
    CHECK(ins.inserted == 5);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_rollups") == 4);
    CHECK(fx_query_int(path, "SELECT requests FROM meter_rollups WHERE tenant_id='tA'"
                             " AND outcome=0 AND minute=29386800") == 2);
    CHECK(fx_query_int(path, "SELECT commands FROM meter_rollups WHERE tenant_id='tA'"
                             " AND outcome=0 AND minute=29386800") == 11);
    CHECK(fx_query_int(path, "SELECT sum(errors) FROM meter_rollups WHERE tenant_id='tA'") == 1);
    CHECK(fx_query_int(path, "SELECT sum(bytes_out) FROM meter_rollups") == 100);
    CHECK(fx_query_int(path, "SELECT count(DISTINCT bill_period) FROM meter_rollups"
                             " WHERE bill_period='2025-11'") == 1);
    /* The same batch again (a retry, a replay): nothing changes. */
    CHECK(meter_writer_commit(w, b, &ins, &err) == 0);
    CHECK(ins.inserted == 0);
    CHECK(fx_query_int(path, "SELECT sum(commands) FROM meter_rollups") == 17);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events") == 5);
    /* Half old, half new: only the new half counts. */
    b->n = 0;
    make_row(&b->rows[b->n++], 105, NOV_MS, "tB", "dB", METER_OK, 2);
    make_row(&b->rows[b->n++], 106, NOV_MS, "tB", "dB", METER_OK, 2);
    CHECK(meter_writer_commit(w, b, &ins, &err) == 0);
    CHECK(ins.inserted == 1);
    CHECK(fx_query_int(path, "SELECT commands FROM meter_rollups WHERE tenant_id='tB'") == 4);
    uint64_t max;
    CHECK(meter_writer_max_id(w, &max, &err) == 0 && max == 106);
    free(b);
    meter_writer_free(w);
}

TEST(writer_late_events_billed_in_next_open_period)
{
    const char *path = fx_state_path(NULL);
    tg_err err;
    exec_sql(path, "INSERT INTO usage_periods VALUES ('2025-11', 0, '', '');"
                   "INSERT INTO usage_periods VALUES ('2025-12', 0, '', '')");
    meter_writer *w = meter_writer_open(path, false, &err);
    meter_batch *b = batch_new(2);
    make_row(&b->rows[b->n++], 201, NOV_MS, "tA", "dA", METER_OK, 4);
    meter_commit_stats ins;
    CHECK(meter_writer_commit(w, b, &ins, &err) == 0 && ins.inserted == 1);
    CHECK(fx_query_int(path, "SELECT commands FROM meter_rollups WHERE bill_period='2026-01'"
                             " AND minute=29386800") == 4);
    free(b);
    meter_writer_free(w);
}

/* Events without a tenant are counted per minute and cause, not stored
 * one row each, and never rolled up for billing. */
TEST(writer_counts_anonymous_events_per_minute_and_cause)
{
    const char *path = fx_state_path(NULL);
    tg_err err;
    meter_writer *w = meter_writer_open(path, false, &err);
    CHECK(w != NULL);
    if (!w) return;
    meter_batch *b = batch_new(4096);
    for (int i = 0; i < 3000; i++) {
        meter_row *r = &b->rows[b->n++];
        make_row(r, 1000 + (uint64_t)i, NOV_MS + (uint64_t)i * 30, "", "", METER_AUTH_FAILURE,
                 0);
        r->http_status = i % 10 ? 401 : 429;
        r->jti[0] = 0;
    }
    make_row(&b->rows[b->n++], 9000, NOV_MS, "tA", "dA", METER_OK, 2);
    meter_commit_stats st;
    CHECK(meter_writer_commit(w, b, &st, &err) == 0);
    CHECK(st.inserted == 1 && st.anonymous == 3000);
    /* 3000 events over 90 s: two minutes x two statuses. */
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_anonymous") == 4);
    CHECK(fx_query_int(path, "SELECT sum(requests) FROM meter_anonymous") == 3000);
    CHECK(fx_query_int(path, "SELECT sum(requests) FROM meter_anonymous WHERE http_status = 429")
          == 300);
    CHECK(fx_query_int(path, "SELECT sum(bytes_in) FROM meter_anonymous") == 30000);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events") == 1);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_rollups WHERE tenant_id = ''") == 0);
    /* A second batch adds to the same rows. */
    CHECK(meter_writer_commit(w, b, &st, &err) == 0);
    CHECK(st.anonymous == 3000 && st.duplicates == 1);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_anonymous") == 4);
    CHECK(fx_query_int(path, "SELECT sum(requests) FROM meter_anonymous") == 6000);
    /* Pruned with the raw events. */
    CHECK(meter_writer_prune(w, NOV_MS + 60000, 0, NULL, &err) == 0);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_anonymous") == 2);
    free(b);
    meter_writer_free(w);
}

/* Raw events are compact (dictionaries, the time as a lag behind the
 * id's), read back exactly through the meter_events view, and the size
 * cap prunes the oldest whatever their age. */
TEST(writer_compact_rows_and_size_cap)
{
    const char *path = fx_state_path(NULL);
    tg_err err;
    meter_writer *w = meter_writer_open(path, false, &err);
    CHECK(w != NULL);
    if (!w) return;
    enum { N = 100000 };
    meter_batch *b = batch_new(4096);
    uint64_t before = 0, after = 0, t = NOV_MS;
    CHECK(meter_writer_used_bytes(w, &before, &err) == 0);
    for (int i = 0; i < N;) {
        b->n = 0;
        for (; b->n < b->cap && i < N; i++, t += 3) {
            meter_row *r = &b->rows[b->n++];
            char tn[24], db[24];
            snprintf(tn, sizeof tn, "tn_%016x", i % 50);
            snprintf(db, sizeof db, "db_%016x", i % 100);
            make_row(r, meter_id_next(t), t, tn, db, METER_OK, 1 + (uint32_t)(i % 3));
            snprintf(r->jti, sizeof r->jti, "%032x", i % 100);
            snprintf(r->names.e[0].name, sizeof r->names.e[0].name, "GET");
            r->names.e[0].count = r->commands;
            r->names.n = 1;
            r->backend_us = 150 + (uint32_t)(i % 1000);
        }
        meter_commit_stats st;
        CHECK(meter_writer_commit(w, b, &st, &err) == 0);
    }
    CHECK(meter_writer_used_bytes(w, &after, &err) == 0);
    double per = (double)(after - before) / N;
    printf("  %.1f bytes per raw event (%d events through the writer)\n", per, N);
    CHECK(per < 50);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events WHERE time_ms = "
                             "1763208000000 AND command_names = 'GET' AND commands = 1"
                             " AND jti = '00000000000000000000000000000000'") == 1);
    CHECK(fx_query_int(path, "SELECT max(time_ms) FROM meter_events") ==
          (long long)(NOV_MS + 3 * (N - 1)));
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_principals") == 100);
    uint64_t n = 0;
    CHECK(meter_writer_prune_oldest(w, 60000, &n, &err) == 0 && n == 60000);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events") == N - 60000);
    CHECK(fx_query_int(path, "SELECT min(time_ms) FROM meter_events") ==
          (long long)(NOV_MS + 3 * 60000));
    CHECK(fx_query_int(path, "SELECT sum(requests) FROM meter_rollups") == N);
    uint64_t pruned = 0;
    CHECK(meter_writer_used_bytes(w, &pruned, &err) == 0 && pruned < after);
    free(b);
    meter_writer_free(w);
}

TEST(writer_prune_keeps_rollups)
{
    const char *path = fx_state_path(NULL);
    tg_err err;
    meter_writer *w = meter_writer_open(path, false, &err);
    meter_batch *b = batch_new(3);
    uint64_t old = clock_wall_ms() - 10 * 86400000ULL, recent = clock_wall_ms();
    make_row(&b->rows[b->n++], (old - METER_EPOCH_MS) << 22, old, "tA", "dA", METER_OK, 1);
    make_row(&b->rows[b->n++], (recent - METER_EPOCH_MS) << 22, recent, "tA", "dA", METER_OK, 1);
    meter_commit_stats ins;
    uint64_t del;
    CHECK(meter_writer_commit(w, b, &ins, &err) == 0 && ins.inserted == 2);
    CHECK(meter_writer_prune(w, clock_wall_ms() - 7 * 86400000ULL, 0, &del, &err) == 0);
    CHECK(del == 1);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events") == 1);
    CHECK(fx_query_int(path, "SELECT sum(requests) FROM meter_rollups") == 2);
    CHECK(meter_writer_prune(w, clock_wall_ms() - 7 * 86400000ULL, 0, &del, &err) == 0);
    CHECK(del == 0);
    /* In chunks: the oldest first, `limit` at a time. */
    b->n = 0;
    for (uint64_t i = 0; i < 3; i++)
        make_row(&b->rows[b->n++], ((old - METER_EPOCH_MS) << 22) + 1 + i, old, "tA", "dA",
                 METER_OK, 1);
    CHECK(meter_writer_commit(w, b, &ins, &err) == 0 && ins.inserted == 3);
    CHECK(meter_writer_prune(w, clock_wall_ms() - 7 * 86400000ULL, 2, &del, &err) == 0 && del == 2);
    CHECK(meter_writer_prune(w, clock_wall_ms() - 7 * 86400000ULL, 2, &del, &err) == 0 && del == 1);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events") == 1);
    CHECK(fx_query_int(path, "SELECT sum(requests) FROM meter_rollups") == 5);
    free(b);
    meter_writer_free(w);
}

TEST(writer_id_clash_is_rekeyed_counted_and_billed)
{
    const char *path = fx_state_path(NULL);
    tg_err err;
    meter_writer *w = meter_writer_open(path, false, &err);
    meter_batch *b = batch_new(2);
    make_row(&b->rows[b->n++], 401, NOV_MS, "tA", "dA", METER_OK, 1);
    meter_commit_stats st;
    CHECK(meter_writer_commit(w, b, &st, &err) == 0 && st.inserted == 1);
    /* The same event again: a duplicate, ignored. */
    CHECK(meter_writer_commit(w, b, &st, &err) == 0);
    CHECK(st.inserted == 0 && st.duplicates == 1 && st.conflicts == 0);
    /* Another event under the same id (two writers on one node id): not
     * dropped, stored under a new id, billed, counted. */
    b->n = 0;
    make_row(&b->rows[b->n++], 401, NOV_MS, "tB", "dB", METER_OK, 5);
    CHECK(meter_writer_commit(w, b, &st, &err) == 0);
    CHECK(st.conflicts == 1 && st.inserted == 1 && st.duplicates == 0);
    CHECK(st.first_conflict_id == 401);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events") == 2);
    CHECK(fx_query_int(path, "SELECT commands FROM meter_events WHERE tenant_id='tB'") == 5);
    CHECK(fx_query_int(path, "SELECT sum(commands) FROM meter_rollups WHERE tenant_id='tB'") == 5);
    /* Content differs in any field, not just the tenant. */
    b->rows[0].tenant_id[1] = 'A';
    b->rows[0].database_id[1] = 'A';
    b->rows[0].commands = 1;
    b->rows[0].billable_commands = 1;
    b->rows[0].bytes_out = 21;
    CHECK(meter_writer_commit(w, b, &st, &err) == 0 && st.conflicts == 1);
    free(b);
    meter_writer_free(w);
}

/* A full disk for the writer's connection only (max_page_count), then a
 * fresh connection: the writer must reopen to use the file again. */
TEST(writer_reopens_its_connection_after_a_failure)
{
    const char *path = fx_state_path(NULL);
    tg_err err;
    meter_writer *w = meter_writer_open(path, false, &err);
    CHECK(w != NULL);
    if (!w) return;
    CHECK(sqlite3_exec(meter_writer_db(w), "PRAGMA max_page_count = 1", NULL, NULL, NULL) ==
          SQLITE_OK);
    meter_batch *b = batch_new(2000);
    for (uint64_t i = 0; i < 2000; i++)
        make_row(&b->rows[b->n++], 1000 + i, NOV_MS, "tA", "dA", METER_OK, 1);
    meter_commit_stats st;
    CHECK(meter_writer_commit(w, b, &st, &err) == -1);   /* "database or disk is full" */
    CHECK(strstr(err.msg, "full") != NULL);
    CHECK(meter_writer_commit(w, b, &st, &err) == 0 && st.inserted == 2000);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events") == 2000);
    free(b);
    meter_writer_free(w);
}

/* Runs fn in a child process as an unprivileged user (root writes any
 * file whatever its mode); true when it exits 0. */
static bool as_nobody(bool (*fn)(const char *), const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) || setuid(65534))) _exit(2);
        _exit(fn(path) ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool refused_read_only(const char *path)
{
    tg_err err;
    meter_writer *w = meter_writer_open(path, false, &err);
    if (w) {
        fprintf(stderr, "  a read-only state file was accepted\n");
        meter_writer_free(w);
        return false;
    }
    meter_options o = {.sqlite_path = path, .queue_events = 64, .batch_events = 16};
    if (meter_start(&o, &err) == 0) {
        meter_stop();
        return false;
    }
    fprintf(stderr, "  (refused: %s)\n", err.msg);
    return strstr(err.msg, "read-only") != NULL;
}

TEST(writer_refuses_a_read_only_state_file)
{
    const char *path = fx_state_path(NULL);
    chmod(fx_dir, 0755);
    chmod(path, 0444);
    CHECK(as_nobody(refused_read_only, path));
    chmod(path, 0644);
    chmod(fx_dir, 0700);
}

/* ==== Spill file and replay ==== */

TEST(spill_replay_exactly_once)
{
    const char *path = fx_state_path(NULL);
    char spill[300], copy[320], cmd[1400];
    snprintf(spill, sizeof spill, "%s.spill-test", path);
    snprintf(copy, sizeof copy, "%s.copy", spill);
    tg_err err;
    meter_writer *w = meter_writer_open(path, false, &err);
    /* Row 301 was committed before the crash; 302..304 only spilled. */
    meter_batch *b = batch_new(4);
    make_row(&b->rows[b->n++], 301, NOV_MS, "tA", "dA", METER_OK, 1);
    meter_commit_stats ins;
    CHECK(meter_writer_commit(w, b, &ins, &err) == 0);
    meter_spill *s = meter_spill_new(spill);
    meter_row rows[4];
    for (int i = 0; i < 4; i++) make_row(&rows[i], 301 + (uint64_t)i, NOV_MS, "tA", "dA", METER_OK, 1);
    CHECK(meter_spill_append(s, rows, 2, &err) == 0);
    CHECK(meter_spill_append(s, rows + 2, 2, &err) == 0);
    meter_spill_free(s);
    /* A torn last row: half a record at the end. */
    FILE *f = fopen(spill, "ab");
    fwrite(&rows[0], 1, sizeof rows[0] / 2, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && cp '%s' '%s.2'", spill, copy, spill, copy);
    CHECK(system(cmd) == 0);
    meter_commit_stats replayed;
    CHECK(meter_writer_replay(w, spill, 3, &replayed, &err) == 0);
    CHECK(replayed.inserted == 3);
    CHECK(access(spill, F_OK) != 0);   /* deleted after the replay */
    CHECK(fx_query_int(path, "SELECT sum(requests) FROM meter_rollups") == 4);
    /* The process died before unlink: the same file comes back. */
    rename(copy, spill);
    CHECK(meter_writer_replay(w, spill, 3, &replayed, &err) == 0);
    CHECK(replayed.inserted == 0);
    CHECK(fx_query_int(path, "SELECT sum(requests) FROM meter_rollups") == 4);
    /* Even once its events were pruned, a replayed file counts nothing. */
    char copy2[330];
    snprintf(copy2, sizeof copy2, "%s.2", copy);
    rename(copy2, spill);
    exec_sql(path, "DELETE FROM meter_events");
    CHECK(meter_writer_replay(w, spill, 3, &replayed, &err) == 0);
    CHECK(replayed.inserted == 0);
    CHECK(fx_query_int(path, "SELECT sum(requests) FROM meter_rollups") == 4);
    /* No file: nothing to do. */
    CHECK(meter_writer_replay(w, spill, 3, &replayed, &err) == 0 && replayed.inserted == 0);
    free(b);
    meter_writer_free(w);
}

/* A refusal's limit is stored with the event (meter_events.quota_limit, by
 * name), summed per limit in meter_rejections, and part of what makes a
 * replayed row the same event. */
TEST(quota_limit_stored_and_summed)
{
    const char *path = fx_state_path(NULL);
    tg_err err;
    meter_writer *w = meter_writer_open(path, false, &err);
    meter_batch *b = batch_new(5);
    make_row(&b->rows[b->n++], 401, NOV_MS, "tA", "dA", METER_OK, 1);
    for (int i = 0; i < 3; i++) {
        meter_row *r = &b->rows[b->n++];
        make_row(r, 402 + (uint64_t)i, NOV_MS, "tA", "dA", METER_QUOTA_REJECTED, 0);
        r->quota_limit = i < 2 ? 4 : 1;      /* daily_commands x2, commands_per_second */
    }
    /* A response_bytes refusal: its commands ran (billed), the limit named. */
    make_row(&b->rows[b->n], 405, NOV_MS, "tA", "dA", METER_SENT_UNANSWERED, 2);
    b->rows[b->n++].quota_limit = 10;
    meter_commit_stats st;
    CHECK(meter_writer_commit(w, b, &st, &err) == 0 && st.inserted == 5);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events WHERE quota_limit ="
                             " 'daily_commands' AND outcome = 6") == 2);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events WHERE quota_limit IS NULL") == 1);
    CHECK(fx_query_int(path, "SELECT requests FROM meter_rejections WHERE quota_limit = 4") == 2);
    CHECK(fx_query_int(path, "SELECT requests FROM meter_rejections WHERE quota_limit = 1") == 1);
    CHECK(fx_query_int(path, "SELECT requests FROM meter_rejections WHERE quota_limit = 10") == 1);
    CHECK(fx_query_int(path, "SELECT sum(requests) FROM meter_rejections") == 4);
    CHECK(fx_query_int(path, "SELECT sum(requests) FROM meter_rollups") == 5);
    /* The same rows again: duplicates; one with another limit: a clash. */
    b->rows[2].quota_limit = 5;
    CHECK(meter_writer_commit(w, b, &st, &err) == 0);
    CHECK(st.duplicates == 4 && st.conflicts == 1 && st.inserted == 1);
    CHECK(fx_query_int(path, "SELECT sum(requests) FROM meter_rejections") == 5);
    free(b);
    meter_writer_free(w);
}

/* A spill file written before the limit was metered (TGSPILL1, rows of
 * meter_row_v1) still replays, its rows with no limit; a file of that
 * format is never appended to. */
TEST(spill_v1_file_replays)
{
    const char *path = fx_state_path(NULL);
    char spill[300];
    snprintf(spill, sizeof spill, "%s.spill-v1", path);
    char hdr[METER_SPILL_HEADER] = {0};
    memcpy(hdr, METER_SPILL_MAGIC_V1, 8);
    uint32_t rs = (uint32_t)sizeof(meter_row_v1);
    memcpy(hdr + 8, &rs, sizeof rs);
    memcpy(hdr + 16, "0123456789abcdef0123456789abcdef", 32);
    meter_row_v1 old[3];
    for (int i = 0; i < 3; i++) {
        meter_row r;
        make_row(&r, 501 + (uint64_t)i, NOV_MS, "tV", "dV", i ? METER_OK : METER_QUOTA_REJECTED,
                 (uint32_t)i);
        r.names.n = 1;
        snprintf(r.names.e[0].name, sizeof r.names.e[0].name, "GET");
        r.names.e[0].count = 1;
        memset(&old[i], 0, sizeof old[i]);
        old[i].id = r.id;
        old[i].time_ms = r.time_ms;
        old[i].bytes_in = r.bytes_in;
        old[i].bytes_out = r.bytes_out;
        old[i].commands = r.commands;
        old[i].billable_commands = r.billable_commands;
        old[i].http_status = r.http_status;
        old[i].kind = r.kind;
        old[i].outcome = r.outcome;
        memcpy(old[i].tenant_id, r.tenant_id, sizeof r.tenant_id);
        memcpy(old[i].database_id, r.database_id, sizeof r.database_id);
        memcpy(old[i].jti, r.jti, sizeof r.jti);
        old[i].names = r.names;
    }
    FILE *f = fopen(spill, "wb");
    fwrite(hdr, 1, sizeof hdr, f);
    fwrite(old, 1, sizeof old, f);
    fclose(f);
    /* The new build does not append its rows to it. */
    tg_err err;
    meter_spill *s = meter_spill_new(spill);
    meter_row r;
    make_row(&r, 600, NOV_MS, "tV", "dV", METER_OK, 1);
    CHECK(meter_spill_append(s, &r, 1, &err) == -1);
    CHECK(strstr(err.msg, "another format") != NULL);
    meter_spill_free(s);
    meter_writer *w = meter_writer_open(path, false, &err);
    meter_commit_stats replayed;
    CHECK(meter_writer_replay(w, spill, 2, &replayed, &err) == 0);
    CHECK(replayed.inserted == 3);
    CHECK(access(spill, F_OK) != 0);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events WHERE tenant_id = 'tV'"
                             " AND command_names = 'GET' AND bytes_out = 20") == 3);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events WHERE quota_limit IS NOT NULL")
          == 0);
    /* A quota_rejected row of unknown limit is still a rejection. */
    CHECK(fx_query_int(path, "SELECT requests FROM meter_rejections WHERE quota_limit = 0") == 1);
    /* A new file is written in this build's format and replays too. */
    s = meter_spill_new(spill);
    r.quota_limit = 8;
    CHECK(meter_spill_append(s, &r, 1, &err) == 0);
    meter_spill_free(s);
    meter_spill_format fmt;
    int fd = open(spill, O_RDONLY);
    CHECK(meter_spill_read_header(fd, &fmt, &err) == 0 && fmt.version == 2 &&
          fmt.row_size == sizeof(meter_row));
    close(fd);
    CHECK(meter_writer_replay(w, spill, 2, &replayed, &err) == 0 && replayed.inserted == 1);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events WHERE quota_limit ="
                             " 'request_bytes'") == 1);
    meter_writer_free(w);
}

/* ==== The running meter ==== */

static meter_options opts(const char *path, size_t queue, size_t batch, meter_overflow ov)
{
    meter_options o = {.sqlite_path = path, .queue_events = queue, .batch_events = batch,
                       .flush_ms = 20, .retention_days = 7, .overflow = ov};
    return o;
}

static void record_n(int n, const char *tenant)
{
    for (int i = 0; i < n; i++) {
        meter_event e;
        memset(&e, 0, sizeof e);
        e.time_ms = clock_wall_ms();
        e.tenant_id = tenant;
        e.database_id = "db_x";
        e.jti = "j";
        e.kind = METER_PIPELINE;
        e.commands = e.billable_commands = 3;
        e.bytes_in = 7;
        e.http_status = 200;
        meter_event_add_command(&e, "get", 3);
        meter_record(&e);
    }
}

static void *record_thread(void *arg)
{
    record_n(20000, arg);
    return NULL;
}

TEST(meter_drains_everything_on_stop)
{
    const char *path = fx_state_path(NULL);
    tg_err err;
    meter_options o = opts(path, 4096, 512, METER_OVERFLOW_REJECT);
    meter_totals before, after;
    meter_snapshot(&before);
    CHECK(meter_start(&o, &err) == 0);
    pthread_t t1, t2;
    static char one[] = "tn_one", two[] = "tn_two";
    pthread_create(&t1, NULL, record_thread, one);
    pthread_create(&t2, NULL, record_thread, two);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    meter_stop();
    meter_snapshot(&after);
    long long stored = fx_query_int(path, "SELECT count(*) FROM meter_events");
    long long spilled = (long long)(after.spilled - before.spilled);
    CHECK(after.lost == before.lost);
    CHECK(stored + spilled == 40000);
    CHECK(fx_query_int(path, "SELECT sum(requests) FROM meter_rollups") == stored);
    /* A restart replays whatever spilled: everything is in the database. */
    CHECK(meter_start(&o, &err) == 0);
    meter_stop();
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events") == 40000);
    CHECK(fx_query_int(path, "SELECT sum(commands) FROM meter_rollups") == 120000);
    CHECK(fx_query_int(path, "SELECT count(DISTINCT command_names) FROM meter_events") == 1);
}

TEST(meter_reject_policy_under_a_stalled_database)
{
    const char *path = fx_state_path(NULL);
    tg_err err;
    meter_options o = opts(path, 64, 16, METER_OVERFLOW_REJECT);
    meter_totals before, after;
    meter_snapshot(&before);
    CHECK(meter_start(&o, &err) == 0);
    /* Another connection holds the write lock: the writer stalls. */
    sqlite3 *lock;
    sqlite3_open(path, &lock);
    sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    int admitted = 0;
    for (int i = 0; i < 200 && meter_admit(); i++) {
        record_n(1, "tn_r");
        admitted++;
    }
    CHECK(admitted < 200);
    CHECK(!meter_admit());
    /* Admitted requests still complete: past the queue they spill. */
    record_n(100, "tn_r");
    sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(lock);
    meter_stop();
    meter_snapshot(&after);
    CHECK(after.rejected > before.rejected);
    CHECK(after.lost == before.lost);
    CHECK(meter_start(&o, &err) == 0);   /* replays the spill */
    meter_stop();
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events") == admitted + 100);
}

TEST(meter_spill_policy_when_the_database_fails)
{
    const char *path = fx_state_path(NULL);
    tg_err err;
    meter_options o = opts(path, 64, 16, METER_OVERFLOW_SPILL);
    meter_totals before, after;
    meter_snapshot(&before);
    CHECK(meter_start(&o, &err) == 0);
    sqlite3 *lock;
    sqlite3_open(path, &lock);
    sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    int admitted = 0;
    for (int i = 0; i < 300; i++)
        if (meter_admit()) {
            record_n(1, "tn_s");
            admitted++;
        }
    CHECK(admitted == 300);   /* spill never refuses */
    sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(lock);
    meter_stop();
    meter_snapshot(&after);
    CHECK(after.spilled > before.spilled);
    CHECK(after.lost == before.lost);
    CHECK(meter_start(&o, &err) == 0);
    meter_stop();
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events WHERE tenant_id='tn_s'") == 300);
    CHECK(fx_query_int(path, "SELECT sum(requests) FROM meter_rollups WHERE tenant_id='tn_s'")
          == 300);
}

TEST(meter_spill_policy_refuses_when_the_spill_file_fails)
{
    const char *path = fx_state_path(NULL);
    tg_err err;
    meter_options o = opts(path, 64, 16, METER_OVERFLOW_SPILL);
    o.spill_path = "/proc/no-such-dir/spill";   /* cannot be created */
    meter_totals before, after;
    meter_snapshot(&before);
    CHECK(meter_start(&o, &err) == 0);
    sqlite3 *lock;
    sqlite3_open(path, &lock);
    sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    int admitted = 0;
    for (int i = 0; i < 300 && meter_admit(); i++) {
        record_n(1, "tn_f");
        admitted++;
    }
    CHECK(admitted < 300);   /* refused once the spill file failed */
    sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(lock);
    meter_stop();
    meter_snapshot(&after);
    long long stored =
        fx_query_int(path, "SELECT count(*) FROM meter_events WHERE tenant_id='tn_f'");
    CHECK(after.lost > before.lost);   /* counted and logged, never quiet */
    CHECK(stored + (long long)(after.lost - before.lost) == admitted);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "FAIL test_meter.c: meter_stop still waiting after 20 s\n";
    if (write(1, msg, sizeof msg - 1)) { /* exiting anyway */ }
    _exit(1);
}

/* Finding 1 of issue 11: a database that stays locked (or full) while the
 * gateway stops must not hold meter_stop: the writer retries for
 * STOP_RETRY_MS (3 s) after the stop, then spills. */
TEST(meter_stop_is_bounded_while_the_database_cannot_commit)
{
    const char *path = fx_state_path(NULL);
    tg_err err;
    meter_options o = opts(path, 4096, 64, METER_OVERFLOW_REJECT);
    meter_totals before, after;
    meter_snapshot(&before);
    CHECK(meter_start(&o, &err) == 0);
    sqlite3 *lock;
    sqlite3_open(path, &lock);
    sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    record_n(500, "tn_stop");
    usleep(300 * 1000);   /* the writer is retrying by now */
    signal(SIGALRM, on_alarm);
    alarm(20);
    uint64_t t0 = clock_mono_ms();
    meter_stop();
    uint64_t took = clock_mono_ms() - t0;
    alarm(0);
    meter_snapshot(&after);
    fprintf(stderr, "  meter_stop took %llu ms\n", (unsigned long long)took);
    CHECK(took >= 2900 && took < 4500);
    CHECK(after.lost == before.lost);
    CHECK(after.spilled - before.spilled == 500);
    sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(lock);
    CHECK(meter_start(&o, &err) == 0);   /* replays the spill */
    meter_stop();
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events WHERE tenant_id='tn_stop'") == 500);
}

TEST(node_ids_claimed_per_state_file)
{
    const char *path = fx_state_path(NULL);
    tg_err err;
    meter_node *a = meter_node_claim(path, 0, &err), *b = meter_node_claim(path, 0, &err);
    CHECK(a && b);
    if (!a || !b) return;
    CHECK(meter_node_id(a) == 0 && meter_node_id(b) == 1);
    meter_node_release(a);
    meter_node *c = meter_node_claim(path, 0, &err);
    CHECK(c && meter_node_id(c) == 0);   /* released: free again */
    meter_node *d = meter_node_claim(path, 63, &err);
    CHECK(d && meter_node_id(d) == 63);
    meter_node_release(b);
    meter_node_release(c);
    meter_node_release(d);
    CHECK(meter_node_claim("/proc/no-such-dir/state.db", 0, &err) == NULL);
}

/* Finding 2 of issue 11: two processes with the default node id on one
 * state file, recording at the same time: every event is stored. */
static void two_writer_child(const char *path, int go_fd, const char *tenant)
{
    tg_err err;
    meter_options o = opts(path, 65536, 4096, METER_OVERFLOW_REJECT);
    meter_totals before, t;
    meter_snapshot(&before);   /* the counters are the parent's copy */
    if (meter_start(&o, &err)) {
        fprintf(stderr, "  child: %s\n", err.msg);
        _exit(2);
    }
    char c;
    if (read(go_fd, &c, 1) != 1) _exit(3);
    record_n(30000, tenant);
    meter_stop();
    meter_snapshot(&t);
    _exit(t.lost != before.lost || t.conflicts != before.conflicts ? 4 : 0);
}

TEST(meter_two_processes_on_one_state_file_lose_nothing)
{
    const char *path = fx_state_path(NULL);
    int go[2];
    if (pipe(go)) return;
    pid_t p1 = fork();
    if (p1 == 0) two_writer_child(path, go[0], "tn_p1");
    pid_t p2 = fork();
    if (p2 == 0) two_writer_child(path, go[0], "tn_p2");
    usleep(300 * 1000);   /* both started */
    CHECK(write(go[1], "gg", 2) == 2);
    int s1, s2;
    waitpid(p1, &s1, 0);
    waitpid(p2, &s2, 0);
    close(go[0]);
    close(go[1]);
    CHECK(WIFEXITED(s1) && WEXITSTATUS(s1) == 0 && WIFEXITED(s2) && WEXITSTATUS(s2) == 0);
    CHECK(fx_query_int(path, "SELECT count(*) FROM meter_events") == 60000);
    CHECK(fx_query_int(path, "SELECT count(DISTINCT (id >> 16) & 63) FROM meter_events") == 2);
    CHECK(fx_query_int(path, "SELECT sum(requests) FROM meter_rollups") == 60000);
}

int main(void)
{
    if (fx_dir_make("tg-meter")) return 1;
    RUN(ids_time_ordered_and_unique);
    RUN(ids_seeded_past_stored);
    RUN(ids_unique_across_threads);
    RUN(names_distinct_with_counts);
    RUN(queue_bounded_batches);
    RUN(queue_releases_cold_buffers);
    RUN(writer_rollups_and_idempotent_commit);
    RUN(writer_late_events_billed_in_next_open_period);
    RUN(writer_counts_anonymous_events_per_minute_and_cause);
    RUN(writer_compact_rows_and_size_cap);
    RUN(writer_prune_keeps_rollups);
    RUN(writer_id_clash_is_rekeyed_counted_and_billed);
    RUN(writer_reopens_its_connection_after_a_failure);
    RUN(writer_refuses_a_read_only_state_file);
    RUN(spill_replay_exactly_once);
    RUN(quota_limit_stored_and_summed);
    RUN(spill_v1_file_replays);
    RUN(meter_drains_everything_on_stop);
    RUN(meter_reject_policy_under_a_stalled_database);
    RUN(meter_spill_policy_when_the_database_fails);
    RUN(meter_spill_policy_refuses_when_the_spill_file_fails);
    RUN(meter_stop_is_bounded_while_the_database_cannot_commit);
    RUN(node_ids_claimed_per_state_file);
    RUN(meter_two_processes_on_one_state_file_lose_nothing);
    if (fx_dir_remove()) { /* best effort */ }
    TEST_MAIN_END();
}
