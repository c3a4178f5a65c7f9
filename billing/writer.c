/* writer.c - see writer.h: batch transactions of events and rollups. */
#include "billing/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/mem.h"
#include "billing/detail.h"
#include "billing/meter_dict.h"
#include "billing/meter_event.h"
#include "billing/period.h"
#include "billing/spill.h"

/* One rollup row being summed for the current transaction: a
 * meter_rollups row (quota_limit -1) or a meter_rejections one (the
 * limit's code, 0 unknown; outcome unused). Strings point into the rows
 * being committed. */
typedef struct agg_entry {
    const char *tenant, *database;
    int64_t minute;
    int outcome, bill_month, quota_limit;
    uint32_t hash;
    bool used;
    uint64_t requests, commands, billable, bytes_in, bytes_out, errors;
} agg_entry;

/* Anonymous events (no tenant) of the current transaction, summed per
 * minute and cause: a meter_anonymous row each. */
typedef struct anon_entry {
    int64_t minute;
    int outcome, http_status, kind;
    uint64_t requests, bytes_in, bytes_out;
} anon_entry;

#define BUSY_MS 5000             /* longest wait for another connection's lock */

struct meter_writer {
    char *path;
    bool sync_full;
    sqlite3 *db;                     /* NULL after a failed reopen */
    bool reopen;                     /* the connection failed: replace it */
    uint64_t busy_since;
    _Atomic uint64_t deadline_ms;    /* clock_mono_ms; 0: none */
    sqlite3_stmt *ins_event, *upsert_rollup, *closed, *spill_get, *spill_set, *get_event,
        *upsert_anon, *upsert_rejection;
    agg_entry *agg;
    size_t agg_cap;                  /* power of two */
    size_t *agg_used;                /* indexes in use, to reset them */
    size_t agg_n;
    meter_dict *principals;          /* (tenant, database, jti) -> id */
    meter_dict *command_sets;        /* command names -> id */
    meter_detail *detail;            /* per token, latency, commands (detail.h) */
    anon_entry *anon;
    size_t nanon, anon_cap;
    int *closed_months;
    size_t nclosed, closed_cap;
    int64_t month_lo, month_hi;      /* cached month of [lo, hi) seconds */
    int month_cached;
};

static const char SQL_INS_EVENT[] =
    "INSERT OR IGNORE INTO meter_raw (id, time_lag, principal, kind, commands,"
    " billable_commands, command_set, bytes_in, bytes_out, http_status, outcome, backend_us,"
    " quota_limit) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)";
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
static const char SQL_UPSERT_REJECTION[] =
    "INSERT INTO meter_rejections (tenant_id, database_id, minute, quota_limit, bill_period,"
    " requests, bytes_in, bytes_out) VALUES (?,?,?,?,?,?,?,?)"
    " ON CONFLICT (tenant_id, database_id, minute, quota_limit, bill_period) DO UPDATE SET"
    " requests = requests + excluded.requests,"
    " bytes_in = bytes_in + excluded.bytes_in,"
    " bytes_out = bytes_out + excluded.bytes_out";
static const char SQL_UPSERT_ANON[] =
    "INSERT INTO meter_anonymous (minute, outcome, http_status, kind, requests, bytes_in,"
    " bytes_out) VALUES (?,?,?,?,?,?,?)"
    " ON CONFLICT (minute, outcome, http_status, kind) DO UPDATE SET"
    " requests = requests + excluded.requests,"
    " bytes_in = bytes_in + excluded.bytes_in,"
    " bytes_out = bytes_out + excluded.bytes_out";
static const char SQL_GET_EVENT[] =
    "SELECT e.time_ms, e.tenant_id, e.database_id, e.jti, e.kind, e.commands,"
    " e.billable_commands, e.command_names, e.bytes_in, e.bytes_out, e.http_status, e.outcome,"
    " e.backend_us, r.quota_limit FROM meter_events e JOIN meter_raw r ON r.id = e.id"
    " WHERE e.id = ?";
