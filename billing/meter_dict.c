/* meter_dict.c - see meter_dict.h: a cached get-or-insert of text tuples. */
#include "billing/meter_dict.h"

#include <stdio.h>
#include <string.h>

#include "common/mem.h"

#define DICT_COLS_MAX 4
#define DICT_CACHE_MAX 32768     /* tuples cached; then the cache starts over */
#define DICT_SLOTS (DICT_CACHE_MAX * 2)

typedef struct slot {
    char *key;                   /* the texts joined by \x1f; NULL: empty */
    int64_t id;
} slot;

struct meter_dict {
    const char *table;
    const char *cols[DICT_COLS_MAX];
    int ncols;
    sqlite3 *db;
    sqlite3_stmt *get, *put;
    slot *slots;                 /* DICT_SLOTS, allocated on first use */
    size_t n;
};

meter_dict *meter_dict_new(const char *table, const char *const *cols, int ncols)
{
    meter_dict *d = xcalloc(1, sizeof *d);
    d->table = table;
    d->ncols = ncols > DICT_COLS_MAX ? DICT_COLS_MAX : ncols;
    for (int i = 0; i < d->ncols; i++) d->cols[i] = cols[i];
    return d;
}

void meter_dict_forget(meter_dict *d)
{
    if (!d->slots) return;
    for (size_t i = 0; i < DICT_SLOTS; i++) {
        free(d->slots[i].key);
        d->slots[i].key = NULL;
    }
    d->n = 0;
}

void meter_dict_close(meter_dict *d)
{
    if (!d) return;
    sqlite3_finalize(d->get);
    sqlite3_finalize(d->put);
    d->get = d->put = NULL;
    d->db = NULL;
    meter_dict_forget(d);
}

void meter_dict_free(meter_dict *d)
{
    if (!d) return;
    meter_dict_close(d);
    free(d->slots);
    free(d);
}

int meter_dict_open(meter_dict *d, sqlite3 *db, tg_err *err)
{
    char get[512], put[512], where[256] = "", cols[160] = "", qs[16] = "";
    for (int i = 0; i < d->ncols; i++) {
        size_t w = strlen(where), c = strlen(cols), q = strlen(qs);
        snprintf(where + w, sizeof where - w, "%s%s = ?%d", i ? " AND " : "", d->cols[i], i + 1);
        snprintf(cols + c, sizeof cols - c, "%s%s", i ? ", " : "", d->cols[i]);
        snprintf(qs + q, sizeof qs - q, "%s?", i ? "," : "");
    }
    snprintf(get, sizeof get, "SELECT id FROM %s WHERE %s", d->table, where);
    snprintf(put, sizeof put, "INSERT INTO %s (%s) VALUES (%s)", d->table, cols, qs);
    meter_dict_close(d);
    if (sqlite3_prepare_v3(db, get, -1, SQLITE_PREPARE_PERSISTENT, &d->get, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(db, put, -1, SQLITE_PREPARE_PERSISTENT, &d->put, NULL) != SQLITE_OK) {
        tg_fail(err, 500, "metering: %s (is the schema migrated?)", sqlite3_errmsg(db));
        meter_dict_close(d);
        return -1;
    }
    d->db = db;
    return 0;
}

static uint32_t fnv(const char *s, uint32_t h)
{
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Looks vals up in SQLite, inserting them when absent. */
static int db_id(meter_dict *d, const char *const *vals, int64_t *id)
{
    for (int i = 0; i < d->ncols; i++)
        sqlite3_bind_text(d->get, i + 1, vals[i], -1, SQLITE_STATIC);
    int rc = sqlite3_step(d->get);
    if (rc == SQLITE_ROW) *id = sqlite3_column_int64(d->get, 0);
    sqlite3_reset(d->get);
    if (rc == SQLITE_ROW) return 0;
    if (rc != SQLITE_DONE) return -1;
    for (int i = 0; i < d->ncols; i++)
        sqlite3_bind_text(d->put, i + 1, vals[i], -1, SQLITE_STATIC);
    rc = sqlite3_step(d->put);
    sqlite3_reset(d->put);
    if (rc != SQLITE_DONE) return -1;
    *id = sqlite3_last_insert_rowid(d->db);
    return 0;
}

int meter_dict_id(meter_dict *d, const char *const *vals, int64_t *id)
{
    char key[512];
    size_t len = 0;
    for (int i = 0; i < d->ncols; i++) {
        len += (size_t)snprintf(key + len, sizeof key - len, "%s%s", i ? "\x1f" : "", vals[i]);
        if (len >= sizeof key) return db_id(d, vals, id);   /* too long to cache */
    }
    if (!d->slots) d->slots = xcalloc(DICT_SLOTS, sizeof *d->slots);
    size_t i = fnv(key, 2166136261u) % DICT_SLOTS;
    for (; d->slots[i].key; i = (i + 1) % DICT_SLOTS)
        if (!strcmp(d->slots[i].key, key)) {
            *id = d->slots[i].id;
            return 0;
        }
    if (db_id(d, vals, id)) return -1;
    if (d->n >= DICT_CACHE_MAX) {
        meter_dict_forget(d);
        i = fnv(key, 2166136261u) % DICT_SLOTS;
    }
    d->slots[i].key = xstrdup(key);
    d->slots[i].id = *id;
    d->n++;
    return 0;
}
