/* tenancy.c - see tenancy.h. */
#include "auth/tenancy.h"

#include <stdio.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/mem.h"
#include "common/random.h"
#include "common/redact.h"
#include "common/seal.h"

/* The server keys of the live databases (tenancy_server_key), sorted,
 * read again when the file changed (PRAGMA data_version): a token check
 * counts its database's neighbours here rather than scanning the table. */
typedef char server_key[TENANCY_SERVER_KEY_MAX];

struct tenancy {
    sqlite3 *db;
    sqlite3_stmt *check;
    sqlite3_stmt *version;
    long long seen_version;      /* -1: keys not read yet */
    long long seen_live, seen_top; /* live databases, their highest rowid */
    server_key *keys;
    size_t nkeys;
};

static int url_load(const char *pub, const char *sealed, char *out, size_t cap, tg_err *err);

static const char check_sql[] =
    "SELECT k.tenant_id, k.database_id, k.scope, k.expires_at, k.revoked_at,"
    "       d.deleted_at, t.deleted_at, d.redis_url, d.db_index, d.tenant_id,"
    "       coalesce(k.cmd_allow, ''), coalesce(k.cmd_deny, ''), d.isolation,"
    "       coalesce(d.key_prefix, ''), NULL,"
    "       coalesce(k.rate_limit, 0), d.redis_secret"
    "  FROM tokens k JOIN databases d ON d.id = k.database_id"
    "  JOIN tenants t ON t.id = k.tenant_id"
    " WHERE k.jti = ?";

tenancy *tenancy_open(const char *sqlite_path, tg_err *err)
{
    tenancy *t = xcalloc(1, sizeof *t);
    if (sqlite3_open_v2(sqlite_path, &t->db, SQLITE_OPEN_READONLY |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        tg_fail(err, 503, "sqlite %s: %s", sqlite_path,
                t->db ? sqlite3_errmsg(t->db) : "cannot open");
        goto out_free;
    }
    sqlite3_busy_timeout(t->db, 2000);
    /* Point lookups only: a small page cache per worker is plenty. */
    sqlite3_exec(t->db, "PRAGMA cache_size=-512", NULL, NULL, NULL);
    if (sqlite3_prepare_v3(t->db, check_sql, -1, SQLITE_PREPARE_PERSISTENT,
                           &t->check, NULL) != SQLITE_OK) {
        tg_fail(err, 503, "sqlite %s: %s (run `tollgate migrate`)", sqlite_path,
                sqlite3_errmsg(t->db));
        goto out_free;
    }
    if (sqlite3_prepare_v3(t->db, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT,
                           &t->version, NULL) != SQLITE_OK) {
        tg_fail(err, 503, "sqlite %s: %s", sqlite_path, sqlite3_errmsg(t->db));
        goto out_free;
    }
    t->seen_version = -1;
    return t;
out_free:
    tenancy_free(t);
    return NULL;
}

void tenancy_free(tenancy *t)
{
    if (!t) return;
    sqlite3_finalize(t->check);
    sqlite3_finalize(t->version);
    sqlite3_close(t->db);
    free(t->keys);
    free(t);
}

/* A shared database's prefix is "<its id>:" (tenancy_db_create), which
 * the ACL pattern and SCAN confinement rely on: no glob characters, and a
 * terminator no id contains, so no prefix is the start of another. */
static bool prefix_valid(const char *p, const char *id)
{
    size_t n = strlen(id);
    if (strncmp(p, id, n) || strcmp(p + n, ":") || n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') ||
              id[i] == '_'))
            return false;
    return true;
}

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    snprintf(out, cap, "%s", s ? (const char *)s : "");
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const server_key *)a, *(const server_key *)b);
}

