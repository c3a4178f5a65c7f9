/* test_auth.c - auth/auth.h over auth/tenancy.h and migrations/migrate.h,
 * on a throwaway SQLite file. */
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#include "auth/auth.h"
#include "auth/tenancy.h"
#include "common/siphash.h"
#include "migrations/migrate.h"
#include "tests/unit/testhelp.h"

#define SECRET "0123456789abcdef0123456789abcdef"
#define URL_A "redis://127.0.0.1:6379"
#define URL_B "redis://10.0.0.2:6379"

static const auth_key key = {.alg = "HS256", .secret = (const unsigned char *)SECRET,
    .secret_len = sizeof SECRET - 1, .leeway_s = 30};
static const auth_keyring ring = {&key, 1, &key};
static const auth_keyring *current = &ring;
static char dir[] = "/tmp/tg-auth-XXXXXX";
static char path[256];
static sqlite3 *db;
static char tenant_a[AUTH_ID_MAX], tenant_b[AUTH_ID_MAX];
static char db_a[AUTH_ID_MAX], db_b[AUTH_ID_MAX];
static time_t now;

/* Issues a token row for database and returns the signed token (caller
 * frees); *c gets its claims. */
static char *issue(const char *database, auth_scope scope, long long ttl,
                   auth_claims *c)
{
    tg_err err;
    auth_claims tmp;
    if (!c) c = &tmp;
    if (tenancy_token_issue(db, database, scope, ttl, c, &err)) {
        fprintf(stderr, "  issue: %s\n", err.msg);
        return NULL;
    }
    return auth_jwt_sign(&key, c, &err);
}

static int authn(auth_ctx *a, const char *tok, time_t t, auth_grant *g, tg_err *err)
{
    return auth_authenticate(a, tok, tok ? strlen(tok) : 0, t, NULL, g, err);
}

static auth_ctx *ctx(size_t entries)
{
    tg_err err;
    auth_ctx *a = auth_ctx_new(&current, key.leeway_s, path, entries, &err);
    if (!a) fprintf(stderr, "  auth_ctx_new: %s\n", err.msg);
    return a;
}

TEST(migrate_idempotent)
{
    tg_err err;
    int applied = -1;
    db = migrate_open(path, &err);
    CHECK(db != NULL);
    if (!db) return;
    CHECK(migrate_apply(db, &applied, &err) == 0);
    CHECK(applied == tg_migrations_count && applied >= 1);
    CHECK(migrate_apply(db, &applied, &err) == 0);
    CHECK(applied == 0);
    CHECK(migrate_apply(db, NULL, &err) == 0);
}

