/*
 * tenant.c - `tollgate tenant create`: a new tenant, its id on stdout.
 */
#include <stdio.h>

#include "auth/auth.h"
#include "auth/tenancy.h"
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
