/*
 * main.c - the tollgate binary: git-style subcommands.
 *
 *   serve | migrate | tenant create | db create | db delete |
 *   token create | token revoke | usage export | usage close |
 *   plan assign | admin-token create | config | help
 *
 * Settings (config.h) apply to every subcommand; each subcommand has its
 * own small option table below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/jwt.h"
#include "auth/keys.h"
#include "gateway/redis/command_table.h"
#include "auth/admin_token.h"
#include "billing/period.h"
#include "billing/usage.h"
#include "auth/tenancy.h"
#include "gateway/policy/policy.h"
#include "gateway/redis/setup.h"
#include "migrations/migrate.h"
#include "common/config.h"
#include "gateway/gateway.h"

#define TOLLGATE_VERSION "0.1.0"

typedef struct opt {
    const char *name;      /* --name */
    const char **value;
    bool required;
} opt;

/* A subcommand's exit status: 0, or 1 after printing err. */
static int finish(int rc, const tg_err *err)
{
    if (rc) fprintf(stderr, "tollgate: %s\n", err->msg);
    return rc ? 1 : 0;
}

/* Prints and frees a new token; NULL: the error instead (exit status 1). */
static int print_token(char *tok, const tg_err *err)
{
    if (!tok) return finish(-1, err);
    printf("%s\n", tok);
    free(tok);
    return 0;
}

static int parse_opts(int argc, char **argv, opt *opts, int nopts)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        int k = 0;
        for (; k < nopts; k++)
            if (!strncmp(a, "--", 2) && strlen(opts[k].name) == nl - 2 &&
                !strncmp(a + 2, opts[k].name, nl - 2))
                break;
        if (k == nopts) {
            fprintf(stderr, "tollgate: unknown argument '%s'\n", a);
            return -1;
        }
        if (eq) *opts[k].value = eq + 1;
        else if (i + 1 < argc) *opts[k].value = argv[++i];
        else {
            fprintf(stderr, "tollgate: --%s needs a value\n", opts[k].name);
            return -1;
        }
    }
    for (int k = 0; k < nopts; k++)
        if (opts[k].required && !*opts[k].value) {
            fprintf(stderr, "tollgate: --%s is required\n", opts[k].name);
            return -1;
        }
    return 0;
}

/* "30d", "12h", "15m", "90s" or plain seconds. */
static long long parse_ttl(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || v <= 0) return -1;
    long long mul = 1;
    if (*end == 'd') mul = 86400;
    else if (*end == 'h') mul = 3600;
    else if (*end == 'm') mul = 60;
    else if (*end == 's' || *end == '\0') mul = 1;
    else return -1;
    if (*end && end[1]) return -1;
    if (v > 3650LL * 86400 / mul) return -1;
    return v * mul;
}

static sqlite3 *open_state(const tg_config *cfg, bool quiet)
{
    tg_err err;
    sqlite3 *db = migrate_open(cfg->sqlite_path, &err);
    if (!db) {
        fprintf(stderr, "tollgate: %s\n", err.msg);
        return NULL;
    }
    int applied;
    if (migrate_apply(db, &applied, &err)) {
        fprintf(stderr, "tollgate: %s\n", err.msg);
        sqlite3_close(db);
        return NULL;
    }
    if (!quiet && applied)
        fprintf(stderr, "tollgate: applied %d migration(s) to %s\n", applied,
                cfg->sqlite_path);
    return db;
}

static int cmd_migrate(const tg_config *cfg, int argc, char **argv)
{
    if (parse_opts(argc, argv, NULL, 0)) return 2;
    sqlite3 *db = open_state(cfg, true);
    if (!db) return 1;
    sqlite3_close(db);
    printf("schema up to date (%d migrations known)\n", tg_migrations_count);
    return 0;
}

