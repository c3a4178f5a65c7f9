/* auth.c - see auth.h: verified-token cache over jwt.c and tenancy.c. */
#include "auth/auth.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/siphash.h"
#include "common/mem.h"

#define WAYS 4
#define TAIL 24   /* bytes of the signature kept to double-check a hit */

/* Kept small: a full cache is entries x threads of resident memory. */
typedef struct cache_entry {
    uint64_t hash;              /* 0: empty */
    uint32_t len;
    uint32_t stamp;             /* for replacement: least recently used */
    char tail[TAIL];
    const char *redis_url;      /* interned in the ctx */
    const auth_keyring *ring;   /* the keyring that verified it */
    const char *cmd_allow;      /* interned; NULL when the token has none */
    const char *cmd_deny;
    int db_index;
    auth_scope scope;
    uint32_t users_seen;        /* auth_grant.users_seen */
    void *app_data;             /* auth_grant.app_data */
    long long expires_at;       /* min(token exp, row expiry) */
    long long claim_exp;
    long long rate_limit;       /* the signed rate_limit claim, 0: none */
    long long recheck_at;
    char tenant_id[AUTH_ID_MAX];
    char database_id[AUTH_ID_MAX];
    char jti[AUTH_ID_MAX];
    bool shared;                /* key prefix "<database_id>:" */
} cache_entry;

typedef struct interned {
    struct interned *next;
    char s[];
} interned;

struct auth_ctx {
    const auth_keyring *const *current;
    long leeway_s;
    tenancy *store;
    cache_entry *sets;          /* nsets * WAYS */
    size_t nsets;
    uint32_t clock;
    interned *urls;
    auth_stats stats;
    char prefix[AUTH_ID_MAX + 1]; /* the last grant's key prefix */
};

auth_ctx *auth_ctx_new(const auth_keyring *const *current, long leeway_s,
                       const char *sqlite_path, size_t cache_entries, tg_err *err)
{
    auth_ctx *a = xcalloc(1, sizeof *a);
    a->current = current;
    a->leeway_s = leeway_s;
    a->store = tenancy_open(sqlite_path, err);
    if (!a->store) {
        free(a);
        return NULL;
    }
    size_t n = 1;
    while (n * WAYS < cache_entries) n *= 2;
    a->nsets = n;
    /* calloc: untouched slots stay unbacked pages, so memory follows use. */
    a->sets = xcalloc(n * WAYS, sizeof *a->sets);
    return a;
}

void auth_ctx_free(auth_ctx *a)
{
    if (!a) return;
    tenancy_free(a->store);
    free(a->sets);
    for (interned *i = a->urls, *next; i; i = next) {
        next = i->next;
        free(i);
    }
    free(a);
}

static const char *intern(auth_ctx *a, const char *url)
{
    for (interned *i = a->urls; i; i = i->next)
        if (!strcmp(i->s, url)) return i->s;
    size_t n = strlen(url);
    interned *i = xmalloc(sizeof *i + n + 1);
    memcpy(i->s, url, n + 1);
    i->next = a->urls;
    a->urls = i;
    return i->s;
}

static void tail_of(const char *tok, size_t len, char out[TAIL])
{
    memset(out, 0, TAIL);
    size_t n = len < TAIL ? len : TAIL;
    memcpy(out, tok + len - n, n);
}

/* The claims a cached, verified token carried (what the re-check needs):
 * the row lookup matched them, so the row's ids and scope are the claims'. */
static void claims_of(const cache_entry *e, auth_claims *c)
{
    memset(c, 0, sizeof *c);
    memcpy(c->sub, e->tenant_id, sizeof c->sub);
    memcpy(c->db, e->database_id, sizeof c->db);
    memcpy(c->jti, e->jti, sizeof c->jti);
    c->scope = e->scope;
    c->exp = e->claim_exp;
    c->rate_limit = e->rate_limit;
    if (e->cmd_allow) snprintf(c->cmd_allow, sizeof c->cmd_allow, "%s", e->cmd_allow);
    if (e->cmd_deny) snprintf(c->cmd_deny, sizeof c->cmd_deny, "%s", e->cmd_deny);
}