/* t->keys up to date with the file; -1 + 503 if it cannot be read. */
static int keys_fresh(tenancy *t, tg_err *err)
{
    sqlite3_reset(t->version);
    if (sqlite3_step(t->version) != SQLITE_ROW) {
        sqlite3_reset(t->version);
        return tg_fail(err, 503, "token store unavailable: %s", sqlite3_errmsg(t->db));
    }
    long long v = sqlite3_column_int64(t->version, 0);
    sqlite3_reset(t->version);
    if (v == t->seen_version) return 0;
    /* Most commits (usage, tokens) leave the live databases as they were:
     * a row added raises the top rowid, one deleted lowers the count
     * (rows are never removed; a URL is only ever resealed, which leaves
     * its server key). */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(t->db, "SELECT count(*), coalesce(max(rowid), 0) FROM databases"
                           " WHERE deleted_at IS NULL", -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 503, "token store unavailable: %s", sqlite3_errmsg(t->db));
    bool got = sqlite3_step(st) == SQLITE_ROW;
    long long live = got ? sqlite3_column_int64(st, 0) : -1;
    long long top = got ? sqlite3_column_int64(st, 1) : -1;
    sqlite3_finalize(st);
    if (!got) return tg_fail(err, 503, "token store unavailable: %s", sqlite3_errmsg(t->db));
    if (t->seen_version >= 0 && live == t->seen_live && top == t->seen_top) {
        t->seen_version = v;
        return 0;
    }
    if (sqlite3_prepare_v2(t->db, "SELECT redis_url FROM databases WHERE deleted_at IS NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 503, "token store unavailable: %s", sqlite3_errmsg(t->db));
    size_t n = 0, cap = t->nkeys ? t->nkeys : 16;
    server_key *keys = xcalloc(cap, sizeof *keys);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) keys = xrealloc(keys, (cap *= 2) * sizeof *keys);
        tenancy_server_key((const char *)sqlite3_column_text(st, 0), keys[n++]);
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE) {
        free(keys);
        return tg_fail(err, 503, "token store unavailable: %s", sqlite3_errmsg(t->db));
    }
    qsort(keys, n, sizeof *keys, key_cmp);
    free(t->keys);
    t->keys = keys;
    t->nkeys = n;
    t->seen_version = v;
    t->seen_live = live;
    t->seen_top = top;
    return 0;
}