static const char SQL_CLOSED[] = "SELECT period FROM usage_periods";
static const char SQL_SPILL_GET[] = "SELECT offset FROM meter_spill_replays WHERE file_id = ?";
static const char SQL_SPILL_SET[] =
    "INSERT INTO meter_spill_replays (file_id, offset, done_at) VALUES (?,?,?)"
    " ON CONFLICT (file_id) DO UPDATE SET offset = excluded.offset, done_at = excluded.done_at";

/* ==== Opening ==== */

/* The busy handler: waits for another connection's write lock up to
 * BUSY_MS, in steps of at most 20 ms, and no longer than the deadline set
 * by meter_writer_set_deadline (so a stopping gateway is not held up by a
 * lock). Returns 0 to give up (SQLITE_BUSY). */
static int busy_wait(void *arg, int count)
{
    meter_writer *w = arg;
    uint64_t now = clock_mono_ms();
    if (count == 0) w->busy_since = now;
    uint64_t deadline = atomic_load_explicit(&w->deadline_ms, memory_order_relaxed);
    if (now - w->busy_since >= BUSY_MS || (deadline && now >= deadline)) return 0;
    usleep(count < 20 ? (useconds_t)(count + 1) * 1000 : 20000);
    return 1;
}

/* Closes the connection and its statements (the writer stays usable:
 * conn_open opens it again). */
static void conn_close(meter_writer *w)
{
    sqlite3_stmt **st[] = {&w->ins_event, &w->upsert_rollup, &w->closed, &w->spill_get,
                           &w->spill_set, &w->get_event, &w->upsert_anon,
                           &w->upsert_rejection};
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
        sqlite3_finalize(*st[i]);
        *st[i] = NULL;
    }
    meter_dict_close(w->principals);
    meter_dict_close(w->command_sets);
    meter_detail_close(w->detail);
    sqlite3_close(w->db);
    w->db = NULL;
}

/* Opens the connection: refuses a state file this process cannot write
 * (SQLite would quietly open it read-only), sets the pragmas, takes and
 * releases the write lock once (the -wal and -shm files can be created),
 * prepares the statements. 0, or -1 with err and no connection. */
