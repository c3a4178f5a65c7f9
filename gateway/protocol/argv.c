/* argv.c - see argv.h: JSON and path forms to argument vectors. */
#include "gateway/protocol/argv.h"

#include <string.h>

#include "common/hex.h"

/* ==== JSON ==== */

typedef struct jp {
    const char *start, *p, *end;
    arena *a;
    tg_err *err;
} jp;

static int jp_fail(jp *j, const char *what)
{
    return tg_fail(j->err, 400, "ERR invalid JSON body at byte %zu: %s",
                   (size_t)(j->p - j->start), what);
}

static void skip_ws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' ||
                             *j->p == '\r'))
        j->p++;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_value(s[i]);
        if (d < 0) return -1;
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *d, unsigned cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xc0 | cp >> 6);
        d[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xe0 | cp >> 12);
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        d[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (char)(0xf0 | cp >> 18);
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    d[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* j->p is at the opening quote. Raw bytes >= 0x20 pass through unchanged,
 * so bytes that are not UTF-8 survive; the decoded text is never longer
 * than the escaped text, which sizes the output. */
static int parse_string(jp *j, char **out, size_t *len)
{
    const char *s = ++j->p;
    bool escaped = false;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c < 0x20) return jp_fail(j, "control character in string");
        if (c == '\\') {
            escaped = true;
            if (++j->p >= j->end) break;
        }
        j->p++;
    }
    if (j->p >= j->end) return jp_fail(j, "unterminated string");
    size_t raw = (size_t)(j->p - s);
    j->p++; /* closing quote */
    if (!escaped) {
        *out = arena_strndup(j->a, s, raw);
        *len = raw;
        return 0;
    }
    char *d = arena_alloc(j->a, raw + 1), *o = d;
    for (const char *q = s; q < s + raw; q++) {
        if (*q != '\\') {
            *o++ = *q;
            continue;
        }
        q++;
        switch (*q) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (s + raw - q < 5 || hex4(q + 1, &cp)) {
                j->p = q;
                return jp_fail(j, "bad \\u escape");
            }
            q += 4;
            if (cp >= 0xd800 && cp <= 0xdbff && s + raw - q >= 7 && q[1] == '\\' &&
                q[2] == 'u' && !hex4(q + 3, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                q += 6;
            } else if (cp >= 0xd800 && cp <= 0xdfff) {
                cp = 0xfffd; /* lone surrogate: not encodable as UTF-8 */
            }
            o += put_utf8(o, cp);
            break;
        }
        default:
            j->p = q;
            return jp_fail(j, "bad escape");
        }
    }
    *o = '\0';
    *out = d;
    *len = (size_t)(o - d);
    return 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Numbers keep their exact text: `10` is "10", `1.50` is "1.50". */
static int parse_number(jp *j, char **out, size_t *len)
{
    const char *s = j->p;
    if (j->p < j->end && *j->p == '-') j->p++;
    if (j->p >= j->end || !is_digit(*j->p)) return jp_fail(j, "bad number");
    if (*j->p == '0') j->p++;
    else while (j->p < j->end && is_digit(*j->p)) j->p++;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (j->p >= j->end || !is_digit(*j->p)) return jp_fail(j, "bad number");
        while (j->p < j->end && is_digit(*j->p)) j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        if (j->p >= j->end || !is_digit(*j->p)) return jp_fail(j, "bad number");
        while (j->p < j->end && is_digit(*j->p)) j->p++;
    }
    *len = (size_t)(j->p - s);
    *out = arena_strndup(j->a, s, *len);
    return 0;
}

static int parse_word(jp *j, const char *w, char **out, size_t *len)
{
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n)) return jp_fail(j, "unexpected token");
    j->p += n;
    *out = (char *)w; /* static text; arena contents are never freed singly */
    *len = n;
    return 0;
}

static int parse_scalar(jp *j, char **out, size_t *len)
{
    switch (*j->p) {
    case '"': return parse_string(j, out, len);
    case 't': return parse_word(j, "true", out, len);
    case 'f': return parse_word(j, "false", out, len);
    /* An undefined argument serialises as null; Redis gets the text. */
    case 'n': return parse_word(j, "null", out, len);
    case '[': return jp_fail(j, "nested array where a command argument was expected");
    case '{': return jp_fail(j, "object where a command argument was expected");
    default:
        if (*j->p == '-' || is_digit(*j->p)) return parse_number(j, out, len);
        return jp_fail(j, "unexpected character");
    }
}

