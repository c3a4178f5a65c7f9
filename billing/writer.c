/* writer.c - see writer.h: batch transactions of events and rollups. */
#include "billing/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/mem.h"
#include "billing/period.h"
#include "billing/spill.h"

/* One rollup row being summed for the current transaction. Strings point
 * into the rows being committed. */
typedef struct agg_entry {
    const char *tenant, *database;
    int64_t minute;
    int outcome, bill_month;
    uint32_t hash;
    bool used;
    uint64_t requests, commands, billable, bytes_in, bytes_out, errors;
} agg_entry;

struct meter_writer {
    sqlite3 *db;
    sqlite3_stmt *ins_event, *upsert_rollup, *closed, *spill_get, *spill_set;
    agg_entry *agg;
    size_t agg_cap;                  /* power of two */
    size_t *agg_used;                /* indexes in use, to reset them */
    size_t agg_n;
    int *closed_months;
    size_t nclosed, closed_cap;
    int64_t month_lo, month_hi;      /* cached month of [lo, hi) seconds */
    int month_cached;
};

static const char SQL_INS_EVENT[] =
    "INSERT OR IGNORE INTO meter_events (id, time_ms, tenant_id, database_id, jti,"
    " kind, commands, billable_commands, command_names, bytes_in, bytes_out,"
    " http_status, outcome, backend_us) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
static const char SQL_UPSERT_ROLLUP[] =
    "INSERT INTO meter_rollups (tenant_id, database_id, minute, outcome, bill_period,"
    " requests, commands, billable_commands, bytes_in, bytes_out, errors)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT (tenant_id, database_id, minute, outcome, bill_period) DO UPDATE SET"
    " requests = requests + excluded.requests,"
    " commands = commands + excluded.commands,"
    " billable_commands = billable_commands + excluded.billable_commands,"
    " bytes_in = bytes_in + excluded.bytes_in,"
    " bytes_out = bytes_out + excluded.bytes_out,"
    " errors = errors + excluded.errors";
static const char SQL_CLOSED[] = "SELECT period FROM usage_periods";
static const char SQL_SPILL_GET[] = "SELECT offset FROM meter_spill_replays WHERE file_id = ?";
static const char SQL_SPILL_SET[] =
    "INSERT INTO meter_spill_replays (file_id, offset, done_at) VALUES (?,?,?)"
    " ON CONFLICT (file_id) DO UPDATE SET offset = excluded.offset, done_at = excluded.done_at";

/* ==== Opening ==== */