static int index_of(const char *database)
{
    sqlite3_stmt *st;
    int idx = -1;
    if (sqlite3_prepare_v2(db, "SELECT db_index FROM databases WHERE id = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, database, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) idx = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return idx;
}

TEST(tenants_and_db_indexes)
{
    tg_err err;
    char id[AUTH_ID_MAX], id2[AUTH_ID_MAX];
    CHECK(tenancy_tenant_create(db, "acme", tenant_a, &err) == 0);
    CHECK(tenancy_tenant_create(db, "globex", tenant_b, &err) == 0);
    CHECK(strcmp(tenant_a, tenant_b) != 0);
    /* Auto index: lowest free on that URL; two dbs differ. */
    CHECK(tenancy_db_create(db, tenant_a, "main", URL_A, -1, TENANCY_DEDICATED, db_a, &err) == 0);
    CHECK(tenancy_db_create(db, tenant_b, "main", URL_A, -1, TENANCY_DEDICATED, db_b, &err) == 0);
    CHECK(index_of(db_a) == 0 && index_of(db_b) == 1);
    /* Same explicit index on the same URL fails; on another URL it is fine. */
    CHECK(tenancy_db_create(db, tenant_a, "dup", URL_A, 1, TENANCY_DEDICATED, id, &err) == -1);
    CHECK(tenancy_db_create(db, tenant_a, "other", URL_B, 1, TENANCY_DEDICATED, id, &err) == 0);
    /* Same name twice for one tenant fails. */
    CHECK(tenancy_db_create(db, tenant_a, "main", URL_B, -1, TENANCY_DEDICATED, id2, &err) == -1);
    /* After a delete the index stays taken until the data is purged. */
    CHECK(tenancy_db_create(db, tenant_a, "tmp", URL_A, -1, TENANCY_DEDICATED, id2, &err) == 0);
    CHECK(index_of(id2) == 2);
    CHECK(tenancy_db_purged(db, id2, &err) == -1); /* live: not purgeable */
    CHECK(tenancy_db_delete(db, id2, &err) == 0);
    CHECK(tenancy_db_delete(db, id2, &err) == -1); /* already gone */
    tenancy_db_row row;
    CHECK(tenancy_db_get(db, id2, &row, &err) == 0 && row.deleted && row.db_index == 2);
    CHECK(tenancy_db_create(db, tenant_a, "tmp1", URL_A, 2, TENANCY_DEDICATED, id, &err) == -1);
    CHECK(tenancy_db_purged(db, id2, &err) == 0);
    CHECK(tenancy_db_get(db, id2, &row, &err) == -1 && err.status == 404);
    CHECK(tenancy_db_create(db, tenant_a, "tmp2", URL_A, -1, TENANCY_DEDICATED, id2, &err) == 0);
    CHECK(index_of(id2) == 2);
    /* Unknown tenant. */
    CHECK(tenancy_db_create(db, "tn_nope", "x", URL_A, -1, TENANCY_DEDICATED, id, &err) == -1);
    /* Token for an unknown database. */
    auth_claims c;
    CHECK(tenancy_token_issue(db, "db_nope", AUTH_SCOPE_RW, 60, &c, &err) == -1);
}

TEST(authenticate_and_cache_hit)
{
    auth_claims c;
    char *tok = issue(db_a, AUTH_SCOPE_RW, 3600, &c);
    auth_ctx *a = ctx(1024);
    CHECK(tok && a);
    if (!tok || !a) goto out;
    auth_grant g;
    tg_err err;
    CHECK(authn(a, tok, now, &g, &err) == 0);
    CHECK_STR(g.tenant_id, tenant_a);
    CHECK_STR(g.database_id, db_a);
    CHECK_STR(g.jti, c.jti);
    CHECK_STR(g.redis_url, URL_A);
    CHECK(g.db_index == 0 && g.scope == AUTH_SCOPE_RW && g.expires_at == c.exp);
    auth_stats s;
    auth_ctx_stats(a, &s);
    CHECK(s.hits == 0 && s.misses == 1);
    CHECK(authn(a, tok, now, &g, &err) == 0);
    CHECK_STR(g.database_id, db_a);
    auth_ctx_stats(a, &s);
    CHECK(s.hits == 1 && s.misses == 1);
    /* Garbage and empty tokens. */
    CHECK(authn(a, "", now, &g, &err) == -1 && err.status == 401);
    CHECK(authn(a, "x.y.z", now, &g, &err) == -1 && err.status == 401);
out:
    auth_ctx_free(a);
    free(tok);
}

TEST(revocation_takes_effect)
{
    auth_claims c;
    char *tok = issue(db_a, AUTH_SCOPE_RO, 3600, &c);
    auth_ctx *a = ctx(64);
    auth_grant g;
    tg_err err = {0, ""};
    CHECK(tok && a && authn(a, tok, now, &g, &err) == 0);
    CHECK(tenancy_tokens_revoke(db, TENANCY_BY_JTI, c.jti, NULL, &err) == 0);
    /* Within the recheck interval the cached entry still serves; past it,
     * the refresher's verdict (read meanwhile, off this thread) refuses. */
    CHECK(authn(a, tok, now, &g, &err) == 0);
    usleep((AUTH_RECHECK_MS + 150) * 1000);
    err.status = 0;
    CHECK(authn(a, tok, now, &g, &err) == -1);
    CHECK(err.status == 401);
    auth_stats s;
    auth_ctx_stats(a, &s);
    CHECK(s.rechecks == 1 && s.waits == 0);
    CHECK(authn(a, tok, now, &g, &err) == -1);
    /* A fresh ctx refuses it at once. */
    auth_ctx *b = ctx(64);
    err.status = 0;
    CHECK(b && authn(b, tok, now, &g, &err) == -1 && err.status == 401);
    auth_ctx_free(b);
    auth_ctx_free(a);
    free(tok);
}

TEST(deleted_database)
{
    tg_err err = {0, ""};
    char id[AUTH_ID_MAX];
    CHECK(tenancy_db_create(db, tenant_b, "doomed", URL_B, -1, TENANCY_DEDICATED, id, &err) == 0);
    char *tok = issue(id, AUTH_SCOPE_RW, 3600, NULL);
    auth_ctx *a = ctx(64);
    auth_grant g;
    CHECK(tok && a && authn(a, tok, now, &g, &err) == 0);
    CHECK(tenancy_db_delete(db, id, &err) == 0);
    usleep((AUTH_RECHECK_MS + 150) * 1000);
    err.status = 0;
    CHECK(authn(a, tok, now, &g, &err) == -1 && err.status == 401);
    auth_ctx *b = ctx(64);
    err.status = 0;
    CHECK(b && authn(b, tok, now, &g, &err) == -1 && err.status == 401);
    auth_ctx_free(b);
    auth_ctx_free(a);
    free(tok);
}

TEST(claims_must_match_record)
{
    auth_claims c;
    char *tok = issue(db_a, AUTH_SCOPE_RO, 3600, &c);
    auth_ctx *a = ctx(64);
    auth_grant g;
    tg_err err = {0, ""};
    CHECK(tok && a && authn(a, tok, now, &g, &err) == 0);
    /* Same jti, signed with the real key, but re-pointed elsewhere. */
    auth_claims forged[3] = {c, c, c};
    snprintf(forged[0].sub, sizeof forged[0].sub, "%s", tenant_b);
    snprintf(forged[1].db, sizeof forged[1].db, "%s", db_b);
    forged[2].scope = AUTH_SCOPE_RW; /* ro token upgraded to rw */
    for (int i = 0; i < 3; i++) {
        char *f = auth_jwt_sign(&key, &forged[i], &err);
        err.status = 0;
        CHECK(f && authn(a, f, now, &g, &err) == -1 && err.status == 401);
        free(f);
    }
    /* Unknown jti. */
    auth_claims u = c;
    snprintf(u.jti, sizeof u.jti, "no-such-jti");
    char *f = auth_jwt_sign(&key, &u, &err);
    err.status = 0;
    CHECK(f && authn(a, f, now, &g, &err) == -1 && err.status == 401);
    free(f);
    /* Right claims, wrong signing key. */
    auth_key other = key;
    other.secret = (const unsigned char *)"a different secret of 32+ bytes!";
    f = auth_jwt_sign(&other, &c, &err);
    err.status = 0;
    CHECK(f && authn(a, f, now, &g, &err) == -1 && err.status == 401);
    free(f);
    auth_ctx_free(a);
    free(tok);
}

TEST(expired_token_evicted_even_if_cached)
{
    auth_claims c;
    char *tok = issue(db_a, AUTH_SCOPE_RW, 60, &c);
    auth_ctx *a = ctx(64);
    auth_grant g;
    tg_err err = {0, ""};
    CHECK(tok && a && authn(a, tok, now, &g, &err) == 0);
    CHECK(authn(a, tok, now, &g, &err) == 0); /* cached */
    time_t late = (time_t)(c.exp + key.leeway_s + 1);
    err.status = 0;
    CHECK(authn(a, tok, late, &g, &err) == -1 && err.status == 401);
    auth_stats s;
    auth_ctx_stats(a, &s);
    CHECK(s.hits == 1 && s.misses == 1);
    /* Evicted: the next call is a miss again (and still fails late). */
    CHECK(authn(a, tok, late, &g, &err) == -1);
    auth_ctx_stats(a, &s);
    CHECK(s.misses == 2);
    auth_ctx_free(a);
    free(tok);
}

TEST(row_expiry_same_on_hit_and_miss)
{
    /* The token row expires after 60 s, but the claims (signed with the
     * real key, e.g. a leaked one) say a day. A cache hit refuses it past
     * the row's expiry; a miss must refuse it too. */
    auth_claims c;
    char *tok = issue(db_a, AUTH_SCOPE_RW, 60, &c);
    free(tok);
    c.exp = c.iat + 86400;
    tg_err err = {0, ""};
    tok = auth_jwt_sign(&key, &c, &err);
    auth_ctx *a = ctx(64);
    auth_grant g;
    time_t late = now + 3600;
    int first = a && tok ? authn(a, tok, late, &g, &err) : 0;
    int second = a && tok ? authn(a, tok, late, &g, &err) : 0;
    CHECK(first == second);
    CHECK(first == -1);
    auth_ctx_free(a);
    free(tok);
}

TEST(cache_bounded)
{
    auth_ctx *a = ctx(16);
    CHECK(a != NULL);
    if (!a) return;
    enum { N = 100 };
    char *toks[N];
    auth_claims cl[N];
    for (int i = 0; i < N; i++) toks[i] = issue(db_a, AUTH_SCOPE_RW, 3600, &cl[i]);
    auth_grant g;
    tg_err err;
    for (int i = 0; i < N; i++) {
        CHECK(toks[i] && authn(a, toks[i], now, &g, &err) == 0);
        CHECK_STR(g.jti, cl[i].jti);
        CHECK(authn(a, toks[i], now, &g, &err) == 0);
        CHECK_STR(g.jti, cl[i].jti);
    }
    auth_stats s;
    auth_ctx_stats(a, &s);
    CHECK(s.hits == N && s.misses == N);
    /* Again, in order: whatever is still cached or not, each token maps
     * to its own grant. */
    int wrong = 0;
    for (int i = 0; i < N; i++)
        wrong += authn(a, toks[i], now, &g, &err) != 0 || strcmp(g.jti, cl[i].jti) != 0;
    CHECK(wrong == 0);
    auth_ctx_stats(a, &s);
    CHECK(s.hits + s.misses == 3 * N);
    CHECK(s.misses >= N + N - 16); /* at most 16 could still be cached */
    for (int i = 0; i < N; i++) free(toks[i]);
    auth_ctx_free(a);
}

TEST(keyring_swap_reverifies_cached_tokens)
{
    tg_err err;
    auth_claims c;
    char *tok = issue(db_a, AUTH_SCOPE_RW, 600, &c);
    auth_ctx *a = ctx(64);
    auth_grant g;
    CHECK(tok && authn(a, tok, now, &g, &err) == 0);
    /* The key that signed it is no longer in force: a cached hit must not
     * outlive that. */
    auth_key other = key;
    other.secret = (const unsigned char *)"a different secret of 32+ bytes!";
    auth_keyring other_ring = {&other, 1, &other};
    current = &other_ring;
    err.status = 0;
    CHECK(authn(a, tok, now, &g, &err) == -1 && err.status == 401);
    current = &ring;
    CHECK(authn(a, tok, now, &g, &err) == 0);
    auth_stats st;
    auth_ctx_stats(a, &st);
    CHECK(st.misses == 3 && st.hits == 0);
    CHECK(authn(a, tok, now, &g, &err) == 0);
    auth_ctx_stats(a, &st);
    CHECK(st.hits == 1);
    auth_ctx_free(a);
    free(tok);
}

TEST(shared_databases)
{
    tg_err err;
    char id[AUTH_ID_MAX], id2[AUTH_ID_MAX], id3[AUTH_ID_MAX], id4[AUTH_ID_MAX];
    const char *url = "redis://127.0.0.1:7/";
    /* Shared databases pool on one logical DB; dedicated ones keep off it. */
    CHECK(tenancy_db_create(db, tenant_a, "s1", url, -1, TENANCY_DEDICATED, id3, &err) == 0);
    CHECK(tenancy_db_create(db, tenant_a, "s2", url, -1, TENANCY_SHARED, id, &err) == 0);
    CHECK(tenancy_db_create(db, tenant_b, "s3", url, -1, TENANCY_SHARED, id2, &err) == 0);
    CHECK(index_of(id3) == 0 && index_of(id) == 1 && index_of(id2) == 1);
    CHECK(tenancy_db_create(db, tenant_b, "s4", url, 1, TENANCY_DEDICATED, id3, &err) == -1 &&
          err.status == 409);
    CHECK(tenancy_db_create(db, tenant_b, "s5", url, 0, TENANCY_SHARED, id3, &err) == -1 &&
          err.status == 409);
    CHECK(tenancy_db_create(db, tenant_b, "s6", url, -1, TENANCY_DEDICATED, id3, &err) == 0 &&
          index_of(id3) == 2);
    /* A second shared pool, asked for: every pool stays off-limits to
     * dedicated databases, however the rows come back. */
    CHECK(tenancy_db_create(db, tenant_b, "s7", url, 5, TENANCY_SHARED, id4, &err) == 0);
    CHECK(tenancy_db_create(db, tenant_b, "s8", url, 5, TENANCY_DEDICATED, id4, &err) == -1);
    CHECK(tenancy_db_create(db, tenant_b, "s9", url, 1, TENANCY_DEDICATED, id4, &err) == -1);
    CHECK(tenancy_db_create(db, tenant_b, "s10", url, -1, TENANCY_DEDICATED, id4, &err) == 0 &&
          index_of(id4) == 3);
    CHECK(tenancy_db_create(db, tenant_b, "s11", url, -1, TENANCY_SHARED, id4, &err) == 0 &&
          index_of(id4) == 1);
    tenancy_db_row row;
    CHECK(tenancy_db_get(db, id, &row, &err) == 0 && row.db_index == 1);
    char want[AUTH_ID_MAX + 1];
    snprintf(want, sizeof want, "%s:", id);
    CHECK_STR(row.key_prefix, want);
    CHECK(tenancy_db_get(db, id3, &row, &err) == 0 && row.key_prefix[0] == '\0');

    /* The grant carries the prefix. */
    char *tok = issue(id, AUTH_SCOPE_RW, 600, NULL);
    auth_ctx *a = ctx(64);
    auth_grant g;
    CHECK(tok && authn(a, tok, now, &g, &err) == 0 && g.key_prefix && !strcmp(g.key_prefix, want));
    CHECK(g.users_seen && *g.users_seen == 0);
    auth_ctx_free(a);
    free(tok);

    /* A prefix that is not "<id>:" is refused, never used. */
    tok = issue(id2, AUTH_SCOPE_RW, 600, NULL);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE databases SET key_prefix = 'p:' WHERE id = '%s'", id2);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    a = ctx(64);
    err.status = 0;
    CHECK(tok && authn(a, tok, now, &g, &err) == -1 && err.status == 503);
    auth_ctx_free(a);
    free(tok);
}

/* Issue 10, finding 2: whether the server is the database's own follows
 * the other live databases on its redis_url, whatever their isolation,
 * and a cached token sees a new neighbour at its next re-check. */
TEST(server_shared_follows_the_backend)
{
    tg_err err = {0, ""};
    const char *url = "redis://127.0.0.1:9/";
    char lone[AUTH_ID_MAX], next[AUTH_ID_MAX];
    CHECK(tenancy_db_create(db, tenant_a, "lone", url, -1, TENANCY_DEDICATED, lone, &err) == 0);
    char *tok = issue(lone, AUTH_SCOPE_RW, 600, NULL);
    auth_ctx *a = ctx(64);
    auth_grant g;
    CHECK(tok && a && authn(a, tok, now, &g, &err) == 0 && !g.server_shared);
    /* A prefix database joins the server: the dedicated one is bound. */
    CHECK(tenancy_db_create(db, tenant_b, "next", url, -1, TENANCY_SHARED, next, &err) == 0);
    CHECK(authn(a, tok, now, &g, &err) == 0 && !g.server_shared); /* cached */
    usleep((AUTH_RECHECK_MS + 150) * 1000); /* the refresher's next verdict */
    CHECK(authn(a, tok, now, &g, &err) == 0 && g.server_shared);
    char *tok2 = issue(next, AUTH_SCOPE_RW, 600, NULL);
    CHECK(tok2 && authn(a, tok2, now, &g, &err) == 0 && g.server_shared);
    /* The neighbour deleted: the server is the first one's own again. */
    CHECK(tenancy_db_delete(db, next, &err) == 0);
    usleep((AUTH_RECHECK_MS + 150) * 1000);
    CHECK(authn(a, tok, now, &g, &err) == 0 && !g.server_shared);
    auth_ctx_free(a);
    free(tok);
    free(tok2);
}

/* Issue 14: a database in server isolation owns its URL: it takes none
 * another database uses (live, or deleted and not purged), and no other
 * database takes its URL; the grant says so. */
TEST(server_isolation_owns_the_backend)
{
    tg_err err = {0, ""};
    const char *url = "redis://127.0.0.1:11/", *used = "redis://127.0.0.1:12/";
    char owner[AUTH_ID_MAX], other[AUTH_ID_MAX];
    CHECK(tenancy_db_create(db, tenant_a, "own", url, -1, TENANCY_SERVER, owner, &err) == 0);
    CHECK(index_of(owner) == 0);
    /* Nobody else on its server, whatever the isolation. */
    static const tenancy_isolation all[] = {TENANCY_DEDICATED, TENANCY_SHARED, TENANCY_SERVER};
    for (size_t i = 0; i < 3; i++) {
        err.status = 0;
        CHECK(tenancy_db_create(db, tenant_b, "intruder", url, -1, all[i], other, &err) == -1);
        CHECK(err.status == 409 && strstr(err.msg, "server isolation"));
    }
    /* Not on a URL another database uses; logical DB 0 only. */
    CHECK(tenancy_db_create(db, tenant_b, "first", used, -1, TENANCY_SHARED, other, &err) == 0);
    CHECK(tenancy_db_create(db, tenant_a, "own2", used, -1, TENANCY_SERVER, other, &err) == -1 &&
          err.status == 409 && strstr(err.msg, "already used"));
    CHECK(tenancy_db_create(db, tenant_a, "own3", "redis://127.0.0.1:13/", 2, TENANCY_SERVER,
                            other, &err) == -1 && err.status == 400);
    /* Deleted but not purged still holds it; purged frees it. */
    CHECK(tenancy_db_delete(db, owner, &err) == 0);
    CHECK(tenancy_db_create(db, tenant_b, "next", url, -1, TENANCY_SERVER, other, &err) == -1 &&
          err.status == 409);
    tenancy_db_row row;
    CHECK(tenancy_db_get(db, owner, &row, &err) == 0 && row.owns_server && row.deleted &&
          !row.key_prefix[0]);
    CHECK(tenancy_db_purged(db, owner, &err) == 0);
    CHECK(tenancy_db_create(db, tenant_b, "next", url, -1, TENANCY_SERVER, other, &err) == 0);
    /* The grant carries it; no prefix, no neighbour. */
    char *tok = issue(other, AUTH_SCOPE_RW, 600, NULL);
    auth_ctx *a = ctx(64);
    auth_grant g;
    CHECK(tok && authn(a, tok, now, &g, &err) == 0 && g.owns_server && !g.key_prefix &&
          !g.server_shared && g.db_index == 0);
    CHECK(authn(a, tok, now, &g, &err) == 0 && g.owns_server); /* cached */
    auth_ctx_free(a);
    free(tok);
    /* The schema refuses a server row with another logical DB or a prefix. */
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE databases SET db_index = 3 WHERE id = '%s'", other);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK);
}

/* One server by several URLs is one server: placement, server isolation
 * and server_shared compare tenancy_server_key, never the strings. */
TEST(server_key_normalises)
{
    static const char *const same[][2] = {
        {"redis://localhost:6379", "redis://127.0.0.1:6379"},
        {"redis://127.0.0.1", "redis://[::1]:6379/3"},
        {"redis://alice:pw@LocalHost:6379/", "redis://bob@127.0.0.2"},
        {"REDIS://Cache.Example:7000", "rediss://u:***@cache.example:7000/1"},
        {"redis://:p/w@h.example:1", "redis://h.example:1"},
    };
    static const char *const differ[][2] = {
        {"redis://127.0.0.1:6379", "redis://127.0.0.1:6380"},
        {"redis://a.example", "redis://b.example"},
        {"unix:///tmp/a.sock", "redis://localhost"},
    };
    char a[TENANCY_SERVER_KEY_MAX], b[TENANCY_SERVER_KEY_MAX];
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        tenancy_server_key(same[i][0], a);
        tenancy_server_key(same[i][1], b);
        CHECK(!strcmp(a, b));
        if (strcmp(a, b)) fprintf(stderr, "  %s != %s\n", a, b);
    }
    for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++) {
        tenancy_server_key(differ[i][0], a);
        tenancy_server_key(differ[i][1], b);
        CHECK(strcmp(a, b) != 0);
    }
}

