/*
 * main.c - the tollgate binary: git-style subcommands, `tollgate NOUN
 * [VERB] [settings] [options]`.
 *
 * Settings (common/config.h) apply to every subcommand and are taken out of
 * the arguments first; what is left goes to the subcommand, found in the one
 * table below (noun, verb, synopsis, help, handler). `tollgate help`, the
 * error on an unknown command and a noun's own usage error are all printed
 * from that table, so a new subcommand is one row (and its handler in its
 * noun's file, declared in cli/cli.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/config.h"

#define TOLLGATE_VERSION "0.1.0"

typedef struct cli_command {
    const char *noun;
    const char *verb;      /* NULL: the noun alone is the command */
    const char *synopsis;  /* its options, "" for none */
    const char *help;      /* one line for `tollgate help` */
    cli_handler fn;
    bool settings;         /* false: runs before (and without) settings */
} cli_command;

static int cmd_help(const tg_config *cfg, int argc, char **argv);
static int cmd_version(const tg_config *cfg, int argc, char **argv);

/* Rows of one noun are adjacent; the order is `tollgate help`'s. */
static const cli_command commands[] = {
    {"serve", NULL, "[--user NAME]", "run the HTTP(S) gateway", cli_serve, true},
    {"migrate", NULL, "", "create or update the SQLite schema", cli_migrate, true},
    {"tenant", "create", "--name NAME", "print the new tenant id", cli_tenant_create, true},
    {"tenant", "budget", "--tenant ID --monthly-micros N|none",
     "cap the period's priced cost", cli_tenant_budget, true},
    {"tenant", "delete", "--tenant ID", "delete it; its tokens refused within 1 s",
     cli_tenant_delete, true},
    {"tenant-token", "create", "--tenant ID [--ttl 1h]",
     "print a tenant JWT for the dashboard API", cli_tenant_token_create, true},
    {"tenant-token", "revoke", "--jti JTI", "refuse one tenant token from its next request",
     cli_tenant_token_revoke, true},
    {"db", "create",
     "--tenant ID --name NAME [--redis-url URL] [--db-index N] [--isolation dbindex|prefix|server]",
     "print the new database id", cli_db_create, true},
    {"db", "delete", "--db ID", "delete the database and its data on its backend",
     cli_db_delete, true},
    {"db", "limits", "--db ID [plan create's limit flags, N, unlimited or none]",
     "override the plan's limits (none: inherit again)", cli_db_limits, true},
    {"db", "usage", "--db ID", "consumption against each limit, as JSON", cli_db_usage, true},
    {"token", "create",
     "--db ID [--scope rw|ro] [--ttl 30d] [--kid K] [--allow get,set,@read] "
     "[--deny @dangerous] [--rate-limit N]",
     "print a signed JWT for the database", cli_token_create, true},
    {"token", "revoke", "--jti JTI | --db ID | --tenant ID",
     "refused on running gateways within 1 s", cli_token_revoke, true},
    {"usage", "export", "--period YYYY-MM [--format csv|json]",
     "print the period's usage statement", cli_usage_export, true},
    {"usage", "close", "--period YYYY-MM [--force]",
     "freeze the period (after usage_close_grace_s)", cli_usage_close, true},
    {"plan", "assign", "--tenant ID --plan ID [--from UNIX_SECONDS]",
     "put the tenant on the plan from that time on", cli_plan_assign, true},
    {"plan", "create",
     "--plan ID --name NAME [--currency C] [--command-price-micros N] "
     "[--command-price-per N] [--included-commands N] [--request-price-micros N] "
     "[--request-price-per N] [--bandwidth-price-micros N] [--bandwidth-price-per N] "
     "[--included-bandwidth-bytes N] [--storage-price-micros N] [--storage-price-per N] "
     "[--commands-per-second N] [--burst N] [--requests-per-second N] [--requests-burst N] "
     "[--daily-commands N] [--monthly-commands N] [--monthly-bandwidth-bytes N] "
     "[--request-bytes N] [--record-bytes N] [--response-bytes N] "
     "[--concurrent-requests N] [--data-bytes N]",
     "a plan (unset prices: the default plan's)", cli_plan_create, true},
    {"plan", "update", "--plan ID [--name NAME] [plan create's flags, N or none]",
     "change a plan (gateways: within 1 s)", cli_plan_update, true},
    {"admin-token", "create", "[--ttl 1h]", "print an admin JWT (admin_jwt_secret)",
     cli_admin_token_create, true},
    {"version", NULL, "", "print the version", cmd_version, false},
    {"help", NULL, "", "this text and the settings reference", cmd_help, false},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* ==== Usage text, generated from the table ==== */

enum { HELP_COL = 32, WRAP_COL = 68 };

/* Prints one row of the command list: the command and its synopsis
 * wrapped at WRAP_COL (never inside [...]), then its help at HELP_COL. */
static void command_print(FILE *out, const cli_command *c)
{
    int col = fprintf(out, "  %s%s%s", c->noun, c->verb ? " " : "", c->verb ? c->verb : "");
    int indent = col + 1;
    const char *s = c->synopsis;
    while (*s) {
        /* The next word: up to a space outside brackets. */
        size_t n = 0;
        int depth = 0;
        for (; s[n] && (depth > 0 || s[n] != ' '); n++)
            depth += (s[n] == '[') - (s[n] == ']');
        if (col + 1 + (int)n > WRAP_COL && col > indent)
            col = fprintf(out, "\n%*s", indent - 1, "") - 1;
        col += fprintf(out, " %.*s", (int)n, s);
        s += n;
        while (*s == ' ') s++;
    }
    if (col + 2 > HELP_COL) col = fprintf(out, "\n") - 1;
    fprintf(out, "%*s%s\n", HELP_COL - col, "", c->help);
}

/* The header and the command list (not the settings reference). */
static void commands_print(FILE *out)
{
    fprintf(out, "tollgate %s - a pay-per-request REST gateway for Redis\n\n"
            "usage: tollgate <command> [settings] [options]\n"
            "(tenant, db, token, plan and tenant-token commands take --json)\n\ncommands:\n",
            TOLLGATE_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++) command_print(out, &commands[i]);
}

/* A noun's usage error: each of its verbs with its synopsis. */
static void noun_usage_print(const char *noun)
{
    const char *lead = "usage:";
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].noun, noun)) {
            fprintf(stderr, "%-6s tollgate %s %s%s%s\n", lead, noun, commands[i].verb,
                    *commands[i].synopsis ? " " : "", commands[i].synopsis);
            lead = "";
        }
}