meter_writer *meter_writer_open(const char *sqlite_path, bool sync_full, tg_err *err)
{
    meter_writer *w = xcalloc(1, sizeof *w);
    if (sqlite3_open_v2(sqlite_path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        tg_fail(err, 500, "metering: sqlite %s: %s", sqlite_path,
                w->db ? sqlite3_errmsg(w->db) : "cannot open");
        goto out_free;
    }
    sqlite3_busy_timeout(w->db, 5000);
    char *msg = NULL;
    /* An 8 MB page cache keeps the B-tree's right edge and the rollups index
     * in memory between batches: the writer appends (time-ordered ids) and
     * touches one rollup row per tenant-minute, so 32 MB bought no speed
     * (~620K events/s either way) and only resident memory. */
    if (sqlite3_exec(w->db, sync_full ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                        " PRAGMA cache_size=-8192;"
                                      : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                        " PRAGMA cache_size=-8192;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        tg_fail(err, 500, "metering: %s", msg ? msg : "pragma failed");
        sqlite3_free(msg);
        goto out_free;
    }
    struct {
        sqlite3_stmt **st;
        const char *sql;
    } stmts[] = {
        {&w->ins_event, SQL_INS_EVENT}, {&w->upsert_rollup, SQL_UPSERT_ROLLUP},
        {&w->closed, SQL_CLOSED},       {&w->spill_get, SQL_SPILL_GET},
        {&w->spill_set, SQL_SPILL_SET},
    };
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
        if (sqlite3_prepare_v3(w->db, stmts[i].sql, -1, SQLITE_PREPARE_PERSISTENT,
                               stmts[i].st, NULL) != SQLITE_OK) {
            tg_fail(err, 500, "metering: %s (is the schema migrated?)", sqlite3_errmsg(w->db));
            goto out_free;
        }
    w->month_lo = w->month_hi = -1;
    return w;

out_free:
    meter_writer_free(w);
    return NULL;
}

void meter_writer_free(meter_writer *w)
{
    if (!w) return;
    sqlite3_finalize(w->ins_event);
    sqlite3_finalize(w->upsert_rollup);
    sqlite3_finalize(w->closed);
    sqlite3_finalize(w->spill_get);
    sqlite3_finalize(w->spill_set);
    sqlite3_close(w->db);
    free(w->agg);
    free(w->agg_used);
    free(w->closed_months);
    free(w);
}

/* ==== Rollup aggregation ==== */

static uint32_t fnv(const char *s, uint32_t h)
{
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void agg_reserve(meter_writer *w, size_t rows)
{
    size_t want = 64;
    while (want < rows * 2) want <<= 1;
    if (want <= w->agg_cap) return;
    free(w->agg);
    free(w->agg_used);
    w->agg = xcalloc(want, sizeof *w->agg);
    w->agg_used = xmalloc(want * sizeof *w->agg_used);
    w->agg_cap = want;
    w->agg_n = 0;
}

static void agg_reset(meter_writer *w)
{
    for (size_t i = 0; i < w->agg_n; i++) w->agg[w->agg_used[i]].used = false;
    w->agg_n = 0;
}

static int month_of_ms(meter_writer *w, uint64_t time_ms)
{
    int64_t s = (int64_t)(time_ms / 1000);
    if (s >= w->month_lo && s < w->month_hi) return w->month_cached;
    int m = period_of(s);
    w->month_cached = m;
    w->month_lo = period_start(m);
    w->month_hi = period_start(m + 1);
    return m;
}

/* The month an event of `month` is billed in: itself, or the first month
 * after it that is not closed. */
static int bill_month(const meter_writer *w, int month)
{
    for (bool moved = true; moved;) {
        moved = false;
        for (size_t i = 0; i < w->nclosed; i++)
            if (w->closed_months[i] == month) {
                month++;
                moved = true;
            }
    }
    return month;
}

static void agg_add(meter_writer *w, const meter_row *r)
{
    int64_t minute = (int64_t)(r->time_ms / 60000);
    int bm = bill_month(w, month_of_ms(w, r->time_ms));
    uint32_t h = fnv(r->database_id, fnv(r->tenant_id, 2166136261u));
    h = (h ^ (uint32_t)minute) * 16777619u;
    h = (h ^ (uint32_t)(r->outcome | (unsigned)bm << 8)) * 16777619u;
    size_t mask = w->agg_cap - 1, i = h & mask;
    for (;; i = (i + 1) & mask) {
        agg_entry *a = &w->agg[i];
        if (!a->used) {
            memset(a, 0, sizeof *a);
            a->used = true;
            a->hash = h;
            a->tenant = r->tenant_id;
            a->database = r->database_id;
            a->minute = minute;
            a->outcome = r->outcome;
            a->bill_month = bm;
            w->agg_used[w->agg_n++] = i;
            break;
        }
        if (a->hash == h && a->minute == minute && a->outcome == r->outcome &&
            a->bill_month == bm && !strcmp(a->tenant, r->tenant_id) &&
            !strcmp(a->database, r->database_id))
            break;
    }
    agg_entry *a = &w->agg[i];
    a->requests++;
    a->commands += r->commands;
    a->billable += r->billable_commands;
    a->bytes_in += r->bytes_in;
    a->bytes_out += r->bytes_out;
    a->errors += r->outcome != METER_OK;
}

/* ==== The batch transaction ==== */

static int load_closed(meter_writer *w, tg_err *err)
{
    w->nclosed = 0;
    int rc;
    sqlite3_reset(w->closed);
    while ((rc = sqlite3_step(w->closed)) == SQLITE_ROW) {
        int m = period_parse((const char *)sqlite3_column_text(w->closed, 0));
        if (m < 0) continue;
        if (w->nclosed == w->closed_cap) {
            w->closed_cap = w->closed_cap ? w->closed_cap * 2 : 16;
            w->closed_months = xrealloc(w->closed_months, w->closed_cap * sizeof(int));
        }
        w->closed_months[w->nclosed++] = m;
    }
    sqlite3_reset(w->closed);
    if (rc != SQLITE_DONE) return tg_fail(err, 500, "metering: %s", sqlite3_errmsg(w->db));
    return 0;
}

static int insert_row(meter_writer *w, const meter_row *r, bool *inserted)
{
    char names[256];
    meter_names_format(&r->names, names, sizeof names);
    sqlite3_stmt *st = w->ins_event;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)r->id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)r->time_ms);
    sqlite3_bind_text(st, 3, r->tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->database_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->jti, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, r->kind);
    sqlite3_bind_int64(st, 7, r->commands);
    sqlite3_bind_int64(st, 8, r->billable_commands);
    sqlite3_bind_text(st, 9, names, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, (sqlite3_int64)r->bytes_in);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)r->bytes_out);
    sqlite3_bind_int(st, 12, r->http_status);
    sqlite3_bind_int(st, 13, r->outcome);
    sqlite3_bind_int64(st, 14, r->backend_us);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    *inserted = rc == SQLITE_DONE && sqlite3_changes(w->db) == 1;
    return rc == SQLITE_DONE ? 0 : -1;
}