/* Review finding: a server database by one spelling of a URL, another
 * database by another spelling (or user) of the same server. */
TEST(server_isolation_sees_through_url_spellings)
{
    tg_err err = {0, ""};
    char owner[AUTH_ID_MAX], other[AUTH_ID_MAX], d1[AUTH_ID_MAX];
    tenancy_set_seal_secret(SECRET, sizeof SECRET - 1); /* URLs with passwords */
    CHECK(tenancy_db_create(db, tenant_a, "alias-own", "redis://localhost:21", -1,
                            TENANCY_SERVER, owner, &err) == 0);
    CHECK(tenancy_db_create(db, tenant_b, "alias-in", "redis://someone:pw@127.0.0.1:21/", -1,
                            TENANCY_DEDICATED, other, &err) == -1 && err.status == 409);
    /* And the other way round: a server taken by a dedicated database. */
    CHECK(tenancy_db_create(db, tenant_b, "alias-d", "redis://127.0.0.1:22", -1,
                            TENANCY_DEDICATED, d1, &err) == 0);
    CHECK(tenancy_db_create(db, tenant_a, "alias-own2", "redis://LOCALHOST:22/", -1,
                            TENANCY_SERVER, other, &err) == -1 && err.status == 409);
    /* A dedicated logical DB is taken whatever the spelling. */
    CHECK(tenancy_db_create(db, tenant_a, "alias-d2", "redis://[::1]:22", 0,
                            TENANCY_DEDICATED, other, &err) == -1 && err.status == 409);
    /* server_shared: a neighbour by another spelling binds the first. */
    CHECK(tenancy_db_create(db, tenant_a, "alias-p", "redis://x:y@localhost:22", -1,
                            TENANCY_SHARED, other, &err) == 0);
    char *tok = issue(d1, AUTH_SCOPE_RW, 600, NULL);
    auth_ctx *a = ctx(64);
    auth_grant g;
    CHECK(tok && a && authn(a, tok, now, &g, &err) == 0 && g.server_shared);
    auth_ctx_free(a);
    free(tok);
}

