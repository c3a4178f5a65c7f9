/* detail.c - see detail.h: per-token, latency and command sums of a batch. */
#include "billing/detail.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "common/mem.h"

typedef enum { T_TOKENS, T_LATENCY, T_COMMANDS, T_COUNT } table_id;

/* One row being summed: a table's key (database, text, hour, code) and its
 * values. Strings point into the rows being committed (or are static). */
typedef struct entry {
    const char *database, *text, *tenant;
    int64_t hour;
    int code;
    uint32_t hash;
    bool used;
    int64_t v[5];
} entry;

typedef struct table {
    entry *e;
    size_t cap, n;               /* cap: power of two or 0 */
} table;

struct meter_detail {
    table t[T_COUNT];
    sqlite3_stmt *st[T_COUNT];
};

static const char *const SQL[T_COUNT] = {
    "INSERT INTO meter_token_rollups (database_id, jti, hour, outcome, tenant_id, requests,"
    " commands, billable_commands, bytes_in, bytes_out) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"
    " ON CONFLICT (database_id, hour, jti, outcome) DO UPDATE SET"
    " requests = requests + excluded.requests, commands = commands + excluded.commands,"
    " billable_commands = billable_commands + excluded.billable_commands,"
    " bytes_in = bytes_in + excluded.bytes_in, bytes_out = bytes_out + excluded.bytes_out",
    "INSERT INTO meter_latency (database_id, hour, bucket, requests, max_us)"
    " VALUES (?1,?3,?4,?6,?7) ON CONFLICT (database_id, hour, bucket) DO UPDATE SET"
    " requests = requests + excluded.requests, max_us = max(max_us, excluded.max_us)",
    "INSERT INTO meter_command_rollups (database_id, hour, name, commands)"
    " VALUES (?1,?3,?2,?6) ON CONFLICT (database_id, hour, name) DO UPDATE SET"
    " commands = commands + excluded.commands",
};

int detail_bucket(uint32_t us)
{
    if (us < 4) return (int)us;
    int p = 31 - __builtin_clz(us);              /* 2..31 */
    return 4 * p - 4 + (int)((us >> (p - 2)) - 4);
}

uint64_t detail_bucket_max(int b)
{
    if (b < 4) return (uint64_t)(b < 0 ? 0 : b);
    int p = b / 4 + 1, sub = b % 4;
    return ((uint64_t)(4 + sub + 1) << (p - 2)) - 1;
}

meter_detail *meter_detail_new(void)
{
    return xcalloc(1, sizeof(meter_detail));
}

void meter_detail_free(meter_detail *d)
{
    if (!d) return;
    meter_detail_close(d);
    for (int i = 0; i < T_COUNT; i++) free(d->t[i].e);
    free(d);
}

int meter_detail_open(meter_detail *d, sqlite3 *db, tg_err *err)
{
    for (int i = 0; i < T_COUNT; i++)
        if (sqlite3_prepare_v3(db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &d->st[i], NULL) !=
            SQLITE_OK) {
            meter_detail_close(d);
            return tg_fail(err, 500, "metering: %s (is the schema migrated?)",
                           sqlite3_errmsg(db));
        }
    return 0;
}

void meter_detail_close(meter_detail *d)
{
    for (int i = 0; i < T_COUNT; i++) {
        sqlite3_finalize(d->st[i]);
        d->st[i] = NULL;
    }
}

/* ==== Summing ==== */

static uint32_t hash_text(const char *s, uint32_t h)
{
    for (; s && *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Names are compared as they are: "get" and "GET" are two entries of the
 * batch, and their upserts add up in the one upper-case row. */
static bool same(const entry *e, const char *database, const char *text, int64_t hour, int code)
{
    return e->hour == hour && e->code == code && !strcmp(e->database, database) &&
           (e->text == text || (e->text && text && !strcmp(e->text, text)));
}

static void grow(table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 64;
    entry *e = xcalloc(cap, sizeof *e);
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->e[i].used) continue;
        size_t j = t->e[i].hash & (cap - 1);
        while (e[j].used) j = (j + 1) & (cap - 1);
        e[j] = t->e[i];
    }
    free(t->e);
    t->e = e;
    t->cap = cap;
}

