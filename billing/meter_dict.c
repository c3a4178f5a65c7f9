/* meter_dict.c - see meter_dict.h: a cached get-or-insert of text tuples. */
#include "billing/meter_dict.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/mem.h"
#include "common/random.h"

#define DICT_COLS_MAX 4
#define DICT_CACHE_MAX 32768     /* tuples cached; then the cache starts over */
#define DICT_SLOTS (DICT_CACHE_MAX * 2)

typedef struct slot {
    char *key;                   /* the texts joined by \x1f; NULL: empty */
    size_t len;
    uint64_t hash;
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
    size_t last;                 /* the slot of the last hit: events come in
                                    runs from one principal; SIZE_MAX none */
    uint64_t seed;               /* key_hash's */
};

meter_dict *meter_dict_new(const char *table, const char *const *cols, int ncols)
{
    meter_dict *d = xcalloc(1, sizeof *d);
    d->table = table;
    d->ncols = ncols > DICT_COLS_MAX ? DICT_COLS_MAX : ncols;
    d->last = SIZE_MAX;
    random_bytes(&d->seed, sizeof d->seed);
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
    d->last = SIZE_MAX;
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

/* A hash of key[0..len), 8 bytes a step (the writer runs it twice per
 * event; FNV-1a a byte at a time was ~4% of the writer's time), seeded
 * per dictionary from the system's random source: a command set's text
 * ("GET*7 SET") is partly the client's choice, and must not let one
 * build long probe chains offline. */
static uint64_t key_hash(uint64_t seed, const char *key, size_t len)
{
    uint64_t h = seed ^ len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, key + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, key + i, len - i);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53u;
    return h ^ (h >> 29);
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
        size_t n = strlen(vals[i]);
        if (len + n + 1 >= sizeof key) return db_id(d, vals, id);   /* too long to cache */
        if (i) key[len++] = '\x1f';
        memcpy(key + len, vals[i], n);
        len += n;
    }
    key[len] = '\0';
    if (!d->slots) d->slots = xcalloc(DICT_SLOTS, sizeof *d->slots);
    if (d->last != SIZE_MAX && d->slots[d->last].len == len &&
        !memcmp(d->slots[d->last].key, key, len)) {
        *id = d->slots[d->last].id;
        return 0;
    }
    uint64_t h = key_hash(d->seed, key, len);
    size_t i = h % DICT_SLOTS;
    for (; d->slots[i].key; i = (i + 1) % DICT_SLOTS)
        if (d->slots[i].hash == h && d->slots[i].len == len && !memcmp(d->slots[i].key, key, len)) {
            *id = d->slots[i].id;
            d->last = i;
            return 0;
        }
    if (db_id(d, vals, id)) return -1;
    if (d->n >= DICT_CACHE_MAX) {
        meter_dict_forget(d);
        i = h % DICT_SLOTS;
    }
    d->slots[i].key = xstrdup(key);
    d->slots[i].len = len;
    d->slots[i].hash = h;
    d->slots[i].id = *id;
    d->n++;
    d->last = i;
    return 0;
}