/* Review finding: the placement check and the insert are one
 * transaction. A second create on another connection runs between the
 * first one's check and its insert (from the first connection's
 * authorizer, as the INSERT is prepared): it must not get in too. */
static sqlite3 *racer;
static int race_rc = 1, race_fired;
static char race_url[64];

static int race_between(void *arg, int action, const char *a1, const char *a2,
                        const char *a3, const char *a4)
{
    (void)arg, (void)a2, (void)a3, (void)a4;
    if (action == SQLITE_INSERT && a1 && !strcmp(a1, "databases") && !race_fired) {
        race_fired = 1;
        tg_err err;
        char id[AUTH_ID_MAX];
        race_rc = tenancy_db_create(racer, tenant_b, "racer", race_url, -1,
                                    TENANCY_DEDICATED, id, &err);
    }
    return SQLITE_OK;
}

TEST(placement_is_atomic)
{
    tg_err err = {0, ""};
    char id[AUTH_ID_MAX];
    snprintf(race_url, sizeof race_url, "redis://127.0.0.1:23");
    CHECK(sqlite3_open(path, &racer) == SQLITE_OK); /* no busy timeout: fails at once */
    sqlite3_set_authorizer(db, race_between, NULL);
    int rc = tenancy_db_create(db, tenant_a, "race-own", race_url, -1, TENANCY_SERVER, id, &err);
    sqlite3_set_authorizer(db, NULL, NULL);
    CHECK(race_fired);
    /* Not both: the server database alone, or it refused. */
    CHECK(rc == 0 && race_rc == -1);
    sqlite3_stmt *st;
    int n = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM databases WHERE redis_url = ?", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, race_url, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    CHECK(n == 1);
    sqlite3_close(racer);
}

