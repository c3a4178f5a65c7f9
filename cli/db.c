/*
 * db.c - `tollgate db create` and `tollgate db delete`: a tenant's
 * databases, dedicated (a Redis db index of their own), shared (a key
 * prefix and an ACL user on a shared Redis, gateway/redis/setup.c) or
 * owning a whole Redis (isolation server: an ACL user with the server-wide
 * commands on its own data);
 * `db limits` (overrides of the plan's limits) and `db usage` (consumption
 * against each limit, billing/quota.h). Writes go through the control
 * plane's store (gateway/control/store.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/limits.h"
#include "billing/quota.h"
#include "cli/cli.h"
#include "gateway/control/store.h"

int cli_db_create(const tg_config *cfg, int argc, char **argv)
{
    const char *tenant = NULL, *name = NULL, *url = NULL, *index = NULL, *iso = "dbindex";
    tg_err err;
    bool json = cli_flag_take(&argc, argv, "--json");
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
    if (store_init(cfg, &err)) {
        fprintf(stderr, "tollgate: %s\n", err.msg);
        return 2;
    }
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    cJSON *o = store_db_create(db, cfg, tenant, name, url, idx,
                               shared ? TENANCY_SHARED : server ? TENANCY_SERVER : TENANCY_DEDICATED, &err);
    sqlite3_close(db);
    return cli_print(o, json, "id", &err);
}

/* Deleting: the row first (tokens refused within AUTH_RECHECK_S), then,
 * once no gateway can still write, the data on the backend, then the slot
 * is freed (store_db_delete). If the backend cannot be reached the slot
 * stays taken and the command can be run again. */
int cli_db_delete(const tg_config *cfg, int argc, char **argv)
{
    const char *id = NULL;
    tg_err err;
    cli_flag_take(&argc, argv, "--json");
    cli_opt opts[] = {{"db", &id, true}};
    if (cli_opts_parse(argc, argv, opts, 1)) return 2;
    if (store_init(cfg, &err)) { /* before anything is deleted */
        fprintf(stderr, "tollgate: %s\n", err.msg);
        return 2;
    }
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    int rc = store_db_delete(db, cfg, id, NULL, &err);
    sqlite3_close(db);
    if (rc && err.status == 503) {
        fprintf(stderr, "tollgate: database %s is deleted, but its data is still on its "
                "backend (%s); run `tollgate db delete --db %s` again\n", id, err.msg, id);
        return 1;
    }
    return cli_finish(rc, &err);
}

/* ==== Limits ==== */

int cli_db_limits(const tg_config *cfg, int argc, char **argv)
{
    const char *id = NULL;
    bool json = cli_flag_take(&argc, argv, "--json");
    cli_opt fixed[] = {{"db", &id, true}};
    limit_set l;
    if (cli_limits_parse(argc, argv, fixed, 1, &l)) return 2;
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    tg_err err;
    cJSON *o = store_db_limits(db, id, &l, &err);
    sqlite3_close(db);
    return cli_print(o, json, NULL, &err);
}

/* What a gateway starting now would hold: the quota engine seeded from
 * the rollups (rates and concurrency are per running gateway and show
 * as idle here; the admin API reports a live engine's). */
int cli_db_usage(const tg_config *cfg, int argc, char **argv)
{
    const char *id = NULL;
    cli_flag_take(&argc, argv, "--json"); /* JSON either way */
    cli_opt opts[] = {{"db", &id, true}};
    if (cli_opts_parse(argc, argv, opts, 1)) return 2;
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    quota *q = quota_new();
    tg_err err;
    buf out;
    buf_init(&out);
    int64_t now = quota_now_ns();
    int rc = quota_refresh_one(q, db, id, now, &err);
    if (!rc) rc = quota_usage_json(q, id, now, &out, &err);
    if (!rc) fwrite(out.data, 1, out.len, stdout);
    buf_release(&out);
    quota_free(q);
    sqlite3_close(db);
    return cli_finish(rc, &err);
}
