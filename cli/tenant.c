/*
 * tenant.c - `tollgate tenant create` (a new tenant, its id on stdout),
 * `tenant budget` (its monthly budget), `tenant delete`, and `tenant-token
 * create` (a dashboard API token), through the control plane's store.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "billing/limits.h"
#include "cli/cli.h"
#include "gateway/control/store.h"

int cli_tenant_create(const tg_config *cfg, int argc, char **argv)
{
    const char *name = NULL;
    bool json = cli_flag_take(&argc, argv, "--json");
    cli_opt opts[] = {{"name", &name, true}};
    if (cli_opts_parse(argc, argv, opts, 1)) return 2;
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    tg_err err;
    cJSON *o = store_tenant_create(db, name, &err);
    sqlite3_close(db);
    return cli_print(o, json, "id", &err);
}

int cli_tenant_budget(const tg_config *cfg, int argc, char **argv)
{
    const char *tenant = NULL, *micros = NULL;
    bool json = cli_flag_take(&argc, argv, "--json");
    cli_opt opts[] = {{"tenant", &tenant, true}, {"monthly-micros", &micros, true}};
    if (cli_opts_parse(argc, argv, opts, 2)) return 2;
    int64_t v;
    if (limits_value_parse(micros, false, &v)) {
        fprintf(stderr, "tollgate: --monthly-micros takes a number >= 0 or none\n");
        return 2;
    }
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    tg_err err;
    cJSON *o = store_tenant_update(db, tenant, NULL, v, &err);
    sqlite3_close(db);
    return cli_print(o, json, NULL, &err);
}

int cli_tenant_delete(const tg_config *cfg, int argc, char **argv)
{
    const char *tenant = NULL;
    cli_flag_take(&argc, argv, "--json");
    cli_opt opts[] = {{"tenant", &tenant, true}};
    if (cli_opts_parse(argc, argv, opts, 1)) return 2;
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    tg_err err;
    int rc = store_tenant_delete(db, tenant, &err);
    sqlite3_close(db);
    return cli_finish(rc, &err);
}

int cli_tenant_token_create(const tg_config *cfg, int argc, char **argv)
{
    const char *tenant = NULL, *ttl = "1h";
    bool json = cli_flag_take(&argc, argv, "--json");
    cli_opt opts[] = {{"tenant", &tenant, true}, {"ttl", &ttl, false}};
    if (cli_opts_parse(argc, argv, opts, 2)) return 2;
    long long secs = cli_ttl_parse(ttl);
    if (secs < 0) {
        fprintf(stderr, "tollgate: --ttl must look like 30d, 12h, 15m or 3600s\n");
        return 2;
    }
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    tg_err err;
    cJSON *o = store_tenant_token(db, cfg, tenant, secs, &err);
    sqlite3_close(db);
    return cli_print(o, json, "token", &err);
}

int cli_tenant_token_revoke(const tg_config *cfg, int argc, char **argv)
{
    const char *jti = NULL;
    cli_opt opts[] = {{"jti", &jti, true}};
    if (cli_opts_parse(argc, argv, opts, 1)) return 2;
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    tg_err err;
    int rc = store_tenant_token_revoke(db, jti, &err);
    sqlite3_close(db);
    return cli_finish(rc, &err);
}