static void fill_grant(auth_ctx *a, cache_entry *e, auth_grant *out)
{
    out->tenant_id = e->tenant_id;
    out->database_id = e->database_id;
    out->jti = e->jti;
    out->redis_url = e->redis_url;
    out->db_index = e->db_index;
    out->scope = e->scope;
    out->expires_at = e->expires_at;
    out->cmd_allow = e->cmd_allow;
    out->cmd_deny = e->cmd_deny;
    out->rate_limit = e->rate_limit;
    out->key_prefix = NULL;
    if (e->shared) {
        snprintf(a->prefix, sizeof a->prefix, "%s:", e->database_id);
        out->key_prefix = a->prefix;
    }
    out->users_seen = &e->users_seen;
    out->app_data = &e->app_data;
}

static void store_grant(auth_ctx *a, cache_entry *e, const tenancy_grant *g,
                        time_t now)
{
    e->shared = g->key_prefix[0] != '\0';
    memcpy(e->tenant_id, g->tenant_id, sizeof e->tenant_id);
    memcpy(e->database_id, g->database_id, sizeof e->database_id);
    memcpy(e->jti, g->jti, sizeof e->jti);
    e->redis_url = intern(a, g->redis_url);
    e->db_index = g->db_index;
    e->scope = g->scope;
    e->expires_at = g->expires_at;
    e->recheck_at = (long long)now + AUTH_RECHECK_S;
}

/* The row's expiry binds too (a token re-signed with a later exp). */
static int row_expired(const tenancy_grant *g, time_t now, long long leeway, tg_err *err)
{
    if ((long long)now > g->expires_at + leeway) return tg_fail(err, 401, "token expired");
    return 0;
}

int auth_authenticate(auth_ctx *a, const char *token, size_t len, time_t now,
                      auth_grant *out, tg_err *err)
{
    memset(out, 0, sizeof *out);
    if (len == 0) return tg_fail(err, 401, "WRONGPASS invalid or missing auth token");
    if (len > AUTH_TOKEN_MAX) return tg_fail(err, 401, "invalid token: too long");
    uint64_t h = hash_bytes(token, len) | 1;  /* never 0: 0 marks empty */
    char tail[TAIL];
    tail_of(token, len, tail);
    cache_entry *set = &a->sets[((h >> 8) & (a->nsets - 1)) * WAYS];
    long long leeway = a->leeway_s;
    const auth_keyring *ring = __atomic_load_n(a->current, __ATOMIC_ACQUIRE);
    a->clock++;

    for (int w = 0; w < WAYS; w++) {
        cache_entry *e = &set[w];
        if (e->hash != h || e->len != len || memcmp(e->tail, tail, TAIL)) continue;
        if (e->ring != ring) { /* keys changed since: verify again */
            e->hash = 0;
            break;
        }
        if ((long long)now > e->expires_at + leeway) {
            e->hash = 0;
            return tg_fail(err, 401, "token expired");
        }
        if ((long long)now >= e->recheck_at) {
            tenancy_grant g;
            auth_claims c;
            a->stats.rechecks++;
            claims_of(e, &c);
            if (tenancy_check_token(a->store, &c, &g, err) ||
                row_expired(&g, now, leeway, err)) {
                if (err && err->status == 401) e->hash = 0;
                return -1;
            }
            store_grant(a, e, &g, now);
        }
        a->stats.hits++;
        e->stamp = a->clock;
        fill_grant(a, e, out);
        return 0;
    }

    a->stats.misses++;
    auth_claims c;
    tenancy_grant g;
    if (auth_jwt_verify_ring(ring, token, len, now, &c, err)) return -1;
    if (tenancy_check_token(a->store, &c, &g, err) || row_expired(&g, now, leeway, err))
        return -1;

    cache_entry *victim = &set[0];
    for (int w = 0; w < WAYS; w++) {
        if (set[w].hash == 0) {
            victim = &set[w];
            break;
        }
        if ((uint32_t)(a->clock - set[w].stamp) > (uint32_t)(a->clock - victim->stamp))
            victim = &set[w];
    }
    victim->hash = h;
    victim->len = (uint32_t)len;
    memcpy(victim->tail, tail, TAIL);
    victim->claim_exp = c.exp;
    victim->rate_limit = c.rate_limit;
    victim->ring = ring;
    victim->cmd_allow = c.cmd_allow[0] ? intern(a, c.cmd_allow) : NULL;
    victim->cmd_deny = c.cmd_deny[0] ? intern(a, c.cmd_deny) : NULL;
    victim->stamp = a->clock;
    victim->users_seen = 0;
    victim->app_data = NULL;
    store_grant(a, victim, &g, now);
    fill_grant(a, victim, out);
    return 0;
}

void auth_ctx_stats(const auth_ctx *a, auth_stats *out)
{
    *out = a->stats;
}