static int cmd_help(const tg_config *cfg, int argc, char **argv)
{
    (void)cfg;
    (void)argc;
    (void)argv;
    commands_print(stdout);
    printf("\n");
    config_print_help();
    return 0;
}

static int cmd_version(const tg_config *cfg, int argc, char **argv)
{
    (void)cfg;
    (void)argc;
    (void)argv;
    printf("tollgate %s\n", TOLLGATE_VERSION);
    return 0;
}

/* ==== Dispatch ==== */

/* The row for noun + verb. NULL if the noun is unknown; *noun_known says
 * whether it was (a known noun with an unknown or missing verb). */
static const cli_command *command_find(const char *noun, const char *verb, bool *noun_known)
{
    *noun_known = false;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const cli_command *c = &commands[i];
        if (strcmp(c->noun, noun)) continue;
        *noun_known = true;
        if (!c->verb || (verb && !strcmp(c->verb, verb))) return c;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cmd_help(NULL, 0, NULL);
        return 2;
    }
    const char *noun = argv[1];
    if (!strcmp(noun, "--help") || !strcmp(noun, "-h")) noun = "help";
    else if (!strcmp(noun, "--version")) noun = "version";
    bool known;
    const cli_command *c = command_find(noun, NULL, &known);
    if (c && !c->settings) return c->fn(NULL, argc - 2, argv + 2);

    tg_config cfg;
    tg_err err;
    char **rest = calloc((size_t)argc, sizeof *rest);
    int nrest = 0, rc = 2;
    if (!rest) return 1;
    if (config_load(&cfg, argc - 2, argv + 2, rest, &nrest, &err)) {
        fprintf(stderr, "tollgate: invalid setting: %s\n", err.msg);
        goto out;
    }
    c = command_find(noun, nrest > 0 ? rest[0] : NULL, &known);
    if (!known) {
        fprintf(stderr, "tollgate: unknown command '%s' (`tollgate help` lists the "
                "settings too)\n\n", noun);
        commands_print(stderr);
        goto out;
    }
    if (!c) {
        noun_usage_print(noun);
        goto out;
    }
    int skip = c->verb ? 1 : 0;
    rc = c->fn(&cfg, nrest - skip, rest + skip);
out:
    config_free(&cfg);
    free(rest);
    return rc;
}
