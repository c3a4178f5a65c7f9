/*
 * token.c - `tollgate token create` (a signed JWT for one database, its
 * row in the tokens table) and `tollgate token revoke` (by token, database
 * or tenant; running gateways refuse them within AUTH_RECHECK_S).
 */
#include <stdio.h>
#include <stdlib.h>

#include "auth/jwt.h"
#include "auth/keys.h"
#include "auth/tenancy.h"
#include "cli/cli.h"
#include "gateway/policy/policy.h"

int cli_token_create(const tg_config *cfg, int argc, char **argv)
{
    const char *dbid = NULL, *scope = "rw", *ttl = "30d", *kid = NULL, *allow = "", *deny = "";
    const char *rate = NULL;
    tg_err err;
    cli_opt opts[] = {{"db", &dbid, true},  {"scope", &scope, false}, {"ttl", &ttl, false},
                      {"kid", &kid, false}, {"allow", &allow, false}, {"deny", &deny, false},
                      {"rate-limit", &rate, false}};
    if (cli_opts_parse(argc, argv, opts, 7)) return 2;
    long long rate_limit = 0;
    if (rate) {
        char *end;
        rate_limit = strtoll(rate, &end, 10);
        if (end == rate || *end || rate_limit < 1 || rate_limit > 1000000000) {
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
    auth_scope sc;
    if (auth_scope_parse(scope, &sc)) {
        fprintf(stderr, "tollgate: --scope must be rw or ro\n");
        return 2;
    }
    long long secs = cli_ttl_parse(ttl);
    if (secs < 0) {
        fprintf(stderr, "tollgate: --ttl must look like 30d, 12h, 15m or 3600s\n");
        return 2;
    }
    if (config_validate_serve(cfg, &err)) {
        fprintf(stderr, "tollgate: %s\n", err.msg);
        return 2;
    }
    auth_keys_opts ko;
    auth_keys_opts_from_config(cfg, &ko);
    auth_keys *keys = auth_keys_load(&ko, &err);
    const auth_key *signer = keys ? auth_keys_signer(keys, kid, &err) : NULL;
    if (!signer) {
        fprintf(stderr, "tollgate: %s\n", err.msg);
        auth_keys_free(keys);
        return 2;
    }
    sqlite3 *db = cli_state_open(cfg, true);
    auth_claims c;
    int rc = db ? tenancy_token_issue_limited(db, dbid, sc, secs, allow_n, deny_n,
                                                      rate_limit, &c, &err) : -1;
    sqlite3_close(db);
    char *tok = rc ? NULL : auth_jwt_sign(signer, &c, &err);
    auth_keys_free(keys);
    if (!db) return 1;
    return cli_token_print(tok, &err);
}

int cli_token_revoke(const tg_config *cfg, int argc, char **argv)
{
    const char *jti = NULL, *rdb = NULL, *rtenant = NULL;
    tg_err err;
    cli_opt opts[] = {{"jti", &jti, false}, {"db", &rdb, false}, {"tenant", &rtenant, false}};
    if (cli_opts_parse(argc, argv, opts, 3)) return 2;
    if (!!jti + !!rdb + !!rtenant != 1) {
        fprintf(stderr, "tollgate: token revoke takes one of --jti, --db, --tenant\n");
        return 2;
    }
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    int n = 0;
    int rc = tenancy_tokens_revoke(db, jti ? TENANCY_BY_JTI : rdb ? TENANCY_BY_DATABASE
                                                                 : TENANCY_BY_TENANT,
                                   jti ? jti : rdb ? rdb : rtenant, &n, &err);
    sqlite3_close(db);
    if (rc) return cli_finish(rc, &err);
    printf("revoked %d token(s)\n", n);
    return 0;
}
