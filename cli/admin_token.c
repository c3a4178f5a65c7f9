/*
 * admin_token.c - `tollgate admin-token create`: a short-lived JWT for the
 * admin API, signed with admin_jwt_secret (auth/admin_token.c).
 */
#include <stdio.h>
#include <time.h>

#include "auth/admin_token.h"
#include "cli/cli.h"

int cli_admin_token_create(const tg_config *cfg, int argc, char **argv)
{
    const char *ttl = "1h";
    tg_err err;
    cli_opt opts[] = {{"ttl", &ttl, false}};
    if (cli_opts_parse(argc, argv, opts, 1)) return 2;
    long long secs = cli_ttl_parse(ttl);
    if (secs < 0) {
        fprintf(stderr, "tollgate: --ttl must look like 30d, 12h, 15m or 3600s\n");
        return 2;
    }
    return cli_token_print(admin_token_create(cfg->admin_jwt_secret, secs, time(NULL), &err),
                           &err);
}