TEST(state_file_errors)
{
    tg_err err = {0, ""};
    char p[300];
    snprintf(p, sizeof p, "%s/missing.db", dir);
    CHECK(auth_ctx_new(&current, key.leeway_s, p, 16, &err) == NULL && err.status == 503);
    /* An existing but unmigrated file. */
    snprintf(p, sizeof p, "%s/empty.db", dir);
    sqlite3 *e = migrate_open(p, &err);
    CHECK(e != NULL);
    sqlite3_close(e);
    err.status = 0;
    CHECK(auth_ctx_new(&current, key.leeway_s, p, 16, &err) == NULL && err.status == 503);
}

/* ==== Lookups off the calling thread (issue 11, finding 7) ==== */

typedef struct got {
    int calls, rc, status;
    char database_id[AUTH_ID_MAX];
} got;

static void on_done(void *cookie, int rc, const auth_grant *g, const tg_err *err)
{
    got *x = cookie;
    x->calls++;
    x->rc = rc;
    x->status = rc ? err->status : 0;
    if (!rc) snprintf(x->database_id, sizeof x->database_id, "%s", g->database_id);
}

/* Waits (up to ms) for the ctx's eventfd, then completes what is there. */
static void complete_within(auth_ctx *a, int ms)
{
    struct pollfd p = {auth_ctx_fd(a), POLLIN, 0};
    if (poll(&p, 1, ms) == 1) auth_ctx_complete(a, now, on_done);
}

