/*
 * tenant.c - `tollgate tenant create` (a new tenant, its id on stdout) and
 * `tollgate tenant budget` (its monthly budget, billing/limits.h).
 */
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/tenancy.h"
#include "billing/limits.h"
#include "cli/cli.h"

int cli_tenant_create(const tg_config *cfg, int argc, char **argv)
{
    const char *name = NULL;
    cli_opt opts[] = {{"name", &name, true}};
    if (cli_opts_parse(argc, argv, opts, 1)) return 2;
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    char id[AUTH_ID_MAX];
    tg_err err;
    int rc = tenancy_tenant_create(db, name, id, &err);
    sqlite3_close(db);
    if (rc) return cli_finish(rc, &err);
    printf("%s\n", id);
    return 0;
}

int cli_tenant_budget(const tg_config *cfg, int argc, char **argv)
{
    const char *tenant = NULL, *micros = NULL;
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
    int rc = limits_tenant_budget(db, tenant, v, &err);
    sqlite3_close(db);
    return cli_finish(rc, &err);
}
