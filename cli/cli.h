/*
 * cli.h - the tollgate binary's subcommands and the helpers they share.
 *
 * One file per noun (serve.c, migrate.c, tenant.c, db.c, token.c, usage.c,
 * plan.c, admin_token.c) defines that noun's handlers; main.c holds the one
 * table (noun, verb, synopsis, help, handler) that dispatches to them and
 * from which every usage text is generated.
 *
 * A handler gets the loaded settings and the arguments after its noun and
 * verb (settings flags already removed by config_load), and returns the
 * process's exit status: 0, 1 when the action failed, 2 on a usage error.
 * Every write goes through the control plane's store
 * (gateway/control/store.h), the admin API's too; `--json` prints the
 * store's answer as the API would.
 * Single-threaded: the CLI runs one handler, then exits.
 */
#ifndef TG_CLI_H
#define TG_CLI_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <sqlite3.h>

#include "common/config.h"
#include "common/err.h"

/* A handler's signature; cfg is NULL for rows that need no settings. */
typedef int (*cli_handler)(const tg_config *cfg, int argc, char **argv);

/* ==== Handlers, one group per noun file ==== */

int cli_serve(const tg_config *cfg, int argc, char **argv);
int cli_migrate(const tg_config *cfg, int argc, char **argv);
int cli_tenant_create(const tg_config *cfg, int argc, char **argv);
int cli_tenant_budget(const tg_config *cfg, int argc, char **argv);
int cli_tenant_delete(const tg_config *cfg, int argc, char **argv);
int cli_tenant_token_create(const tg_config *cfg, int argc, char **argv);
int cli_tenant_token_revoke(const tg_config *cfg, int argc, char **argv);
int cli_db_create(const tg_config *cfg, int argc, char **argv);
int cli_db_delete(const tg_config *cfg, int argc, char **argv);
int cli_db_limits(const tg_config *cfg, int argc, char **argv);
int cli_db_usage(const tg_config *cfg, int argc, char **argv);
int cli_token_create(const tg_config *cfg, int argc, char **argv);
int cli_token_revoke(const tg_config *cfg, int argc, char **argv);
int cli_usage_export(const tg_config *cfg, int argc, char **argv);
int cli_usage_close(const tg_config *cfg, int argc, char **argv);
int cli_plan_assign(const tg_config *cfg, int argc, char **argv);
int cli_plan_create(const tg_config *cfg, int argc, char **argv);
int cli_plan_update(const tg_config *cfg, int argc, char **argv);
int cli_admin_token_create(const tg_config *cfg, int argc, char **argv);

/* ==== Shared helpers (common.c) ==== */

/* One --name option: *value is set to the argument (pointing into argv). */
typedef struct cli_opt {
    const char *name;      /* without the leading -- */
    const char **value;    /* keeps its default when the option is absent */
    bool required;
} cli_opt;

/* Parses --name value / --name=value against opts[0..nopts). Returns 0, or
 * -1 after printing what is wrong (unknown, valueless or missing option). */
int cli_opts_parse(int argc, char **argv, cli_opt *opts, int nopts);

/* Removes a bare flag (e.g. --force) from argv; true if it was there. */
bool cli_flag_take(int *argc, char **argv, const char *flag);

/* "30d", "12h", "15m", "90s" or plain seconds, up to ten years; -1 if not. */
long long cli_ttl_parse(const char *s);

/* Parses fixed[0..nfixed) (at most 8) plus one --<limit> flag per quota
 * limit (billing/limits.h; values: number, none = inherit, unlimited)
 * into l (LIMIT_KEEP where absent). 0, or -1 after printing why. */
struct limit_set;
int cli_limits_parse(int argc, char **argv, cli_opt *fixed, int nfixed, struct limit_set *l);

/* A handler's exit status for an action's rc: 0, or 1 after printing err. */
int cli_finish(int rc, const tg_err *err);

/* A store answer (gateway/control/store.h): with json the whole object,
 * else its string field (NULL: nothing); frees o. NULL o: prints err (1). */
int cli_print(cJSON *o, bool json, const char *field, const tg_err *err);

/* Prints and frees a new token (0); NULL: prints err instead (1). */
int cli_token_print(char *tok, const tg_err *err);

/* The state database, migrated; NULL after printing why. Unless quiet,
 * says how many migrations were applied. The caller closes it. */
sqlite3 *cli_state_open(const tg_config *cfg, bool quiet);

#endif