static int conn_open(meter_writer *w, tg_err *err)
{
    if (sqlite3_open_v2(w->path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        tg_fail(err, 500, "metering: sqlite %s: %s", w->path,
                w->db ? sqlite3_errmsg(w->db) : "cannot open");
        goto out_close;
    }
    if (sqlite3_db_readonly(w->db, "main") == 1) {
        tg_fail(err, 500, "metering: state file %s is read-only for this process (uid %u): "
                "usage could not be recorded, make it writable", w->path, (unsigned)geteuid());
        goto out_close;
    }
    sqlite3_busy_handler(w->db, busy_wait, w);
    char *msg = NULL;
    /* A 2 MB page cache keeps the B-tree's right edge and the rollups index
     * in memory between batches: the writer appends (time-ordered ids) and
     * touches one rollup row per tenant-minute. 8 MB bought no speed
     * (make meter-bench: 702K vs 713K events/s, 50 tenants) and 6 MB of
     * resident memory; 32 MB none either. */
    if (sqlite3_exec(w->db, w->sync_full ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                           " PRAGMA cache_size=-2048;"
                                         : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                           " PRAGMA cache_size=-2048;",
                     NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(w->db, "BEGIN IMMEDIATE; ROLLBACK;", NULL, NULL, &msg) != SQLITE_OK) {
        tg_fail(err, 500, "metering: state file %s is not writable: %s", w->path,
                msg ? msg : sqlite3_errmsg(w->db));
        sqlite3_free(msg);
        goto out_close;
    }
    struct {
        sqlite3_stmt **st;
        const char *sql;
    } stmts[] = {
        {&w->ins_event, SQL_INS_EVENT}, {&w->upsert_rollup, SQL_UPSERT_ROLLUP},
        {&w->closed, SQL_CLOSED},       {&w->spill_get, SQL_SPILL_GET},
        {&w->spill_set, SQL_SPILL_SET}, {&w->get_event, SQL_GET_EVENT},
        {&w->upsert_anon, SQL_UPSERT_ANON},
        {&w->upsert_rejection, SQL_UPSERT_REJECTION},
    };
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
        if (sqlite3_prepare_v3(w->db, stmts[i].sql, -1, SQLITE_PREPARE_PERSISTENT,
                               stmts[i].st, NULL) != SQLITE_OK) {
            tg_fail(err, 500, "metering: %s (is the schema migrated?)", sqlite3_errmsg(w->db));
            goto out_close;
        }
    if (meter_dict_open(w->principals, w->db, err) ||
        meter_dict_open(w->command_sets, w->db, err) || meter_detail_open(w->detail, w->db, err))
        goto out_close;
    w->reopen = false;
    return 0;

out_close:
    conn_close(w);
    return -1;
}

/* Before any use: a connection that failed is replaced by a fresh one
 * (a file whose permissions or disk were fixed is used again). */
static int conn_ready(meter_writer *w, tg_err *err)
{
    if (w->db && !w->reopen) return 0;
    conn_close(w);
    return conn_open(w, err);
}

/* Records a failed statement: err gets "metering: what: <sqlite message>";
 * anything but a busy or locked database marks the connection for
 * reopening. Returns -1. */
static int db_fail(meter_writer *w, tg_err *err, const char *what)
{
    int code = sqlite3_errcode(w->db);
    if (code != SQLITE_BUSY && code != SQLITE_LOCKED) w->reopen = true;
    return tg_fail(err, 503, "metering: %s: %s", what, sqlite3_errmsg(w->db));
}

meter_writer *meter_writer_open(const char *sqlite_path, bool sync_full, tg_err *err)
{
    meter_writer *w = xcalloc(1, sizeof *w);
    w->path = xstrdup(sqlite_path);
    w->sync_full = sync_full;
    w->month_lo = w->month_hi = -1;
    static const char *const pcols[] = {"tenant_id", "database_id", "jti"};
    static const char *const ccols[] = {"names"};
    w->principals = meter_dict_new("meter_principals", pcols, 3);
    w->command_sets = meter_dict_new("meter_command_sets", ccols, 1);
    w->detail = meter_detail_new();
    if (conn_open(w, err)) {
        meter_writer_free(w);
        return NULL;
    }
    return w;
}

void meter_writer_free(meter_writer *w)
{
    if (!w) return;
    conn_close(w);
    meter_dict_free(w->principals);
    meter_dict_free(w->command_sets);
    meter_detail_free(w->detail);
    free(w->path);
    free(w->agg);
    free(w->agg_used);
    free(w->anon);
    free(w->closed_months);
    free(w);
}

void meter_writer_set_deadline(meter_writer *w, uint64_t mono_ms)
{
    atomic_store(&w->deadline_ms, mono_ms);
}

sqlite3 *meter_writer_db(meter_writer *w)
{
    return w->db;
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
    while (want < rows * 4) want <<= 1;   /* a rollup and a rejection entry a row */
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

/* The entry of (r's tenant, database, minute, bill month, key) in the
 * open-addressed table, made if new. key: r's outcome for a rollup
 * (limit -1), else the limit's code of a rejection. */
static agg_entry *agg_slot(meter_writer *w, const meter_row *r, int bm, int outcome, int limit)
{
    int64_t minute = (int64_t)(r->time_ms / 60000);
    uint32_t h = fnv(r->database_id, fnv(r->tenant_id, 2166136261u));
    h = (h ^ (uint32_t)minute) * 16777619u;
    h = (h ^ (uint32_t)(outcome | (unsigned)bm << 8)) * 16777619u;
    h = (h ^ (uint32_t)limit) * 16777619u;
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
            a->outcome = outcome;
            a->quota_limit = limit;
            a->bill_month = bm;
            w->agg_used[w->agg_n++] = i;
            return a;
        }
        if (a->hash == h && a->minute == minute && a->outcome == outcome &&
            a->quota_limit == limit && a->bill_month == bm &&
            !strcmp(a->tenant, r->tenant_id) && !strcmp(a->database, r->database_id))
            return a;
    }
}

static void agg_add(meter_writer *w, const meter_row *r)
{
    int bm = bill_month(w, month_of_ms(w, r->time_ms));
    agg_entry *a = agg_slot(w, r, bm, r->outcome, -1);
    a->requests++;
    a->commands += r->commands;
    a->billable += r->billable_commands;
    a->bytes_in += r->bytes_in;
    a->bytes_out += r->bytes_out;
    a->errors += r->outcome != METER_OK;
    /* A refusal by a limit: also counted per limit (meter_rejections). */
    if (!r->quota_limit && r->outcome != METER_QUOTA_REJECTED) return;
    a = agg_slot(w, r, bm, 0, r->quota_limit);
    a->requests++;
    a->bytes_in += r->bytes_in;
    a->bytes_out += r->bytes_out;
}

/* ==== Anonymous events ==== */

/* Adds r (no tenant) to its minute and cause. A batch spans a few minutes
 * and causes, so the list is short: searched from its newest end. */
static void anon_add(meter_writer *w, const meter_row *r)
{
    int64_t minute = (int64_t)(r->time_ms / 60000);
    anon_entry *a = NULL;
    for (size_t i = w->nanon; i-- > 0;) {
        anon_entry *e = &w->anon[i];
        if (e->minute == minute && e->outcome == r->outcome &&
            e->http_status == r->http_status && e->kind == r->kind) {
            a = e;
            break;
        }
    }
    if (!a) {
        if (w->nanon == w->anon_cap) {
            w->anon_cap = w->anon_cap ? w->anon_cap * 2 : 16;
            w->anon = xrealloc(w->anon, w->anon_cap * sizeof *w->anon);
        }
        a = &w->anon[w->nanon++];
        *a = (anon_entry){.minute = minute, .outcome = r->outcome,
                          .http_status = r->http_status, .kind = r->kind};
    }
    a->requests++;
    a->bytes_in += r->bytes_in;
    a->bytes_out += r->bytes_out;
}

static int write_anon(meter_writer *w)
{
    sqlite3_stmt *st = w->upsert_anon;
    for (size_t i = 0; i < w->nanon; i++) {
        const anon_entry *a = &w->anon[i];
        sqlite3_bind_int64(st, 1, a->minute);
        sqlite3_bind_int(st, 2, a->outcome);
        sqlite3_bind_int(st, 3, a->http_status);
        sqlite3_bind_int(st, 4, a->kind);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)a->requests);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)a->bytes_in);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)a->bytes_out);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) return -1;
    }
    return 0;
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
    if (rc != SQLITE_DONE) return db_fail(w, err, "usage periods");
    return 0;
}