static int write_rollups(meter_writer *w)
{
    sqlite3_stmt *st = w->upsert_rollup;
    for (size_t k = 0; k < w->agg_n; k++) {
        const agg_entry *a = &w->agg[w->agg_used[k]];
        char period[PERIOD_NAME_MAX];
        period_format(a->bill_month, period);
        sqlite3_bind_text(st, 1, a->tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, a->database, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, a->minute);
        sqlite3_bind_int(st, 4, a->outcome);
        sqlite3_bind_text(st, 5, period, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)a->requests);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)a->commands);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)a->billable);
        sqlite3_bind_int64(st, 9, (sqlite3_int64)a->bytes_in);
        sqlite3_bind_int64(st, 10, (sqlite3_int64)a->bytes_out);
        sqlite3_bind_int64(st, 11, (sqlite3_int64)a->errors);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) return -1;
    }
    return 0;
}

static int set_spill_progress(meter_writer *w, const char *file_id, int64_t offset)
{
    sqlite3_stmt *st = w->spill_set;
    sqlite3_bind_text(st, 1, file_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, offset);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Commits list; with spill_id, records (spill_id, spill_offset) too. */
static int commit_list(meter_writer *w, const meter_batch *list, const char *spill_id,
                       int64_t spill_offset, uint64_t *inserted, tg_err *err)
{
    size_t total = 0;
    uint64_t ins = 0;
    if (inserted) *inserted = 0;
    for (const meter_batch *b = list; b; b = b->next) total += b->n;
    agg_reserve(w, total);
    if (sqlite3_exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return tg_fail(err, 503, "metering: begin: %s", sqlite3_errmsg(w->db));
    if (load_closed(w, err)) goto out_rollback;
    for (const meter_batch *b = list; b; b = b->next)
        for (size_t i = 0; i < b->n; i++) {
            bool fresh;
            if (insert_row(w, &b->rows[i], &fresh)) {
                tg_fail(err, 503, "metering: insert: %s", sqlite3_errmsg(w->db));
                goto out_rollback;
            }
            if (fresh) {
                agg_add(w, &b->rows[i]);
                ins++;
            }
        }
    if (write_rollups(w)) {
        tg_fail(err, 503, "metering: rollups: %s", sqlite3_errmsg(w->db));
        goto out_rollback;
    }
    if (spill_id && set_spill_progress(w, spill_id, spill_offset)) {
        tg_fail(err, 503, "metering: spill progress: %s", sqlite3_errmsg(w->db));
        goto out_rollback;
    }
    if (sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        tg_fail(err, 503, "metering: commit: %s", sqlite3_errmsg(w->db));
        goto out_rollback;
    }
    agg_reset(w);
    if (inserted) *inserted = ins;
    return 0;

out_rollback:
    sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
    agg_reset(w);
    return -1;
}

int meter_writer_commit(meter_writer *w, const meter_batch *list, uint64_t *inserted,
                        tg_err *err)
{
    return commit_list(w, list, NULL, 0, inserted, err);
}

/* ==== Spill replay, pruning ==== */

int meter_writer_replay(meter_writer *w, const char *path, size_t chunk,
                        uint64_t *replayed, tg_err *err)
{
    *replayed = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        return tg_fail(err, 500, "spill %s: %s", path, strerror(errno));
    }
    struct stat sb;
    char file_id[33];
    int rc = -1;
    meter_batch *b = NULL;
    if (fstat(fd, &sb)) {
        tg_fail(err, 500, "spill %s: %s", path, strerror(errno));
        goto out_close;
    }
    if (sb.st_size < METER_SPILL_HEADER) { /* died before the header: empty */
        rc = unlink(path) ? tg_fail(err, 500, "spill %s: %s", path, strerror(errno)) : 0;
        goto out_close;
    }
    if (meter_spill_read_header(fd, file_id, err)) goto out_close;
    int64_t off = METER_SPILL_HEADER;
    sqlite3_reset(w->spill_get);
    sqlite3_bind_text(w->spill_get, 1, file_id, -1, SQLITE_STATIC);
    if (sqlite3_step(w->spill_get) == SQLITE_ROW) off = sqlite3_column_int64(w->spill_get, 0);
    sqlite3_reset(w->spill_get);
    if (chunk < 1) chunk = 1;
    b = xmalloc(sizeof *b + chunk * sizeof b->rows[0]);
    b->next = NULL;
    b->cap = chunk;
    for (;;) {
        ssize_t got = pread(fd, b->rows, chunk * sizeof b->rows[0], off);
        if (got < 0) {
            tg_fail(err, 500, "spill %s: %s", path, strerror(errno));
            goto out_free;
        }
        b->n = (size_t)got / sizeof b->rows[0];   /* a torn last row is ignored */
        if (b->n == 0) break;
        off += (int64_t)(b->n * sizeof b->rows[0]);
        uint64_t ins;
        if (commit_list(w, b, file_id, off, &ins, err)) goto out_free;
        *replayed += ins;
    }
    if (unlink(path)) {
        tg_fail(err, 500, "spill %s: %s", path, strerror(errno));
        goto out_free;
    }
    rc = 0;
out_free:
    free(b);
out_close:
    close(fd);
    return rc;
}

int meter_writer_prune(meter_writer *w, uint64_t before_ms, uint64_t limit, uint64_t *deleted,
                       tg_err *err)
{
    if (deleted) *deleted = 0;
    if (before_ms <= METER_EPOCH_MS) return 0;
    sqlite3_stmt *st;
    /* The oldest `limit` ids below the cut: a rowid range scan, short
     * enough not to hold the write lock for long. */
    if (sqlite3_prepare_v2(w->db, "DELETE FROM meter_events WHERE id IN (SELECT id FROM"
                           " meter_events WHERE id < ?1 ORDER BY id LIMIT ?2)", -1, &st, NULL))
        return tg_fail(err, 500, "metering: prune: %s", sqlite3_errmsg(w->db));
    sqlite3_bind_int64(st, 1, (sqlite3_int64)((before_ms - METER_EPOCH_MS) << 22));
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(limit ? limit : INT64_MAX));
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return tg_fail(err, 503, "metering: prune: %s", sqlite3_errmsg(w->db));
    if (deleted) *deleted = (uint64_t)sqlite3_changes(w->db);
    return 0;
}

int meter_writer_max_id(meter_writer *w, uint64_t *out, tg_err *err)
{
    sqlite3_stmt *st;
    *out = 0;
    if (sqlite3_prepare_v2(w->db, "SELECT coalesce(max(id), 0) FROM meter_events", -1, &st,
                           NULL))
        return tg_fail(err, 500, "metering: %s", sqlite3_errmsg(w->db));
    if (sqlite3_step(st) == SQLITE_ROW) *out = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}