static int cmd_serve(const tg_config *cfg, int argc, char **argv)
{
    tg_err err;
    if (parse_opts(argc, argv, NULL, 0)) return 2;
    if (config_validate_serve(cfg, &err)) {
        fprintf(stderr, "tollgate: %s\n", err.msg);
        return 2;
    }
    sqlite3 *db = open_state(cfg, false);
    if (!db) return 1;
    sqlite3_close(db);
    return gateway_serve(cfg);
}

static int cmd_tenant(const tg_config *cfg, int argc, char **argv)
{
    const char *name = NULL;
    opt opts[] = {{"name", &name, true}};
    if (argc < 1 || strcmp(argv[0], "create") != 0) {
        fprintf(stderr, "usage: tollgate tenant create --name NAME\n");
        return 2;
    }
    if (parse_opts(argc - 1, argv + 1, opts, 1)) return 2;
    sqlite3 *db = open_state(cfg, true);
    if (!db) return 1;
    char id[AUTH_ID_MAX];
    tg_err err;
    int rc = tenancy_tenant_create(db, name, id, &err);
    sqlite3_close(db);
    if (rc) return finish(rc, &err);
    printf("%s\n", id);
    return 0;
}

/* ACL passwords derive from the first JWT key, as in `serve`. */
static int acl_secret_init(const tg_config *cfg, tg_err *err)
{
    auth_keys_opts ko = {cfg->jwt_secret, config_jwt_alg_names[cfg->jwt_alg], cfg->jwt_kid,
                         cfg->jwt_keys_file, cfg->jwt_issuer, cfg->jwt_audience, cfg->jwt_leeway_s};
    auth_keys *keys = auth_keys_load(&ko, err);
    if (!keys) return -1;
    const auth_key *k0 = &auth_keys_ring(keys)->keys[0];
    backend_setup_init(k0->secret, k0->secret_len, policy_annotate);
    auth_keys_free(keys);
    return 0;
}

static int cmd_db_create(const tg_config *cfg, int argc, char **argv)
{
    const char *tenant = NULL, *name = NULL, *url = NULL, *index = NULL, *iso = "dbindex";
    tg_err err;
    opt opts[] = {{"tenant", &tenant, true}, {"name", &name, true},
                  {"redis-url", &url, false}, {"db-index", &index, false},
                  {"isolation", &iso, false}};
    if (parse_opts(argc, argv, opts, 5)) return 2;
    int idx = -1;
    if (index) {
        char *end;
        long v = strtol(index, &end, 10);
        if (*end || v < 0 || v > 100000) {
            fprintf(stderr, "tollgate: --db-index must be a number >= 0\n");
            return 2;
        }
        idx = (int)v;
    }
    bool shared = !strcmp(iso, "prefix");
    if (!shared && strcmp(iso, "dbindex")) {
        fprintf(stderr, "tollgate: --isolation must be dbindex or prefix\n");
        return 2;
    }
    if (shared && acl_secret_init(cfg, &err)) {
        fprintf(stderr, "tollgate: %s\n", err.msg);
        return 2;
    }
    url = url ? url : cfg->redis_url;
    sqlite3 *db = open_state(cfg, true);
    if (!db) return 1;
    char newid[AUTH_ID_MAX];
    int rc = tenancy_db_create(db, tenant, name, url, idx,
                               shared ? TENANCY_SHARED : TENANCY_DEDICATED, newid, &err);
    sqlite3_close(db);
    if (rc) return finish(rc, &err);
    char prefix[AUTH_ID_MAX + 1];
    snprintf(prefix, sizeof prefix, "%s:", newid);
    /* The gateway makes sure of the user on first use too: a backend that
     * is down now is not an error. */
    if (shared && backend_db_user_create(url, newid, prefix,
                                         (int)cfg->redis_connect_timeout_ms, &err))
        fprintf(stderr, "tollgate: warning: %s (the gateway creates the user on "
                "first use)\n", err.msg);
    printf("%s\n", newid);
    return 0;
}

/* Deleting: the row first (tokens refused within AUTH_RECHECK_S), then,
 * once no gateway can still write, the data on the backend, then the slot
 * is freed. If the backend cannot be reached the slot stays taken and the
 * command can be run again. */