/* The entry of key (database, text, hour, code), added zeroed if new;
 * hdb is database's hash (hash_text from the FNV basis). */
static entry *find(table *t, uint32_t hdb, const char *database, const char *text, int64_t hour,
                   int code)
{
    uint32_t h = hash_text(text, hdb);
    h = (h ^ (uint32_t)hour) * 16777619u;
    h = (h ^ (uint32_t)code) * 16777619u;
    if ((t->n + 1) * 2 > t->cap) grow(t);
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        entry *e = &t->e[i];
        if (!e->used) {
            *e = (entry){.database = database, .text = text, .hour = hour, .code = code,
                         .hash = h, .used = true};
            t->n++;
            return e;
        }
        if (e->hash == h && same(e, database, text, hour, code)) return e;
    }
}

void meter_detail_add(meter_detail *d, const meter_row *r)
{
    int64_t hour = (int64_t)(r->time_ms / 3600000);
    uint32_t hdb = hash_text(r->database_id, 2166136261u);
    entry *e = find(&d->t[T_TOKENS], hdb, r->database_id, r->jti, hour, r->outcome);
    e->tenant = r->tenant_id;
    e->v[0]++;
    e->v[1] += r->commands;
    e->v[2] += r->billable_commands;
    e->v[3] += (int64_t)r->bytes_in;
    e->v[4] += (int64_t)r->bytes_out;
    if (r->commands == 0) return;   /* nothing reached Redis: no latency, no names */
    e = find(&d->t[T_LATENCY], hdb, r->database_id, NULL, hour, detail_bucket(r->backend_us));
    e->v[0]++;
    if (r->backend_us > e->v[1]) e->v[1] = r->backend_us;
    for (uint32_t i = 0; i < r->names.n && i < METER_NAMES; i++) {
        e = find(&d->t[T_COMMANDS], hdb, r->database_id, r->names.e[i].name, hour, 0);
        e->v[0] += r->names.e[i].count;
    }
    if (r->names.other) {
        e = find(&d->t[T_COMMANDS], hdb, r->database_id, DETAIL_OTHER, hour, 0);
        e->v[0] += r->names.other;
    }
}

/* ==== Writing ==== */

static int write_entry(sqlite3_stmt *st, table_id id, const entry *e)
{
    char name[METER_NAME_MAX];
    const char *text = e->text;
    if (id == T_COMMANDS) {
        size_t i = 0;
        for (; text[i] && i + 1 < sizeof name; i++) name[i] = (char)toupper((unsigned char)text[i]);
        name[i] = '\0';
        text = name;
    }
    sqlite3_bind_text(st, 1, e->database, -1, SQLITE_STATIC);
    if (text) sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, e->hour);
    sqlite3_bind_int(st, 4, e->code);
    if (e->tenant) sqlite3_bind_text(st, 5, e->tenant, -1, SQLITE_STATIC);
    for (int k = 0; k < 5; k++) sqlite3_bind_int64(st, 6 + k, e->v[k]);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int meter_detail_write(meter_detail *d)
{
    for (int id = 0; id < T_COUNT; id++) {
        table *t = &d->t[id];
        for (size_t i = 0; t->n && i < t->cap; i++)
            if (t->e[i].used && write_entry(d->st[id], (table_id)id, &t->e[i])) return -1;
    }
    return 0;
}

void meter_detail_reset(meter_detail *d)
{
    for (int id = 0; id < T_COUNT; id++) {
        table *t = &d->t[id];
        if (t->n) memset(t->e, 0, t->cap * sizeof *t->e);
        t->n = 0;
    }
}