/* Inserts r under id; *fresh tells whether a row was added (false: the id
 * is taken). The strings go through the dictionaries, the time as its lag
 * behind the id's. 0, or -1 on a database error. */
static int insert_row(meter_writer *w, const meter_row *r, uint64_t id, const char *names,
                      bool *fresh)
{
    const char *who[] = {r->tenant_id, r->database_id, r->jti};
    int64_t principal, command_set;
    *fresh = false;
    if (meter_dict_id(w->principals, who, &principal) ||
        meter_dict_id(w->command_sets, &names, &command_set))
        return -1;
    sqlite3_stmt *st = w->ins_event;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)meter_id_time_ms(id) - (sqlite3_int64)r->time_ms);
    sqlite3_bind_int64(st, 3, principal);
    sqlite3_bind_int(st, 4, r->kind);
    sqlite3_bind_int64(st, 5, r->commands);
    sqlite3_bind_int64(st, 6, r->billable_commands);
    sqlite3_bind_int64(st, 7, command_set);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)r->bytes_in);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)r->bytes_out);
    sqlite3_bind_int(st, 10, r->http_status);
    sqlite3_bind_int(st, 11, r->outcome);
    sqlite3_bind_int64(st, 12, r->backend_us);
    sqlite3_bind_int(st, 13, r->quota_limit);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    *fresh = rc == SQLITE_DONE && sqlite3_changes(w->db) == 1;
    return rc == SQLITE_DONE ? 0 : -1;
}

