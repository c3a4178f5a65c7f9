/*
 * plan.c - `tollgate plan assign`: puts a tenant on a price plan from a
 * time on (billing/usage.c prices each minute by the plan then in effect).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "billing/usage.h"
#include "cli/cli.h"

int cli_plan_assign(const tg_config *cfg, int argc, char **argv)
{
    const char *tenant = NULL, *plan = NULL, *from = NULL;
    tg_err err;
    cli_opt opts[] = {{"tenant", &tenant, true}, {"plan", &plan, true}, {"from", &from, false}};
    if (cli_opts_parse(argc, argv, opts, 3)) return 2;
    long long at = (long long)time(NULL);
    if (from) {
        char *end;
        at = strtoll(from, &end, 10);
        if (*end || at < 0) {
            fprintf(stderr, "tollgate: --from must be Unix seconds\n");
            return 2;
        }
    }
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    int rc = usage_plan_assign(db, tenant, plan, at, &err);
    sqlite3_close(db);
    return cli_finish(rc, &err);
}
