/*
 * plan.c - `tollgate plan assign|create|update`: price plans and their
 * limits, through the control plane's store (gateway/control/store.h, the
 * admin API's too), and the limit flags `db limits` takes too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/limits.h"
#include "cli/cli.h"
#include "gateway/control/store.h"

int cli_plan_assign(const tg_config *cfg, int argc, char **argv)
{
    const char *tenant = NULL, *plan = NULL, *from = NULL;
    tg_err err;
    bool json = cli_flag_take(&argc, argv, "--json");
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
    cJSON *o = store_plan_assign(db, tenant, plan, at, &err);
    sqlite3_close(db);
    return cli_print(o, json, NULL, &err);
}

/* ==== Limit and price flags ==== */

/* Appends one option per limit (and, with prices, per price column) to
 * opts at *n; their values land in lv / pv (NULL when absent). */
static void flags_add(cli_opt *opts, int *n, const char **lv, const char **pv)
{
    for (int i = 0; i < LIMIT_COUNT; i++) {
        lv[i] = NULL;
        opts[(*n)++] = (cli_opt){limit_defs[i].flag, &lv[i], false};
    }
    for (int i = 0; pv && i < PRICE_COUNT; i++) {
        pv[i] = NULL;
        opts[(*n)++] = (cli_opt){price_defs[i].flag, &pv[i], false};
    }
}

/* The parsed values: LIMIT_KEEP where no flag was given. -1 after
 * printing which flag is wrong. */
static int flags_values(const char **lv, const char **pv, bool is_override, limit_set *l,
                        int64_t *prices)
{
    limits_keep_all(l);
    for (int i = 0; i < LIMIT_COUNT; i++)
        if (lv[i] && limits_value_parse(lv[i], is_override, &l->v[i])) {
            fprintf(stderr, "tollgate: --%s takes a number >= 0, none or unlimited\n",
                    limit_defs[i].flag);
            return -1;
        }
    for (int i = 0; pv && i < PRICE_COUNT; i++) {
        prices[i] = LIMIT_KEEP;
        char *end;
        if (pv[i]) {
            long long v = strtoll(pv[i], &end, 10);
            if (end == pv[i] || *end || v < 0) {
                fprintf(stderr, "tollgate: --%s takes a number >= 0\n", price_defs[i].flag);
                return -1;
            }
            prices[i] = v;
        }
    }
    return 0;
}

int cli_limits_parse(int argc, char **argv, cli_opt *fixed, int nfixed, limit_set *l)
{
    cli_opt opts[8 + LIMIT_COUNT];
    const char *lv[LIMIT_COUNT];
    int n = nfixed;
    memcpy(opts, fixed, (size_t)nfixed * sizeof *opts);
    flags_add(opts, &n, lv, NULL);
    if (cli_opts_parse(argc, argv, opts, n)) return -1;
    return flags_values(lv, NULL, true, l, NULL);
}

/* plan create / update: the same flags, create or change. */
static int plan_write(const tg_config *cfg, int argc, char **argv, bool create)
{
    const char *id = NULL, *name = NULL, *currency = NULL;
    const char *lv[LIMIT_COUNT], *pv[PRICE_COUNT];
    bool json = cli_flag_take(&argc, argv, "--json");
    cli_opt opts[3 + LIMIT_COUNT + PRICE_COUNT] = {
        {"plan", &id, true}, {"name", &name, create}, {"currency", &currency, false}};
    int n = 3;
    flags_add(opts, &n, lv, pv);
    if (cli_opts_parse(argc, argv, opts, n)) return 2;
    limit_set l;
    int64_t prices[PRICE_COUNT];
    if (flags_values(lv, pv, false, &l, prices)) return 2;
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    tg_err err;
    cJSON *o = store_plan_write(db, create, id, name, currency, prices, &l, &err);
    sqlite3_close(db);
    return cli_print(o, json, NULL, &err);
}

int cli_plan_create(const tg_config *cfg, int argc, char **argv)
{
    return plan_write(cfg, argc, argv, true);
}

int cli_plan_update(const tg_config *cfg, int argc, char **argv)
{
    return plan_write(cfg, argc, argv, false);
}