/* Whether another live database is on url's server. */
static bool server_has_neighbour(const tenancy *t, const char *url)
{
    server_key k;
    tenancy_server_key(url, k);
    size_t lo = 0, hi = t->nkeys;
    while (lo < hi) { /* the first key >= k */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(t->keys[mid], k) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo + 1 < t->nkeys && !strcmp(t->keys[lo], k) && !strcmp(t->keys[lo + 1], k);
}

int tenancy_check_token(tenancy *t, const auth_claims *c, tenancy_grant *out,
                        tg_err *err)
{
    sqlite3_stmt *st = t->check;
    int rc = -1;
    memset(out, 0, sizeof *out);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, c->jti, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        tg_fail(err, 401, "token not recognised");
        goto out;
    }
    if (step != SQLITE_ROW) {
        tg_fail(err, 503, "token store unavailable: %s", sqlite3_errmsg(t->db));
        goto out;
    }
    copy_col(st, 0, out->tenant_id, sizeof out->tenant_id);
    copy_col(st, 1, out->database_id, sizeof out->database_id);
    const unsigned char *scope = sqlite3_column_text(st, 2);
    out->expires_at = sqlite3_column_int64(st, 3);
    if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
        tg_fail(err, 401, "token revoked");
        goto out;
    }
    if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
        tg_fail(err, 401, "database deleted");
        goto out;
    }
    if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
        tg_fail(err, 401, "tenant deleted");
        goto out;
    }
    char db_owner[AUTH_ID_MAX];
    copy_col(st, 9, db_owner, sizeof db_owner);
    /* The claims must match the row: a token cannot be re-pointed at
     * another tenant's database by editing claims (the signature prevents
     * that too, this also covers a leaked signing key used with a stolen
     * jti). */
    if (strcmp(out->tenant_id, c->sub) || strcmp(out->database_id, c->db) ||
        strcmp(db_owner, c->sub) || !scope ||
        strcmp((const char *)scope, auth_scope_name(c->scope)) ||
        strcmp((const char *)sqlite3_column_text(st, 10), c->cmd_allow) ||
        strcmp((const char *)sqlite3_column_text(st, 11), c->cmd_deny) ||
        sqlite3_column_int64(st, 15) != c->rate_limit) {
        tg_fail(err, 401, "token does not match its record");
        goto out;
    }
    /* A shared database without a usable prefix would see its
     * neighbours' keys: refused, never approximated. */
    const char *iso = (const char *)sqlite3_column_text(st, 12);
    const char *prefix = (const char *)sqlite3_column_text(st, 13);
    if (iso && !strcmp(iso, "prefix")) {
        if (!prefix || !prefix_valid(prefix, out->database_id)) {
            tg_fail(err, 503, "ERR database has no valid key prefix");
            goto out;
        }
        snprintf(out->key_prefix, sizeof out->key_prefix, "%s", prefix);
    } else if (iso && !strcmp(iso, "server")) {
        out->owns_server = true;
    } else if (!iso || strcmp(iso, "dbindex") != 0) {
        tg_fail(err, 503, "ERR database isolation mode '%s' is not supported",
                iso ? iso : "?");
        goto out;
    }
    if (url_load((const char *)sqlite3_column_text(st, 7),
                 (const char *)sqlite3_column_text(st, 16), out->redis_url,
                 sizeof out->redis_url, err))
        goto out;
    out->db_index = sqlite3_column_int(st, 8);
    if (keys_fresh(t, err)) goto out;
    out->server_shared = server_has_neighbour(t, out->redis_url);
    snprintf(out->jti, sizeof out->jti, "%s", c->jti);
    out->scope = c->scope;
    out->rate_limit = c->rate_limit;
    if (c->exp < out->expires_at) out->expires_at = c->exp;
    rc = 0;
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

int tenancy_each_backend(tenancy *t, void (*fn)(const char *url, void *arg),
                         void *arg, tg_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(t->db, "SELECT redis_url, max(redis_secret) FROM databases"
                           " WHERE deleted_at IS NULL GROUP BY redis_url", -1, &st,
                           NULL) != SQLITE_OK)
        return tg_fail(err, 503, "sqlite: %s", sqlite3_errmsg(t->db));
    char url[TENANCY_URL_MAX];
    tg_err e;
    while (sqlite3_step(st) == SQLITE_ROW)
        if (!url_load((const char *)sqlite3_column_text(st, 0),
                      (const char *)sqlite3_column_text(st, 1), url, sizeof url, &e))
            fn(url, arg);
    sqlite3_finalize(st);
    return 0;
}

/* ==== Backend passwords, sealed at rest ==== */

static int exec_bind(sqlite3 *db, const char *sql, tg_err *err, int n,
                     const char **texts);

static uint8_t seal_key[SEAL_KEY_LEN];
static bool seal_key_set;

void tenancy_set_seal_secret(const void *secret, size_t n)
{
    seal_key_derive(secret, n, seal_key);
    seal_key_set = true;
}

/* url as stored: pub (the password as ***) and its password sealed
 * (empty when it has none). */
static int url_store(const char *url, char pub[TENANCY_URL_MAX],
                     char sealed[TENANCY_URL_MAX], tg_err *err)
{
    char secret[TENANCY_URL_MAX];
    sealed[0] = '\0';
    if (url_split_secret(url, pub, TENANCY_URL_MAX, secret, sizeof secret))
        return tg_fail(err, 400, "redis url too long");
    if (!secret[0]) return 0;
    int rc = seal_key_set ? seal_close(seal_key, secret, strlen(secret), sealed,
                                       TENANCY_URL_MAX, err)
                          : tg_fail(err, 400, "a backend password is kept sealed under "
                                    "acl_secret: set acl_secret");
    memset(secret, 0, sizeof secret);
    return rc;
}