TEST(miss_waits_and_coalesces)
{
    auth_claims c;
    char *tok = issue(db_a, AUTH_SCOPE_RW, 3600, &c);
    auth_ctx *a = ctx(64);
    CHECK(tok && a);
    if (!tok || !a) goto out;
    got x = {0}, y = {0}, z = {0};
    auth_wait wx = {.cookie = &x}, wy = {.cookie = &y}, wz = {.cookie = &z};
    auth_grant g;
    tg_err err;
    CHECK(auth_authenticate(a, tok, strlen(tok), now, &wx, &g, &err) == AUTH_PENDING);
    CHECK(auth_authenticate(a, tok, strlen(tok), now, &wy, &g, &err) == AUTH_PENDING);
    CHECK(auth_authenticate(a, tok, strlen(tok), now, &wz, &g, &err) == AUTH_PENDING);
    auth_cancel(a, &wz); /* its request went away */
    for (int i = 0; i < 50 && !x.calls; i++) complete_within(a, 100);
    CHECK(x.calls == 1 && x.rc == 0 && !strcmp(x.database_id, db_a));
    CHECK(y.calls == 1 && y.rc == 0);
    CHECK(z.calls == 0 && wz.lookup == NULL);
    /* Cached now: no wait. */
    got w0 = {0};
    auth_wait ww = {.cookie = &w0};
    CHECK(auth_authenticate(a, tok, strlen(tok), now, &ww, &g, &err) == 0);
    auth_stats s;
    auth_ctx_stats(a, &s);
    CHECK(s.waits == 3 && s.hits == 1);
    /* A bad signature is refused at once, never looked up. */
    CHECK(auth_authenticate(a, "x.y.z", 5, now, &ww, &g, &err) == -1 && err.status == 401);
out:
    auth_ctx_free(a);
    free(tok);
}

