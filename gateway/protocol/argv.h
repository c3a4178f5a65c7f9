/*
 * argv.h - turns an HTTP request into Redis command argument vectors.
 *
 * Two request forms (docs/protocol.md): a JSON body (`["set","k","v"]`, or a
 * 2-D array for /pipeline and /multi-exec), and the path form
 * (`/set/k/v?EX=10`, each segment percent-decoded, a POST body appended as
 * the last argument, query parameters appended as NAME VALUE).
 *
 * JSON is parsed by a small dedicated parser rather than a DOM: arguments
 * must keep embedded NUL bytes (`"\u0000"`) and numbers must keep their
 * exact text, and the hot path should not build a tree. Everything is
 * allocated in the caller's arena. Pure functions, thread-safe.
 */
#ifndef TG_ARGV_H
#define TG_ARGV_H

#include <stdbool.h>
#include <stddef.h>

#include "common/arena.h"
#include "common/err.h"

typedef struct tg_cmd {
    int argc;
    char **argv;         /* argv[i] has lens[i] bytes (+ NUL, not counted) */
    size_t *lens;
} tg_cmd;

typedef struct tg_cmdlist {
    tg_cmd *cmds;
    int n;
} tg_cmdlist;

/* Parses body as one command (`pipeline` false) or a list of commands.
 * Returns 0, or -1 with a 400 err saying what is wrong and where. */
int argv_parse_json(arena *a, const char *body, size_t len, bool pipeline,
                    tg_cmdlist *out, tg_err *err);

typedef struct tg_query_arg {
    const char *key;     /* still percent-encoded */
    const char *value;   /* still percent-encoded; NULL for `?NX` */
} tg_query_arg;

/* Parses the path form. path starts with '/'; body (may be NULL) is
 * appended when blen > 0; query args other than _token follow. */
int argv_parse_path(arena *a, const char *path, const char *body, size_t blen,
                    const tg_query_arg *q, int nq, tg_cmd *out, tg_err *err);

/* Percent-decodes s[0..n) into the arena; plus_space turns '+' into ' '
 * (query strings). -1 with err on a malformed escape. */
int argv_pct_decode(arena *a, const char *s, size_t n, bool plus_space,
                    char **out, size_t *outlen, tg_err *err);

#endif