/* The URL to connect with: pub with its sealed password opened (sealed
 * NULL or empty: pub as stored, e.g. a row not sealed yet). */
static int url_load(const char *pub, const char *sealed, char *out, size_t cap, tg_err *err)
{
    char secret[TENANCY_URL_MAX];
    if (!pub) pub = "";
    if (!sealed || !*sealed) {
        snprintf(out, cap, "%s", pub);
        return 0;
    }
    if (!seal_key_set)
        return tg_fail(err, 503, "backend password sealed, and acl_secret is not set");
    if (seal_open(seal_key, sealed, secret, sizeof secret, err)) {
        err->status = 503;
        return -1;
    }
    int rc = url_join_secret(pub, secret, out, cap) ? tg_fail(err, 503, "redis url too long")
                                                    : 0;
    memset(secret, 0, sizeof secret);
    return rc;
}

int tenancy_seal_plain_urls(sqlite3 *db, int *sealed_n, tg_err *err)
{
    sqlite3_stmt *st;
    *sealed_n = 0;
    if (sqlite3_prepare_v2(db, "SELECT id, redis_url FROM databases"
                           " WHERE redis_secret IS NULL", -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "sqlite: %s", sqlite3_errmsg(db));
    int rc = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        char id[AUTH_ID_MAX], pub[TENANCY_URL_MAX], sealed[TENANCY_URL_MAX];
        copy_col(st, 0, id, sizeof id);
        rc = url_store((const char *)sqlite3_column_text(st, 1), pub, sealed, err);
        if (rc || !sealed[0]) continue;
        const char *args[] = {pub, sealed, id};
        rc = exec_bind(db, "UPDATE databases SET redis_url = ?, redis_secret = ? WHERE id = ?",
                       err, 3, args) < 0 ? -1 : 0;
        if (!rc) (*sealed_n)++;
    }
    sqlite3_finalize(st);
    return rc;
}

/* ==== Administration ==== */

static int exec_bind(sqlite3 *db, const char *sql, tg_err *err, int n,
                     const char **texts)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "sqlite: %s", sqlite3_errmsg(db));
    for (int i = 0; i < n; i++)
        sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int changes = sqlite3_changes(db);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return tg_fail(err, 400, "sqlite: %s", sqlite3_errmsg(db));
    return changes;
}

int tenancy_tenant_create(sqlite3 *db, const char *name, char *id_out,
                          tg_err *err)
{
    char hex[33], now[24];
    random_hex(hex, 8);
    snprintf(id_out, AUTH_ID_MAX, "tn_%s", hex);
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *args[] = {id_out, name, now};
    return exec_bind(db, "INSERT INTO tenants(id, name, created_at) VALUES (?,?,?)",
                     err, 3, args) < 0 ? -1 : 0;
}

static bool is_loopback(const char *h)
{
    if (!strcmp(h, "localhost") || !strcmp(h, "localhost.") || !strcmp(h, "::1") ||
        !strcmp(h, "0.0.0.0") || !strcmp(h, "::") || !strcmp(h, "::ffff:127.0.0.1") ||
        !strcmp(h, "0:0:0:0:0:0:0:1"))
        return true;
    if (strncmp(h, "127.", 4)) return false;
    for (const char *p = h + 4; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '.')) return false;
    return true;
}