static bool text_is(sqlite3_stmt *st, int col, const char *s)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    return !strcmp(t ? t : "", s);
}

/* Whether the stored event r->id has r's content (a replayed or retried
 * row) or not (two writers gave one id to different events). */
static int stored_same(meter_writer *w, const meter_row *r, const char *names, bool *same)
{
    sqlite3_stmt *st = w->get_event;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)r->id);
    int rc = sqlite3_step(st);
    *same = rc == SQLITE_ROW &&
            sqlite3_column_int64(st, 0) == (sqlite3_int64)r->time_ms &&
            text_is(st, 1, r->tenant_id) && text_is(st, 2, r->database_id) &&
            text_is(st, 3, r->jti) && sqlite3_column_int(st, 4) == r->kind &&
            sqlite3_column_int64(st, 5) == r->commands &&
            sqlite3_column_int64(st, 6) == r->billable_commands && text_is(st, 7, names) &&
            sqlite3_column_int64(st, 8) == (sqlite3_int64)r->bytes_in &&
            sqlite3_column_int64(st, 9) == (sqlite3_int64)r->bytes_out &&
            sqlite3_column_int(st, 10) == r->http_status &&
            sqlite3_column_int(st, 11) == r->outcome &&
            sqlite3_column_int64(st, 12) == r->backend_us &&
            sqlite3_column_int(st, 13) == r->quota_limit;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Stores one row: new, a duplicate of the same event (ignored), or a clash
 * with a different event under its id, which is stored under a fresh id
 * from this process's generator and counted. *billed tells whether the
 * rollups must count it. 0, or -1 on a database error. */
static int store_row(meter_writer *w, const meter_row *r, meter_commit_stats *st, bool *billed)
{
    char names[256];
    bool fresh, same;
    meter_names_format(&r->names, names, sizeof names);
    *billed = false;
    if (insert_row(w, r, r->id, names, &fresh)) return -1;
    if (fresh) goto out_billed;
    if (stored_same(w, r, names, &same)) return -1;
    if (same) {
        st->duplicates++;
        return 0;
    }
    if (!st->conflicts++) st->first_conflict_id = r->id;
    for (int tries = 0; !fresh && tries < 4; tries++)
        if (insert_row(w, r, meter_id_next(r->time_ms), names, &fresh)) return -1;
    if (!fresh) return -1;
out_billed:
    st->inserted++;
    *billed = true;
    return 0;
}

