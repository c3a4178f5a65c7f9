/*
 * usage.c - `tollgate usage export` (a period's statement, CSV or JSON, on
 * stdout) and `tollgate usage close` (freezes a period, billing/usage.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "billing/period.h"
#include "billing/usage.h"
#include "cli/cli.h"
#include "common/buf.h"

/* --period (and, with format non-NULL, --format) into *month and *f.
 * Returns 0, or 2 (the exit status) after printing what is wrong. */
static int period_args(int argc, char **argv, const char **period, const char **format,
                       int *month, usage_format *f)
{
    const char *fmt = "csv";
    cli_opt opts[] = {{"period", period, true}, {"format", &fmt, false}};
    if (cli_opts_parse(argc, argv, opts, format ? 2 : 1)) return 2;
    *month = period_parse(*period);
    if (*month < 0) {
        fprintf(stderr, "tollgate: --period must look like 2026-11\n");
        return 2;
    }
    if (usage_format_parse(fmt, f)) {
        fprintf(stderr, "tollgate: --format must be csv or json\n");
        return 2;
    }
    if (format) *format = fmt;
    return 0;
}

int cli_usage_export(const tg_config *cfg, int argc, char **argv)
{
    const char *period = NULL, *format = NULL;
    int month;
    usage_format f;
    tg_err err;
    if (period_args(argc, argv, &period, &format, &month, &f)) return 2;
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    buf out;
    buf_init(&out);
    int rc = usage_export(db, month, f, &out, &err);
    if (rc == 0 && fwrite(out.data, 1, out.len, stdout) != out.len) rc = -1;
    buf_release(&out);
    sqlite3_close(db);
    return cli_finish(rc, &err);
}

int cli_usage_close(const tg_config *cfg, int argc, char **argv)
{
    const char *period = NULL;
    int month;
    usage_format f;
    tg_err err;
    bool force = cli_flag_take(&argc, argv, "--force");
    if (period_args(argc, argv, &period, NULL, &month, &f)) return 2;
    sqlite3 *db = cli_state_open(cfg, true);
    if (!db) return 1;
    int rc = usage_close(db, month, (int64_t)time(NULL), cfg->usage_close_grace_s, force, &err);
    if (rc == 0) printf("closed %s\n", period);
    sqlite3_close(db);
    return cli_finish(rc, &err);
}