void tenancy_server_key(const char *url, char out[TENANCY_SERVER_KEY_MAX])
{
    if (!url) url = "";
    if (!strncasecmp(url, "unix://", 7)) {
        snprintf(out, TENANCY_SERVER_KEY_MAX, "unix:%s", url + 7);
        return;
    }
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    /* Credentials end at the last '@' (as redis_url_parse reads them),
     * the host and port at the next '/'. */
    const char *at = strrchr(p, '@');
    if (at) p = at + 1;
    size_t alen = strcspn(p, "/?#");
    const char *aend = p + alen, *hp = p, *hend;
    if (p < aend && *p == '[') { /* [v6 address] */
        hp = p + 1;
        hend = memchr(hp, ']', (size_t)(aend - hp));
        if (!hend) hend = aend;
    } else {
        hend = memchr(p, ':', alen);
        if (!hend) hend = aend;
    }
    const char *colon = memchr(hend, ':', (size_t)(aend - hend));
    char host[256];
    size_t hlen = (size_t)(hend - hp);
    if (hlen >= sizeof host) hlen = sizeof host - 1;
    for (size_t i = 0; i < hlen; i++)
        host[i] = (char)tolower((unsigned char)hp[i]);
    host[hlen] = '\0';
    long port = 6379;
    if (colon) {
        char *e;
        long v = strtol(colon + 1, &e, 10);
        if (e > colon + 1) port = v;
    }
    snprintf(out, TENANCY_SERVER_KEY_MAX, "%s:%ld", is_loopback(host) ? "localhost" : host,
             port);
}

static bool same_server(const char *a_key, const char *url)
{
    char k[TENANCY_SERVER_KEY_MAX];
    tenancy_server_key(url, k);
    return !strcmp(a_key, k);
}

/* Logical DBs on url in use by dedicated databases and by shared ones
 * (bit i: DB i; DBs past 63 are not tracked, and are refused); *any: some
 * database uses url, *server: a server database owns it. */
