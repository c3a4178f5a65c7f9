/*
 * serve.c - `tollgate serve`: checks the settings, brings the state
 * database up to date, then runs the gateway until it is stopped.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "gateway/gateway.h"

int cli_serve(const tg_config *cfg, int argc, char **argv)
{
    tg_err err;
    if (cli_opts_parse(argc, argv, NULL, 0)) return 2;
    if (config_validate_serve(cfg, &err) || config_validate_acl_secret(cfg, &err)) {
        fprintf(stderr, "tollgate: %s\n", err.msg);
        return 2;
    }
    sqlite3 *db = cli_state_open(cfg, false);
    if (!db) return 1;
    sqlite3_close(db);
    return gateway_serve(cfg);
}