/* Blocks every reader of the state file for ms: a child process holds
 * all of the WAL index's read-mark locks (bytes 123..127 of the -shm
 * file), as a stuck or slow process would. Returns the child, or -1. */
static pid_t block_reads(int ms)
{
    char shm[300];
    snprintf(shm, sizeof shm, "%s-shm", path);
    int pipefd[2];
    if (pipe(pipefd)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(shm, O_RDWR);
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 123, .l_len = 5};
        char ok = fd >= 0 && fcntl(fd, F_SETLKW, &fl) == 0;
        if (write(pipefd[1], &ok, 1) < 0) _exit(1);
        usleep((useconds_t)ms * 1000);
        _exit(0);
    }
    char ok = 0;
    if (pid < 0 || read(pipefd[0], &ok, 1) != 1 || !ok) pid = -1;
    close(pipefd[0]);
    close(pipefd[1]);
    return pid;
}

TEST(blocked_state_file_keeps_cached_tokens)
{
    auth_claims c, c2;
    char *tok = issue(db_a, AUTH_SCOPE_RW, 3600, &c);
    char *tok2 = issue(db_a, AUTH_SCOPE_RW, 3600, &c2);
    auth_ctx *a = ctx(64);
    auth_grant g;
    tg_err err = {0, ""};
    CHECK(tok && tok2 && a && authn(a, tok, now, &g, &err) == 0);
    pid_t blocker = block_reads(5000);
    CHECK(blocker > 0);
    if (blocker <= 0 || !a) goto out;
    /* A miss meanwhile waits off this thread: the caller is not blocked. */
    got x = {0};
    auth_wait wx = {.cookie = &x};
    uint64_t t = clock_mono_us();
    CHECK(auth_authenticate(a, tok2, strlen(tok2), now, &wx, &g, &err) == AUTH_PENDING);
    CHECK(clock_mono_us() - t < 20000);
    /* For 3 s of a blocked file, the cached token keeps its latency. */
    uint64_t t0 = clock_mono_ms(), worst = 0;
    int refused = 0;
    while (clock_mono_ms() - t0 < 3000) {
        t = clock_mono_us();
        refused += authn(a, tok, now, &g, &err) != 0;
        uint64_t took = clock_mono_us() - t;
        if (took > worst) worst = took;
        complete_within(a, 20);
    }
    CHECK(refused == 0);
    CHECK(worst < 20000); /* µs: never waits on the file */
    if (worst >= 20000) fprintf(stderr, "  slowest cached authentication: %llu us\n",
                                (unsigned long long)worst);
    auth_stats s;
    auth_ctx_stats(a, &s);
    CHECK(s.stale > 0);
    /* The miss is answered once the file gives: SQLite's wait for a WAL
     * read lock is not bounded by its busy timeout, so this may be the
     * grant (the file readable again) or a 503. */
    for (int i = 0; i < 120 && !x.calls; i++) complete_within(a, 100);
    CHECK(x.calls == 1 && (x.rc == 0 || x.status == 503));
    waitpid(blocker, NULL, 0);
    /* Readable again: a revocation applies within the recheck interval. */
    CHECK(tenancy_tokens_revoke(db, TENANCY_BY_JTI, c.jti, NULL, &err) == 0);
    t0 = clock_mono_ms();
    while (authn(a, tok, now, &g, &err) == 0 && clock_mono_ms() - t0 < 3000) usleep(20000);
    CHECK(err.status == 401);
    CHECK(clock_mono_ms() - t0 <= AUTH_RECHECK_MS + 300);
out:
    auth_ctx_free(a);
    free(tok);
    free(tok2);
}