static int slots_in_use(sqlite3 *db, const char *url, unsigned long long *dedicated,
                        unsigned long long *shared, bool *any, bool *server, tg_err *err)
{
    sqlite3_stmt *st;
    /* A deleted database holds its slot until its data is gone. */
    if (sqlite3_prepare_v2(db, "SELECT db_index, isolation, redis_url FROM databases"
                           " WHERE deleted_at IS NULL OR purged_at IS NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "sqlite: %s", sqlite3_errmsg(db));
    char key[TENANCY_SERVER_KEY_MAX];
    tenancy_server_key(url, key);
    *dedicated = *shared = 0;
    *any = *server = false;
    while (sqlite3_step(st) == SQLITE_ROW) {
        /* One server by another URL is the same server. */
        if (!same_server(key, (const char *)sqlite3_column_text(st, 2))) continue;
        int i = sqlite3_column_int(st, 0);
        const char *iso = (const char *)sqlite3_column_text(st, 1);
        *any = true;
        if (iso && !strcmp(iso, "server")) *server = true;
        if (i < 0 || i >= 64) continue;
        if (iso && !strcmp(iso, "prefix")) *shared |= 1ULL << i;
        else *dedicated |= 1ULL << i;
    }
    sqlite3_finalize(st);
    return 0;
}

/* Picks or checks the logical DB for a new database: a logical DB holds
 * one dedicated database or any number of shared ones, never both. */
static int place(sqlite3 *db, const char *url, int db_index, tenancy_isolation iso,
                 tg_err *err)
{
    unsigned long long dedicated = 0, shared = 0;
    bool any = false, server = false;
    if (slots_in_use(db, url, &dedicated, &shared, &any, &server, err)) return -1;
    if (server)
        return tg_fail(err, 409, "%s is owned by a database in server isolation; "
                       "use another --redis-url", url);
    if (iso == TENANCY_SERVER) {
        if (any)
            return tg_fail(err, 409, "%s is already used by another database (isolation "
                           "server needs a Redis of its own; a deleted database holds it "
                           "until `tollgate db delete` has removed its data)", url);
        if (db_index > 0)
            return tg_fail(err, 400, "a database in server isolation uses logical "
                           "database 0: leave out --db-index");
        return 0;
    }
    bool want_shared = iso == TENANCY_SHARED;
    if (db_index < 0) {
        for (int i = 0; i < 16 && want_shared; i++) /* join the existing pool */
            if (shared & (1ULL << i)) return i;
        for (int i = 0; i < 16; i++)
            if (!((dedicated | shared) & (1ULL << i))) return i;
        return tg_fail(err, 409, "no free logical database on %s; pass --db-index "
                       "or another --redis-url", url);
    }
    if (db_index >= 64)
        return tg_fail(err, 400, "--db-index must be below 64");
    if (dedicated & (1ULL << db_index))
        return tg_fail(err, 409, "logical database %d on %s belongs to a dedicated "
                       "database", db_index, url);
    if (!want_shared && (shared & (1ULL << db_index)))
        return tg_fail(err, 409, "logical database %d on %s holds shared databases",
                       db_index, url);
    return db_index;
}

static int insert_placed(sqlite3 *db, const char *tenant_id, const char *name,
                         const char *pub, const char *sealed, int db_index,
                         tenancy_isolation iso, char *id_out, tg_err *err);

int tenancy_db_create(sqlite3 *db, const char *tenant_id, const char *name,
                      const char *redis_url, int db_index, tenancy_isolation iso,
                      char *id_out, tg_err *err)
{
    if (strlen(redis_url) >= TENANCY_URL_MAX)
        return tg_fail(err, 400, "redis url too long");
    const char *targ[] = {tenant_id};
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM tenants WHERE id = ? AND deleted_at IS NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "sqlite: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, targ[0], -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (!found) return tg_fail(err, 404, "no tenant %s", tenant_id);
    char pub[TENANCY_URL_MAX], sealed[TENANCY_URL_MAX];
    if (url_store(redis_url, pub, sealed, err)) return -1;
    /* The placement check and the row are one write transaction: two
     * creates at once (the control threads, the CLI) cannot both see a
     * server free and put a server database and another one on it, or a
     * dedicated database and a prefix pool on one logical DB. */
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return tg_fail(err, 503, "sqlite: %s", sqlite3_errmsg(db));
    int rc = insert_placed(db, tenant_id, name, pub, sealed, db_index, iso, id_out, err);
    if (sqlite3_exec(db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK && !rc) {
        rc = tg_fail(err, 503, "sqlite: %s", sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

static int insert_placed(sqlite3 *db, const char *tenant_id, const char *name,
                         const char *pub, const char *sealed, int db_index,
                         tenancy_isolation iso, char *id_out, tg_err *err)
{
    if ((db_index = place(db, pub, db_index, iso, err)) < 0) return -1;

    char hex[33], now[24], idx[16], prefix[AUTH_ID_MAX];
    random_hex(hex, 8);
    snprintf(id_out, AUTH_ID_MAX, "db_%s", hex);
    snprintf(prefix, sizeof prefix, "%s:", id_out);
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    snprintf(idx, sizeof idx, "%d", db_index);
    bool shared = iso == TENANCY_SHARED;
    const char *args[] = {id_out, tenant_id, name, pub,
                          shared ? "prefix" : iso == TENANCY_SERVER ? "server" : "dbindex",
                          idx, shared ? prefix : NULL, now, sealed[0] ? sealed : NULL};
    return exec_bind(db, "INSERT INTO databases(id, tenant_id, name, redis_url,"
                     " isolation, db_index, key_prefix, created_at, redis_secret)"
                     " VALUES (?,?,?,?,?,?,?,?,?)", err, 9, args) < 0 ? -1 : 0;
}

int tenancy_db_get(sqlite3 *db, const char *database_id, tenancy_db_row *out,
                   tg_err *err)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(db, "SELECT redis_url, db_index, isolation,"
                           " coalesce(key_prefix, ''), deleted_at IS NOT NULL, redis_secret"
                           " FROM databases"
                           " WHERE id = ? AND purged_at IS NULL", -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "sqlite: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, database_id, -1, SQLITE_STATIC);
    int rc = 0;
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = tg_fail(err, 404, "no database %s (or it is deleted and purged)", database_id);
    } else {
        out->deleted = sqlite3_column_int(st, 4) != 0;
        rc = url_load((const char *)sqlite3_column_text(st, 0),
                      (const char *)sqlite3_column_text(st, 5), out->redis_url,
                      sizeof out->redis_url, err);
        out->db_index = sqlite3_column_int(st, 1);
        const char *iso = (const char *)sqlite3_column_text(st, 2);
        if (iso && !strcmp(iso, "prefix")) copy_col(st, 3, out->key_prefix, sizeof out->key_prefix);
        out->owns_server = iso && !strcmp(iso, "server");
    }
    sqlite3_finalize(st);
    return rc;
}

int tenancy_db_delete(sqlite3 *db, const char *database_id, tg_err *err)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *args[] = {now, database_id};
    int n = exec_bind(db, "UPDATE databases SET deleted_at = ? WHERE id = ?"
                      " AND deleted_at IS NULL", err, 2, args);
    if (n < 0) return -1;
    return n == 0 ? tg_fail(err, 404, "no live database %s", database_id) : 0;
}

int tenancy_db_purge_claim(sqlite3 *db, const char *database_id, tg_err *err)
{
    char now[24], stale[24];
    long long t = (long long)time(NULL);
    snprintf(now, sizeof now, "%lld", t);
    snprintf(stale, sizeof stale, "%lld", t - TENANCY_PURGE_CLAIM_STALE_S);
    const char *args[] = {now, database_id, stale};
    int n = exec_bind(db, "UPDATE databases SET purge_claimed_at = ? WHERE id = ?"
                      " AND deleted_at IS NOT NULL AND purged_at IS NULL"
                      " AND (purge_claimed_at IS NULL OR purge_claimed_at < ?)", err, 3, args);
    if (n < 0) return -1;
    return n == 1 ? 0 : tg_fail(err, 423, "database %s is being purged by another process",
                                database_id);
}

void tenancy_db_purge_release(sqlite3 *db, const char *database_id)
{
    tg_err ignored;
    const char *args[] = {database_id};
    exec_bind(db, "UPDATE databases SET purge_claimed_at = NULL WHERE id = ?"
              " AND purged_at IS NULL", &ignored, 1, args);
}

int tenancy_db_slot_holder(sqlite3 *db, const char *database_id, const tenancy_db_row *row,
                           char *holder, size_t cap, tg_err *err)
{
    holder[0] = '\0';
    if (row->key_prefix[0]) return 0;   /* a prefix purge touches its own keys only */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id, redis_url, db_index, isolation FROM databases"
                           " WHERE deleted_at IS NULL AND id <> ?", -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "sqlite: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, database_id, -1, SQLITE_STATIC);
    char key[TENANCY_SERVER_KEY_MAX];
    tenancy_server_key(row->redis_url, key);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!same_server(key, (const char *)sqlite3_column_text(st, 1))) continue;
        const char *iso = (const char *)sqlite3_column_text(st, 3);
        /* FLUSHALL reaches every logical DB; FLUSHDB its own, and a server
         * database's whole server. */
        if (row->owns_server || sqlite3_column_int(st, 2) == row->db_index ||
            (iso && !strcmp(iso, "server"))) {
            copy_col(st, 0, holder, cap);
            break;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
                                                 : tg_fail(err, 500, "sqlite: %s", sqlite3_errmsg(db));
}

int tenancy_db_purged(sqlite3 *db, const char *database_id, tg_err *err)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *args[] = {now, database_id};
    return exec_bind(db, "UPDATE databases SET purged_at = ?, purge_claimed_at = NULL"
                     " WHERE id = ? AND deleted_at IS NOT NULL", err, 2, args) == 1 ? 0 :
           tg_fail(err, 404, "no deleted database %s", database_id);
}

int tenancy_token_issue(sqlite3 *db, const char *database_id, auth_scope scope,
                        long long ttl_s, auth_claims *c, tg_err *err)
{
    return tenancy_token_issue_rules(db, database_id, scope, ttl_s, "", "", c, err);
}

int tenancy_token_issue_rules(sqlite3 *db, const char *database_id, auth_scope scope,
                              long long ttl_s, const char *allow, const char *deny,
                              auth_claims *c, tg_err *err)
{
    return tenancy_token_issue_limited(db, database_id, scope, ttl_s, allow, deny, 0, c, err);
}

int tenancy_token_issue_limited(sqlite3 *db, const char *database_id, auth_scope scope,
                                long long ttl_s, const char *allow, const char *deny,
                                long long rate_limit, auth_claims *c, tg_err *err)
{
    memset(c, 0, sizeof *c);
    if (rate_limit < 0 || rate_limit > 1000000000)
        return tg_fail(err, 400, "rate limit must be 1..1000000000 commands per second");
    if (strlen(allow) >= AUTH_RULES_MAX || strlen(deny) >= AUTH_RULES_MAX)
        return tg_fail(err, 400, "command rules too long");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT tenant_id FROM databases WHERE id = ?"
                           " AND deleted_at IS NULL", -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "sqlite: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, database_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return tg_fail(err, 404, "no live database %s", database_id);
    }
    copy_col(st, 0, c->sub, sizeof c->sub);
    sqlite3_finalize(st);

    char hex[33];
    random_hex(hex, 16);
    snprintf(c->jti, sizeof c->jti, "%s", hex);
    snprintf(c->db, sizeof c->db, "%s", database_id);
    c->scope = scope;
    c->iat = (long long)time(NULL);
    c->exp = c->iat + ttl_s;

    snprintf(c->cmd_allow, sizeof c->cmd_allow, "%s", allow);
    snprintf(c->cmd_deny, sizeof c->cmd_deny, "%s", deny);
    c->rate_limit = rate_limit;
    if (sqlite3_prepare_v2(db, "INSERT INTO tokens(jti, tenant_id, database_id,"
                           " scope, issued_at, expires_at, cmd_allow, cmd_deny, rate_limit)"
                           " VALUES (?,?,?,?,?,?,nullif(?,''),nullif(?,''),nullif(?,0))",
                           -1, &st, NULL) != SQLITE_OK)
        return tg_fail(err, 500, "sqlite: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, c->jti, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->sub, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->db, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, auth_scope_name(scope), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, c->iat);
    sqlite3_bind_int64(st, 6, c->exp);
    sqlite3_bind_text(st, 7, c->cmd_allow, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, c->cmd_deny, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, c->rate_limit);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return tg_fail(err, 500, "sqlite: %s", sqlite3_errmsg(db));
    return 0;
}

int tenancy_tokens_revoke(sqlite3 *db, tenancy_revoke_by by, const char *id, int *count,
                          tg_err *err)
{
    static const char *const sql[] = {
        [TENANCY_BY_JTI] = "UPDATE tokens SET revoked_at = ? WHERE jti = ? AND revoked_at IS NULL",
        [TENANCY_BY_DATABASE] = "UPDATE tokens SET revoked_at = ? WHERE database_id = ?"
                                " AND revoked_at IS NULL",
        [TENANCY_BY_TENANT] = "UPDATE tokens SET revoked_at = ? WHERE tenant_id = ?"
                              " AND revoked_at IS NULL",
    };
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *args[] = {now, id};
    int n = exec_bind(db, sql[by], err, 2, args);
    if (n < 0) return -1;
    if (count) *count = n;
    return n == 0 && by == TENANCY_BY_JTI ? tg_fail(err, 404, "no unrevoked token %s", id) : 0;
}