/* Parses `[scalar, ...]` into c. */
static int parse_cmd(jp *j, tg_cmd *c)
{
    skip_ws(j);
    if (j->p >= j->end || *j->p != '[') return jp_fail(j, "expected an array");
    j->p++;
    int cap = 8, n = 0;
    char **argv = arena_alloc(j->a, (size_t)cap * sizeof *argv);
    size_t *lens = arena_alloc(j->a, (size_t)cap * sizeof *lens);
    skip_ws(j);
    if (j->p < j->end && *j->p == ']') return jp_fail(j, "empty command");
    for (;;) {
        skip_ws(j);
        if (j->p >= j->end) return jp_fail(j, "unterminated array");
        if (n == cap) {
            char **na = arena_alloc(j->a, (size_t)cap * 2 * sizeof *na);
            size_t *nl = arena_alloc(j->a, (size_t)cap * 2 * sizeof *nl);
            memcpy(na, argv, (size_t)n * sizeof *na);
            memcpy(nl, lens, (size_t)n * sizeof *nl);
            argv = na;
            lens = nl;
            cap *= 2;
        }
        if (parse_scalar(j, &argv[n], &lens[n])) return -1;
        n++;
        skip_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            break;
        }
        return jp_fail(j, "expected ',' or ']'");
    }
    c->argc = n;
    c->argv = argv;
    c->lens = lens;
    return 0;
}

int argv_parse_json(arena *a, const char *body, size_t len, bool pipeline,
                    tg_cmdlist *out, tg_err *err)
{
    jp j = {body, body, body + len, a, err};
    out->cmds = NULL;
    out->n = 0;
    if (len == 0 || !body)
        return tg_fail(err, 400, "ERR empty body: expected a JSON array");
    if (!pipeline) {
        out->cmds = arena_alloc(a, sizeof *out->cmds);
        if (parse_cmd(&j, &out->cmds[0])) return -1;
        out->n = 1;
    } else {
        skip_ws(&j);
        if (j.p >= j.end || *j.p != '[')
            return jp_fail(&j, "expected an array of commands");
        j.p++;
        skip_ws(&j);
        if (j.p < j.end && *j.p == ']') return jp_fail(&j, "empty list of commands");
        int cap = 16;
        tg_cmd *cmds = arena_alloc(a, (size_t)cap * sizeof *cmds);
        for (;;) {
            if (out->n == cap) {
                tg_cmd *nc = arena_alloc(a, (size_t)cap * 2 * sizeof *nc);
                memcpy(nc, cmds, (size_t)out->n * sizeof *nc);
                cmds = nc;
                cap *= 2;
            }
            skip_ws(&j);
            if (j.p < j.end && *j.p != '[')
                return jp_fail(&j, "each command must be an array");
            if (parse_cmd(&j, &cmds[out->n])) return -1;
            out->n++;
            skip_ws(&j);
            if (j.p < j.end && *j.p == ',') {
                j.p++;
                continue;
            }
            if (j.p < j.end && *j.p == ']') {
                j.p++;
                break;
            }
            return jp_fail(&j, "expected ',' or ']'");
        }
        out->cmds = cmds;
    }
    skip_ws(&j);
    if (j.p != j.end) return jp_fail(&j, "trailing data after the array");
    return 0;
}

/* ==== Path form ==== */

int argv_pct_decode(arena *a, const char *s, size_t n, bool plus_space,
                    char **out, size_t *outlen, tg_err *err)
{
    char *d = arena_alloc(a, n + 1), *o = d;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return tg_fail(err, 400, "ERR invalid percent-encoding in URL");
            hi = hex_value(s[i + 1]);
            lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0)
                return tg_fail(err, 400, "ERR invalid percent-encoding in URL");
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        } else if (plus_space && s[i] == '+') {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    *out = d;
    *outlen = (size_t)(o - d);
    return 0;
}

int argv_parse_path(arena *a, const char *path, const char *body, size_t blen,
                    const tg_query_arg *q, int nq, tg_cmd *out, tg_err *err)
{
    memset(out, 0, sizeof *out);
    if (*path == '/') path++;
    size_t plen = strlen(path);
    if (plen > 0 && path[plen - 1] == '/') plen--; /* one trailing slash */
    if (plen == 0) return tg_fail(err, 400, "ERR no command in the URL path");
    int nseg = 1;
    for (size_t i = 0; i < plen; i++)
        if (path[i] == '/') nseg++;
    int cap = nseg + 1 + 2 * nq;
    out->argv = arena_alloc(a, (size_t)cap * sizeof *out->argv);
    out->lens = arena_alloc(a, (size_t)cap * sizeof *out->lens);
    const char *seg = path, *end = path + plen;
    while (seg <= end) {
        const char *slash = memchr(seg, '/', (size_t)(end - seg));
        if (!slash) slash = end;
        if (argv_pct_decode(a, seg, (size_t)(slash - seg), false,
                            &out->argv[out->argc], &out->lens[out->argc], err))
            return -1;
        out->argc++;
        seg = slash + 1;
    }
    if (out->lens[0] == 0) return tg_fail(err, 400, "ERR no command in the URL path");
    if (body && blen > 0) {
        out->argv[out->argc] = (char *)body;
        out->lens[out->argc++] = blen;
    }
    for (int i = 0; i < nq; i++) {
        if (!strcmp(q[i].key, "_token")) continue;
        if (argv_pct_decode(a, q[i].key, strlen(q[i].key), true,
                            &out->argv[out->argc], &out->lens[out->argc], err))
            return -1;
        out->argc++;
        if (q[i].value) {
            if (argv_pct_decode(a, q[i].value, strlen(q[i].value), true,
                                &out->argv[out->argc], &out->lens[out->argc], err))
                return -1;
            out->argc++;
        }
    }
    return 0;
}
