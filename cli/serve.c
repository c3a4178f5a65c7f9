/*
 * serve.c - `tollgate serve [--user NAME]`: checks the settings, then runs
 * the gateway (which binds its sockets, becomes NAME if given, brings the
 * state database up to date and serves) until it is stopped.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "gateway/gateway.h"

int cli_serve(const tg_config *cfg, int argc, char **argv)
{
    tg_err err;
    const char *user = NULL;
    cli_opt opts[] = {{"user", &user, false}};
    if (cli_opts_parse(argc, argv, opts, 1)) return 2;
    if (config_validate_serve(cfg, &err) || config_validate_acl_secret(cfg, &err)) {
        fprintf(stderr, "tollgate: %s\n", err.msg);
        return 2;
    }
    return gateway_serve(cfg, user);
}
