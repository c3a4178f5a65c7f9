/*
 * common.c - helpers shared by the subcommands: option parsing, TTLs, exit
 * statuses, opening the state database. Contracts in cli.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "migrations/migrate.h"

int cli_opts_parse(int argc, char **argv, cli_opt *opts, int nopts)
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

bool cli_flag_take(int *argc, char **argv, const char *flag)
{
    for (int i = 0; i < *argc; i++)
        if (!strcmp(argv[i], flag)) {
            memmove(argv + i, argv + i + 1, (size_t)(*argc - i - 1) * sizeof *argv);
            (*argc)--;
            return true;
        }
    return false;
}

long long cli_ttl_parse(const char *s)
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

int cli_finish(int rc, const tg_err *err)
{
    if (rc) fprintf(stderr, "tollgate: %s\n", err->msg);
    return rc ? 1 : 0;
}

int cli_token_print(char *tok, const tg_err *err)
{
    if (!tok) return cli_finish(-1, err);
    printf("%s\n", tok);
    free(tok);
    return 0;
}

sqlite3 *cli_state_open(const tg_config *cfg, bool quiet)
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

int cli_print(cJSON *o, bool json, const char *field, const tg_err *err)
{
    if (!o) return cli_finish(-1, err);
    if (json) {
        char *text = cJSON_Print(o);
        printf("%s\n", text);
        free(text);
    } else if (field) {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, field));
        printf("%s\n", v ? v : "");
    }
    cJSON_Delete(o);
    return 0;
}