static int write_rollups(meter_writer *w)
{
    for (size_t k = 0; k < w->agg_n; k++) {
        const agg_entry *a = &w->agg[w->agg_used[k]];
        char period[PERIOD_NAME_MAX];
        period_format(a->bill_month, period);
        /* Both rows are keyed by tenant, database, minute, the limit (a
         * rejection) or the outcome, and period; both count requests. */
        bool rejection = a->quota_limit >= 0;
        sqlite3_stmt *st = rejection ? w->upsert_rejection : w->upsert_rollup;
        sqlite3_bind_text(st, 1, a->tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, a->database, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, a->minute);
        sqlite3_bind_int(st, 4, rejection ? a->quota_limit : a->outcome);
        sqlite3_bind_text(st, 5, period, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)a->requests);
        if (rejection) {
            sqlite3_bind_int64(st, 7, (sqlite3_int64)a->bytes_in);
            sqlite3_bind_int64(st, 8, (sqlite3_int64)a->bytes_out);
        } else {
            sqlite3_bind_int64(st, 7, (sqlite3_int64)a->commands);
            sqlite3_bind_int64(st, 8, (sqlite3_int64)a->billable);
            sqlite3_bind_int64(st, 9, (sqlite3_int64)a->bytes_in);
            sqlite3_bind_int64(st, 10, (sqlite3_int64)a->bytes_out);
            sqlite3_bind_int64(st, 11, (sqlite3_int64)a->errors);
        }
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

/* Commits list; with spill_id, records (spill_id, spill_offset) too. st
 * gets the counts on success (zeroed first). */
static int commit_list(meter_writer *w, const meter_batch *list, const char *spill_id,
                       int64_t spill_offset, meter_commit_stats *st, tg_err *err)
{
    size_t total = 0;
    meter_commit_stats got = {0};
    memset(st, 0, sizeof *st);
    if (conn_ready(w, err)) return -1;
    for (const meter_batch *b = list; b; b = b->next) total += b->n;
    agg_reserve(w, total);
    if (sqlite3_exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(w, err, "begin");
    if (load_closed(w, err)) goto out_rollback;
    w->nanon = 0;
    for (const meter_batch *b = list; b; b = b->next)
        for (size_t i = 0; i < b->n; i++) {
            bool billed;
            if (!b->rows[i].tenant_id[0]) {
                anon_add(w, &b->rows[i]);
                got.anonymous++;
                continue;
            }
            if (store_row(w, &b->rows[i], &got, &billed)) {
                db_fail(w, err, "insert");
                goto out_rollback;
            }
            if (billed) {
                agg_add(w, &b->rows[i]);
                meter_detail_add(w->detail, &b->rows[i]);
            }
        }
    if (write_rollups(w)) {
        db_fail(w, err, "rollups");
        goto out_rollback;
    }
    if (meter_detail_write(w->detail)) {
        db_fail(w, err, "usage detail");
        goto out_rollback;
    }
    if (write_anon(w)) {
        db_fail(w, err, "anonymous counts");
        goto out_rollback;
    }
    if (spill_id && set_spill_progress(w, spill_id, spill_offset)) {
        db_fail(w, err, "spill progress");
        goto out_rollback;
    }
    if (sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        db_fail(w, err, "commit");
        goto out_rollback;
    }
    agg_reset(w);
    meter_detail_reset(w->detail);
    *st = got;
    return 0;

out_rollback:
    sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
    agg_reset(w);
    meter_detail_reset(w->detail);
    /* Ids the dictionaries handed out in this transaction are gone. */
    meter_dict_forget(w->principals);
    meter_dict_forget(w->command_sets);
    return -1;
}

int meter_writer_commit(meter_writer *w, const meter_batch *list, meter_commit_stats *st,
                        tg_err *err)
{
    return commit_list(w, list, NULL, 0, st, err);
}

/* ==== Spill replay, pruning ==== */

int meter_writer_replay(meter_writer *w, const char *path, size_t chunk,
                        meter_commit_stats *replayed, tg_err *err)
{
    memset(replayed, 0, sizeof *replayed);
    if (conn_ready(w, err)) return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        return tg_fail(err, 500, "spill %s: %s", path, strerror(errno));
    }
    struct stat sb;
    meter_spill_format fmt;
    int rc = -1;
    void *raw = NULL;
    meter_batch *b = NULL;
    if (fstat(fd, &sb)) {
        tg_fail(err, 500, "spill %s: %s", path, strerror(errno));
        goto out_close;
    }
    if (sb.st_size < METER_SPILL_HEADER) { /* died before the header: empty */
        rc = unlink(path) ? tg_fail(err, 500, "spill %s: %s", path, strerror(errno)) : 0;
        goto out_close;
    }
    if (meter_spill_read_header(fd, &fmt, err)) goto out_close;
    int64_t off = METER_SPILL_HEADER;
    sqlite3_reset(w->spill_get);
    sqlite3_bind_text(w->spill_get, 1, fmt.file_id, -1, SQLITE_STATIC);
    if (sqlite3_step(w->spill_get) == SQLITE_ROW) off = sqlite3_column_int64(w->spill_get, 0);
    sqlite3_reset(w->spill_get);
    if (chunk < 1) chunk = 1;
    b = xmalloc(sizeof *b + chunk * sizeof b->rows[0]);
    b->next = NULL;
    b->cap = chunk;
    /* This build's rows are read in place; an older format's through raw. */
    if (fmt.row_size != sizeof b->rows[0]) raw = xmalloc(chunk * fmt.row_size);
    for (;;) {
        ssize_t got = pread(fd, raw ? raw : (void *)b->rows, chunk * fmt.row_size, off);
        if (got < 0) {
            tg_fail(err, 500, "spill %s: %s", path, strerror(errno));
            goto out_free;
        }
        b->n = (size_t)got / fmt.row_size;   /* a torn last row is ignored */
        if (b->n == 0) break;
        if (raw) meter_spill_decode(&fmt, raw, b->n, b->rows);
        off += (int64_t)(b->n * fmt.row_size);
        meter_commit_stats st;
        if (commit_list(w, b, fmt.file_id, off, &st, err)) goto out_free;
        replayed->inserted += st.inserted;
        replayed->duplicates += st.duplicates;
        replayed->anonymous += st.anonymous;
        if (st.conflicts && !replayed->conflicts)
            replayed->first_conflict_id = st.first_conflict_id;
        replayed->conflicts += st.conflicts;
    }
    if (unlink(path)) {
        tg_fail(err, 500, "spill %s: %s", path, strerror(errno));
        goto out_free;
    }
    rc = 0;
out_free:
    free(raw);
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
    if (conn_ready(w, err)) return -1;
    sqlite3_stmt *st;
    /* The oldest `limit` ids below the cut: a rowid range scan, short
     * enough not to hold the write lock for long. */
    if (sqlite3_prepare_v2(w->db, "DELETE FROM meter_raw WHERE id IN (SELECT id FROM"
                           " meter_raw WHERE id < ?1 ORDER BY id LIMIT ?2)", -1, &st, NULL))
        return tg_fail(err, 500, "metering: prune: %s", sqlite3_errmsg(w->db));
    sqlite3_bind_int64(st, 1, (sqlite3_int64)((before_ms - METER_EPOCH_MS) << 22));
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(limit ? limit : INT64_MAX));
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_fail(w, err, "prune");
    if (deleted) *deleted = (uint64_t)sqlite3_changes(w->db);
    /* Anonymous counts: a few rows a minute, never a long transaction. */
    if (sqlite3_prepare_v2(w->db, "DELETE FROM meter_anonymous WHERE minute < ?1", -1, &st,
                           NULL))
        return tg_fail(err, 500, "metering: prune: %s", sqlite3_errmsg(w->db));
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(before_ms / 60000));
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_fail(w, err, "prune");
    return 0;
}