static void cleanup(void)
{
    static const char *const files[] = {"state.db", "state.db-wal", "state.db-shm",
                                        "empty.db", "empty.db-wal", "empty.db-shm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[300];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep results if a sanitizer aborts */
    hash_seed();
    now = time(NULL);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/state.db", dir);
    RUN(migrate_idempotent);
    if (!db) {
        cleanup();
        return 1;
    }
    RUN(tenants_and_db_indexes);
    RUN(authenticate_and_cache_hit);
    RUN(revocation_takes_effect);
    RUN(deleted_database);
    RUN(claims_must_match_record);
    RUN(expired_token_evicted_even_if_cached);
    RUN(row_expiry_same_on_hit_and_miss);
    RUN(cache_bounded);
    RUN(keyring_swap_reverifies_cached_tokens);
    RUN(shared_databases);
    RUN(server_shared_follows_the_backend);
    RUN(server_isolation_owns_the_backend);
    RUN(server_key_normalises);
    RUN(server_isolation_sees_through_url_spellings);
    RUN(placement_is_atomic);
    RUN(state_file_errors);
    RUN(miss_waits_and_coalesces);
    RUN(blocked_state_file_keeps_cached_tokens);
    sqlite3_close(db);
    cleanup();
    TEST_MAIN_END();
}