static int cmd_db_delete(const tg_config *cfg, int argc, char **argv)
{
    const char *id = NULL;
    tg_err err;
    opt opts[] = {{"db", &id, true}};
    if (parse_opts(argc, argv, opts, 1)) return 2;
    sqlite3 *db = open_state(cfg, true);
    if (!db) return 1;
    tenancy_db_row row;
    int rc = tenancy_db_get(db, id, &row, &err);
    if (!rc && !row.deleted) {
        rc = tenancy_db_delete(db, id, &err);
        if (!rc) { /* cached tokens expire everywhere */
            struct timespec ts = {AUTH_RECHECK_S, 300 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (!rc && (acl_secret_init(cfg, &err) ||
                backend_db_purge(row.redis_url, row.db_index, id, row.key_prefix,
                                 (int)cfg->redis_connect_timeout_ms, &err))) {
        fprintf(stderr, "tollgate: database %s is deleted, but its data is still on its "
                "backend (%s); run `tollgate db delete --db %s` again\n", id, err.msg, id);
        sqlite3_close(db);
        return 1;
    }
    if (!rc) rc = tenancy_db_purged(db, id, &err);
    sqlite3_close(db);
    return finish(rc, &err);
}

static int cmd_db(const tg_config *cfg, int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "create")) return cmd_db_create(cfg, argc - 1, argv + 1);
    if (argc >= 1 && !strcmp(argv[0], "delete")) return cmd_db_delete(cfg, argc - 1, argv + 1);
    fprintf(stderr, "usage: tollgate db create --tenant ID --name NAME "
            "[--redis-url URL] [--db-index N] [--isolation dbindex|prefix]\n"
            "       tollgate db delete --db ID\n");
    return 2;
}

static int cmd_token(const tg_config *cfg, int argc, char **argv)
{
    const char *dbid = NULL, *scope = "rw", *ttl = "30d", *jti = NULL;
    tg_err err;
    if (argc >= 1 && !strcmp(argv[0], "create")) {
        const char *kid = NULL, *allow = "", *deny = "";
        opt opts[] = {{"db", &dbid, true},     {"scope", &scope, false}, {"ttl", &ttl, false},
                      {"kid", &kid, false},    {"allow", &allow, false}, {"deny", &deny, false}};
        if (parse_opts(argc - 1, argv + 1, opts, 6)) return 2;
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
        long long secs = parse_ttl(ttl);
        if (secs < 0) {
            fprintf(stderr, "tollgate: --ttl must look like 30d, 12h, 15m or 3600s\n");
            return 2;
        }
        if (config_validate_serve(cfg, &err)) {
            fprintf(stderr, "tollgate: %s\n", err.msg);
            return 2;
        }
        auth_keys_opts ko = {cfg->jwt_secret, config_jwt_alg_names[cfg->jwt_alg], cfg->jwt_kid,
                             cfg->jwt_keys_file, cfg->jwt_issuer, cfg->jwt_audience,
                             cfg->jwt_leeway_s};
        auth_keys *keys = auth_keys_load(&ko, &err);
        const auth_key *signer = keys ? auth_keys_signer(keys, kid, &err) : NULL;
        if (!signer) {
            fprintf(stderr, "tollgate: %s\n", err.msg);
            auth_keys_free(keys);
            return 2;
        }
        sqlite3 *db = open_state(cfg, true);
        auth_claims c;
        int rc = db ? tenancy_token_issue_rules(db, dbid, sc, secs, allow_n, deny_n, &c, &err) : -1;
        sqlite3_close(db);
        char *tok = rc ? NULL : auth_jwt_sign(signer, &c, &err);
        auth_keys_free(keys);
        if (!db) return 1;
        return print_token(tok, &err);
    }
    if (argc >= 1 && !strcmp(argv[0], "revoke")) {
        const char *rdb = NULL, *rtenant = NULL;
        opt opts[] = {{"jti", &jti, false}, {"db", &rdb, false}, {"tenant", &rtenant, false}};
        if (parse_opts(argc - 1, argv + 1, opts, 3)) return 2;
        if (!!jti + !!rdb + !!rtenant != 1) {
            fprintf(stderr, "tollgate: token revoke takes one of --jti, --db, --tenant\n");
            return 2;
        }
        sqlite3 *db = open_state(cfg, true);
        if (!db) return 1;
        int n = 0;
        int rc = tenancy_tokens_revoke(db, jti ? TENANCY_BY_JTI : rdb ? TENANCY_BY_DATABASE
                                                                     : TENANCY_BY_TENANT,
                                       jti ? jti : rdb ? rdb : rtenant, &n, &err);
        sqlite3_close(db);
        if (rc) return finish(rc, &err);
        printf("revoked %d token(s)\n", n);
        return 0;
    }
    fprintf(stderr, "usage: tollgate token create --db ID [--scope rw|ro] [--ttl 30d] [--kid K]\n"
            "       tollgate token revoke --jti JTI | --db ID | --tenant ID\n");
    return 2;
}

/* Removes a bare flag (e.g. --force) from argv; returns whether it was there. */
static bool take_flag(int *argc, char **argv, const char *flag)
{
    for (int i = 0; i < *argc; i++)
        if (!strcmp(argv[i], flag)) {
            memmove(argv + i, argv + i + 1, (size_t)(*argc - i - 1) * sizeof *argv);
            (*argc)--;
            return true;
        }
    return false;
}

static int cmd_usage(const tg_config *cfg, int argc, char **argv)
{
    const char *period = NULL, *format = "csv";
    tg_err err;
    bool export = argc >= 1 && !strcmp(argv[0], "export");
    bool close = argc >= 1 && !strcmp(argv[0], "close");
    if (!export && !close) {
        fprintf(stderr, "usage: tollgate usage export --period YYYY-MM [--format csv|json]\n"
                "       tollgate usage close --period YYYY-MM [--force]\n");
        return 2;
    }
    argc--;
    argv++;
    bool force = close && take_flag(&argc, argv, "--force");
    opt opts[] = {{"period", &period, true}, {"format", &format, false}};
    if (parse_opts(argc, argv, opts, export ? 2 : 1)) return 2;
    int month = period_parse(period);
    usage_format f;
    if (month < 0) {
        fprintf(stderr, "tollgate: --period must look like 2026-11\n");
        return 2;
    }
    if (usage_format_parse(format, &f)) {
        fprintf(stderr, "tollgate: --format must be csv or json\n");
        return 2;
    }
    sqlite3 *db = open_state(cfg, true);
    if (!db) return 1;
    int rc;
    if (export) {
        buf out;
        buf_init(&out);
        rc = usage_export(db, month, f, &out, &err);
        if (rc == 0 && fwrite(out.data, 1, out.len, stdout) != out.len) rc = -1;
        buf_release(&out);
    } else {
        rc = usage_close(db, month, (int64_t)time(NULL), cfg->usage_close_grace_s, force, &err);
        if (rc == 0) printf("closed %s\n", period);
    }
    sqlite3_close(db);
    return finish(rc, &err);
}

static int cmd_plan(const tg_config *cfg, int argc, char **argv)
{
    const char *tenant = NULL, *plan = NULL, *from = NULL;
    tg_err err;
    opt opts[] = {{"tenant", &tenant, true}, {"plan", &plan, true}, {"from", &from, false}};
    if (argc < 1 || strcmp(argv[0], "assign") != 0) {
        fprintf(stderr, "usage: tollgate plan assign --tenant ID --plan ID [--from UNIX_SECONDS]\n");
        return 2;
    }
    if (parse_opts(argc - 1, argv + 1, opts, 3)) return 2;
    long long at = (long long)time(NULL);
    if (from) {
        char *end;
        at = strtoll(from, &end, 10);
        if (*end || at < 0) {
            fprintf(stderr, "tollgate: --from must be Unix seconds\n");
            return 2;
        }
    }
    sqlite3 *db = open_state(cfg, true);
    if (!db) return 1;
    int rc = usage_plan_assign(db, tenant, plan, at, &err);
    sqlite3_close(db);
    return finish(rc, &err);
}

static int cmd_admin_token(const tg_config *cfg, int argc, char **argv)
{
    const char *ttl = "1h";
    tg_err err;
    opt opts[] = {{"ttl", &ttl, false}};
    if (argc < 1 || strcmp(argv[0], "create") != 0) {
        fprintf(stderr, "usage: tollgate admin-token create [--ttl 1h]\n");
        return 2;
    }
    if (parse_opts(argc - 1, argv + 1, opts, 1)) return 2;
    long long secs = parse_ttl(ttl);
    if (secs < 0) {
        fprintf(stderr, "tollgate: --ttl must look like 30d, 12h, 15m or 3600s\n");
        return 2;
    }
    return print_token(admin_token_create(cfg->admin_jwt_secret, secs, time(NULL), &err), &err);
}

static void usage(void)
{
    printf("tollgate %s - a pay-per-request REST gateway for Redis\n\n"
           "usage: tollgate <command> [settings] [options]\n\n"
           "commands:\n"
           "  serve                         run the HTTP(S) gateway\n"
           "  migrate                       create or update the SQLite schema\n"
           "  tenant create --name N        print the new tenant id\n"
           "  db create --tenant ID --name N [--redis-url URL] [--db-index I]\n"
           "            [--isolation dbindex|prefix]\n"
           "                                print the new database id\n"
           "  db delete --db ID\n"
           "  token create --db ID [--scope rw|ro] [--ttl 30d] [--kid K]\n"
           "               [--allow get,set,@read] [--deny @dangerous]\n"
           "                                print a signed JWT for the database\n"
           "  token revoke --jti JTI | --db ID | --tenant ID\n"
           "                                refused on running gateways within 1 s\n"
           "  usage export --period YYYY-MM [--format csv|json]\n"
           "                                print the period's usage statement\n"
           "  usage close --period YYYY-MM [--force]\n"
           "                                freeze the period (after usage_close_grace_s)\n"
           "  plan assign --tenant ID --plan ID [--from UNIX_SECONDS]\n"
           "  admin-token create [--ttl 1h]  print an admin JWT (admin_jwt_secret)\n"
           "  help                          this text and the settings reference\n\n",
           TOLLGATE_VERSION);
    config_print_help();
}

typedef int (*subcommand_fn)(const tg_config *cfg, int argc, char **argv);

static const struct {
    const char *name;
    subcommand_fn fn;
} subcommands[] = {
    {"serve", cmd_serve}, {"migrate", cmd_migrate}, {"tenant", cmd_tenant},
    {"db", cmd_db},       {"token", cmd_token},
    {"usage", cmd_usage}, {"plan", cmd_plan},   {"admin-token", cmd_admin_token},
};

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "-h")) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("tollgate %s\n", TOLLGATE_VERSION);
        return 0;
    }
    tg_config cfg;
    tg_err err;
    char **rest = calloc((size_t)argc, sizeof *rest);
    int nrest = 0, rc = 2;
    if (!rest) return 1;
    if (config_load(&cfg, argc - 2, argv + 2, rest, &nrest, &err)) {
        fprintf(stderr, "tollgate: invalid setting: %s\n", err.msg);
        goto out;
    }
    size_t i = 0;
    for (; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (!strcmp(argv[1], subcommands[i].name)) break;
    if (i == sizeof subcommands / sizeof subcommands[0]) {
        fprintf(stderr, "tollgate: unknown command '%s' (try `tollgate help`)\n", argv[1]);
        goto out;
    }
    rc = subcommands[i].fn(&cfg, nrest, rest);
out:
    config_free(&cfg);
    free(rest);
    return rc;
}