int meter_writer_prune_oldest(meter_writer *w, uint64_t limit, uint64_t *deleted, tg_err *err)
{
    *deleted = 0;
    if (conn_ready(w, err)) return -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(w->db, "DELETE FROM meter_raw WHERE id IN (SELECT id FROM"
                           " meter_raw ORDER BY id LIMIT ?1)", -1, &st, NULL))
        return tg_fail(err, 500, "metering: prune: %s", sqlite3_errmsg(w->db));
    sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_fail(w, err, "prune");
    *deleted = (uint64_t)sqlite3_changes(w->db);
    return 0;
}

int meter_writer_used_bytes(meter_writer *w, uint64_t *out, tg_err *err)
{
    sqlite3_stmt *st;
    *out = 0;
    if (conn_ready(w, err)) return -1;
    if (sqlite3_prepare_v2(w->db, "SELECT (p.page_count - f.freelist_count) * s.page_size"
                           " FROM pragma_page_count p, pragma_freelist_count f,"
                           " pragma_page_size s", -1, &st, NULL))
        return tg_fail(err, 500, "metering: %s", sqlite3_errmsg(w->db));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : db_fail(w, err, "page count");
}

int meter_writer_max_id(meter_writer *w, uint64_t *out, tg_err *err)
{
    sqlite3_stmt *st;
    *out = 0;
    if (conn_ready(w, err)) return -1;
    if (sqlite3_prepare_v2(w->db, "SELECT coalesce(max(id), 0) FROM meter_raw", -1, &st,
                           NULL))
        return tg_fail(err, 500, "metering: %s", sqlite3_errmsg(w->db));
    if (sqlite3_step(st) == SQLITE_ROW) *out = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}
