/*
 * db.c - `tollgate db create` and `tollgate db delete`: a tenant's
 * databases, dedicated (a Redis db index of their own), shared (a key
 * prefix and an ACL user on a shared Redis, gateway/redis/setup.c) or
 * owning a whole Redis (isolation server: an ACL user with the server-wide
 * commands on its own data);
 * `db limits` (overrides of the plan's limits) and `db usage` (consumption
 * against each limit, billing/quota.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/tenancy.h"
#include "billing/limits.h"
#include "billing/quota.h"
#include "cli/cli.h"
#include "gateway/policy/policy.h"
#include "gateway/redis/setup.h"

/* ACL passwords derive from acl_secret, as in `serve`. 0 / -1. */
static int acl_secret_init(const tg_config *cfg, tg_err *err)
{
    if (config_validate_acl_secret(cfg, err)) return -1;
    backend_setup_init(cfg->acl_secret, strlen(cfg->acl_secret), policy_annotate);
    tenancy_set_seal_secret(cfg->acl_secret, strlen(cfg->acl_secret)); /* backend passwords */
    return 0;
}

int cli_db_create(const tg_config *cfg, int argc, char **argv)
{
    const char *tenant = NULL, *name = NULL, *url = NULL, *index = NULL, *iso = "dbindex";
    tg_err err;
    cli_opt opts[] = {{"tenant", &tenant, true}, {"name", &name, true},
                      {"redis-url", &url, false}, {"db-index", &index, false},
                      {"isolation", &iso, false}};
    if (cli_opts_parse(argc, argv, opts, 5)) return 2;
    int idx = -1;
    if (index) {
        char *end;
        long v = strtol(index, &end, 10);
        if (*end || v < 0 || v > 100000) {
            fprintf(stderr, "tollgate: --db-index must be a number >= 0\n");
            return 2;
        }
        idx = (int)v;
    }
    bool shared = !strcmp(iso, "prefix"), server = !strcmp(iso, "server");
    if (!shared && !server && strcmp(iso, "dbindex")) {
        fprintf(stderr, "tollgate: --isolation must be dbindex, prefix or server\n");
        return 2;
    }
    if (acl_secret_init(cfg, &err)) {
        fprintf(stderr, "tollgate: %s\n", err.msg);
        return 2;
    }
    url = url ? url : cfg->redis_url;
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    char newid[AUTH_ID_MAX];
    int rc = tenancy_db_create(db, tenant, name, url, idx,
                               shared ? TENANCY_SHARED : server ? TENANCY_SERVER
                                                                : TENANCY_DEDICATED,
                               newid, &err);
    sqlite3_close(db);
    if (rc) return cli_finish(rc, &err);
    char prefix[AUTH_ID_MAX + 1];
    snprintf(prefix, sizeof prefix, "%s:", newid);
    /* The gateway makes sure of the user on first use too: a backend that
     * is down now is not an error. */
    if ((shared || server) && backend_db_user_create(url, newid, server ? NULL : prefix,
                                         (int)cfg->redis_connect_timeout_ms, &err))
        fprintf(stderr, "tollgate: warning: %s (the gateway creates the user on "
                "first use)\n", err.msg);
    printf("%s\n", newid);
    return 0;
}

/* Deleting: the row first (tokens refused within AUTH_RECHECK_S), then,
 * once no gateway can still write, the data on the backend, then the slot
 * is freed. If the backend cannot be reached the slot stays taken and the
 * command can be run again. */
int cli_db_delete(const tg_config *cfg, int argc, char **argv)
{
    const char *id = NULL;
    tg_err err;
    cli_opt opts[] = {{"db", &id, true}};
    if (cli_opts_parse(argc, argv, opts, 1)) return 2;
    if (acl_secret_init(cfg, &err)) { /* before anything is deleted */
        fprintf(stderr, "tollgate: %s\n", err.msg);
        return 2;
    }
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    tenancy_db_row row;
    int rc = tenancy_db_get(db, id, &row, &err);
    if (!rc && !row.deleted) {
        rc = tenancy_db_delete(db, id, &err);
        if (!rc) { /* cached tokens expire everywhere */
            struct timespec ts = {AUTH_RECHECK_S, 300 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    int tmo = (int)cfg->redis_connect_timeout_ms;
    if (!rc && (row.owns_server
                    ? backend_server_purge(row.redis_url, id, tmo, &err)
                    : backend_db_purge(row.redis_url, row.db_index, id, row.key_prefix, tmo,
                                       &err))) {
        fprintf(stderr, "tollgate: database %s is deleted, but its data is still on its "
                "backend (%s); run `tollgate db delete --db %s` again\n", id, err.msg, id);
        sqlite3_close(db);
        return 1;
    }
    if (!rc) rc = tenancy_db_purged(db, id, &err);
    sqlite3_close(db);
    return cli_finish(rc, &err);
}

/* ==== Limits ==== */

int cli_db_limits(const tg_config *cfg, int argc, char **argv)
{
    const char *id = NULL;
    cli_opt fixed[] = {{"db", &id, true}};
    limit_set l;
    if (cli_limits_parse(argc, argv, fixed, 1, &l)) return 2;
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    tg_err err;
    int rc = limits_db_set(db, id, &l, &err);
    sqlite3_close(db);
    return cli_finish(rc, &err);
}

/* What a gateway starting now would hold: the quota engine seeded from
 * the rollups (rates and concurrency are per running gateway and show
 * as idle here; the admin API reports a live engine's). */
int cli_db_usage(const tg_config *cfg, int argc, char **argv)
{
    const char *id = NULL;
    cli_opt opts[] = {{"db", &id, true}};
    if (cli_opts_parse(argc, argv, opts, 1)) return 2;
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    quota *q = quota_new();
    tg_err err;
    buf out;
    buf_init(&out);
    int64_t now = quota_now_ns();
    int rc = quota_refresh(q, db, now, &err);
    if (!rc) rc = quota_usage_json(q, id, now, &out, &err);
    if (!rc) fwrite(out.data, 1, out.len, stdout);
    buf_release(&out);
    quota_free(q);
    sqlite3_close(db);
    return cli_finish(rc, &err);
}
