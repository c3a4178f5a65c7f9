/*
 * token.c - `tollgate token create` (a signed JWT for one database, its
 * row in the tokens table) and `tollgate token revoke` (by token, database
 * or tenant; running gateways refuse them within AUTH_RECHECK_S).
 */
#include <stdio.h>
#include <stdlib.h>

#include "auth/jwt.h"
#include "cli/cli.h"
#include "gateway/control/store.h"
#include "gateway/policy/policy.h"

int cli_token_create(const tg_config *cfg, int argc, char **argv)
{
    const char *dbid = NULL, *scope = "rw", *ttl = "30d", *kid = NULL, *allow = "", *deny = "";
    const char *rate = NULL;
    tg_err err;
    bool json = cli_flag_take(&argc, argv, "--json");
    cli_opt opts[] = {{"db", &dbid, true},  {"scope", &scope, false}, {"ttl", &ttl, false},
                      {"kid", &kid, false}, {"allow", &allow, false}, {"deny", &deny, false},
                      {"rate-limit", &rate, false}};
    if (cli_opts_parse(argc, argv, opts, 7)) return 2;
    store_token_req rq = {.database_id = dbid, .allow = allow, .deny = deny, .kid = kid};
    if (rate) {
        char *end;
        rq.rate_limit = strtoll(rate, &end, 10);
        if (end == rate || *end || rq.rate_limit < 1 || rq.rate_limit > 1000000000) {
            fprintf(stderr, "tollgate: --rate-limit takes commands per second, 1..1000000000\n");
            return 2;
        }
    }
    char allow_n[AUTH_RULES_MAX], deny_n[AUTH_RULES_MAX];
    err.status = 0;
    if (auth_rules_normalize(allow, allow_n) || auth_rules_normalize(deny, deny_n) ||
        policy_rules_valid(allow_n, &err) || policy_rules_valid(deny_n, &err)) {
        fprintf(stderr, "tollgate: --allow/--deny: comma-separated command names and "
                "@categories%s%s\n", err.status ? ": " : "", err.status ? err.msg : "");
        return 2;
    }
    if (auth_scope_parse(scope, &rq.scope)) {
        fprintf(stderr, "tollgate: --scope must be rw or ro\n");
        return 2;
    }
    rq.ttl_s = cli_ttl_parse(ttl);
    if (rq.ttl_s < 0) {
        fprintf(stderr, "tollgate: --ttl must look like 30d, 12h, 15m or 3600s\n");
        return 2;
    }
    if (config_validate_serve(cfg, &err)) {
        fprintf(stderr, "tollgate: %s\n", err.msg);
        return 2;
    }
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    cJSON *o = store_token_create(db, cfg, NULL, &rq, NULL, &err);
    sqlite3_close(db);
    if (!o && err.status == 503) { /* the keys: a usage error, as before */
        fprintf(stderr, "tollgate: %s\n", err.msg);
        return 2;
    }
    return cli_print(o, json, "token", &err);
}

int cli_token_revoke(const tg_config *cfg, int argc, char **argv)
{
    const char *jti = NULL, *rdb = NULL, *rtenant = NULL;
    tg_err err;
    bool json = cli_flag_take(&argc, argv, "--json");
    cli_opt opts[] = {{"jti", &jti, false}, {"db", &rdb, false}, {"tenant", &rtenant, false}};
    if (cli_opts_parse(argc, argv, opts, 3)) return 2;
    if (!!jti + !!rdb + !!rtenant != 1) {
        fprintf(stderr, "tollgate: token revoke takes one of --jti, --db, --tenant\n");
        return 2;
    }
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    int n = 0;
    int rc = store_token_revoke(db, jti ? TENANCY_BY_JTI : rdb ? TENANCY_BY_DATABASE
                                                              : TENANCY_BY_TENANT,
                                jti ? jti : rdb ? rdb : rtenant, NULL, NULL, &n, &err);
    sqlite3_close(db);
    if (rc) return cli_finish(rc, &err);
    if (json) printf("{\"revoked\": %d}\n", n);
    else printf("revoked %d token(s)\n", n);
    return 0;
}
