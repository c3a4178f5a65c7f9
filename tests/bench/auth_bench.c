/*
 * auth_bench.c - what token checking costs per request: auth_authenticate()
 * on a cached token (the steady state of a keep-alive client) and on a
 * cache miss (signature verification + SQLite lookup), in ns per call.
 * Usage: auth_bench (makes a throwaway state file under /tmp)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/jwt.h"
#include "auth/tenancy.h"
#include "common/clock.h"
#include "common/siphash.h"
#include "migrations/migrate.h"

static double now_ns(void)
{
    return (double)clock_mono_ns();
}

int main(void)
{
    char path[] = "/tmp/tollgate-auth-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 1;
    close(fd);
    tg_err err;
    hash_seed();
    sqlite3 *db = migrate_open(path, &err);
    if (!db || migrate_apply(db, NULL, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    char ten[AUTH_ID_MAX], dbid[AUTH_ID_MAX];
    auth_claims c;
    const char secret[] = "bench-secret-bench-secret-bench-secret";
    auth_key key = {.alg = "HS256", .secret = (const unsigned char *)secret,
    .secret_len = strlen(secret), .leeway_s = 30};
    if (tenancy_tenant_create(db, "bench", ten, &err) ||
        tenancy_db_create(db, ten, "bench", "redis://127.0.0.1:6379", 0, TENANCY_DEDICATED, dbid, &err) ||
        tenancy_token_issue(db, dbid, AUTH_SCOPE_RW, 3600, &c, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    char *tok = auth_jwt_sign(&key, &c, &err);
    sqlite3_close(db);
    auth_keyring ring = {&key, 1, &key};
    const auth_keyring *current = &ring;
    auth_ctx *a = auth_ctx_new(&current, key.leeway_s, path, 1024, &err);
    if (!tok || !a) return 1;
    auth_grant g;
    size_t len = strlen(tok);
    time_t now = time(NULL);

    const int hits = 2000000;
    double t0 = now_ns();
    for (int i = 0; i < hits; i++)
        if (auth_authenticate(a, tok, len, now, NULL, &g, &err)) return 1;
    double hit_ns = (now_ns() - t0) / hits;

    /* Misses: a fresh context each round forgets the token. */
    const int misses = 2000;
    double miss_total = 0;
    for (int i = 0; i < misses; i++) {
        auth_ctx *m = auth_ctx_new(&current, key.leeway_s, path, 16, &err);
        double s = now_ns();
        if (auth_authenticate(m, tok, len, now, NULL, &g, &err)) return 1;
        miss_total += now_ns() - s;
        auth_ctx_free(m);
    }
    printf("auth_cached_ns %.0f\nauth_miss_ns %.0f\n", hit_ns, miss_total / misses);
    auth_ctx_free(a);
    free(tok);
    unlink(path);
    return 0;
}
