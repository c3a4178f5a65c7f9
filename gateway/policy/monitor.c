/* monitor.c - see monitor.h: confining MONITOR lines to one database. */
#include "gateway/policy/monitor.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/hex.h"
#include "common/mem.h"
#include "common/table.h"

#define MONITOR_ARGS_MAX 4096    /* a longer line is not shown */

/* What the gateway itself runs on its connections. */
static const char *const internal[] = {"auth", "hello", "client", "select", "acl",
                                       "command", "monitor", "reset", "quit"};

typedef struct marg {
    const char *raw;             /* inside the quotes */
    size_t rawlen;
} marg;

/* Decodes one quoted argument at p (Redis's sdscatrepr form) into dst
 * (room for the raw length); returns the position after the closing quote
 * or NULL. */
static const char *parse_arg(const char *p, const char *end, char *dst, size_t *dlen)
{
    size_t n = 0;
    if (p >= end || *p != '"') return NULL;
    for (p++; p < end; p++) {
        if (*p == '"') {
            *dlen = n;
            return p + 1;
        }
        if (*p != '\\') {
            dst[n++] = *p;
            continue;
        }
        if (++p >= end) return NULL;
        switch (*p) {
        case 'n': dst[n++] = '\n'; break;
        case 'r': dst[n++] = '\r'; break;
        case 't': dst[n++] = '\t'; break;
        case 'a': dst[n++] = '\a'; break;
        case 'b': dst[n++] = '\b'; break;
        case 'x': {
            int hi = p + 2 < end ? hex_value(p[1]) : -1, lo = hi >= 0 ? hex_value(p[2]) : -1;
            if (lo < 0) return NULL;
            dst[n++] = (char)(hi << 4 | lo);
            p += 2;
            break;
        }
        default: dst[n++] = *p; break;
        }
    }
    return NULL;
}

static bool shown_command(const cmd_info *c)
{
    char head[32];
    const char *bar = strchr(c->name, '|');
    size_t n = bar ? (size_t)(bar - c->name) : strlen(c->name);
    if (n >= sizeof head) return false;
    memcpy(head, c->name, n);
    head[n] = '\0';
    if (table_has(head, internal, sizeof internal / sizeof internal[0])) return false;
    /* Of pub/sub, only a publish is a tenant's own command: SUBSCRIBE and
     * the rest come from the gateway's shared subscriber connections (one
     * per worker and backend, all tenants' channels, logged as DB 0). */
    if ((c->flags & CMD_PUBSUB) && strcmp(c->name, "publish") && strcmp(c->name, "spublish"))
        return false;
    return !(c->flags & CMD_ADMIN);
}

bool monitor_filter(const cmd_table *cmds, const char *line, size_t len, int db,
                    const char *prefix, size_t plen, const char *chan_ns, buf *out)
{
    const char *end = line + len, *p = memchr(line, '[', len);
    if (!p) return false;
    char *num_end;
    long ldb = strtol(p + 1, &num_end, 10);
    if (num_end == p + 1 || *num_end != ' ' || ldb != db) return false;
    const char *close = memchr(num_end, ']', (size_t)(end - num_end));
    if (!close || close + 1 >= end || close[1] != ' ') return false;
    const char *args_at = close + 2;

    /* Every argument, decoded into one scratch block. */
    size_t rest = (size_t)(end - args_at);
    size_t most = rest / 3 + 1;  /* an argument takes 3 bytes or more: "" */
    if (most > MONITOR_ARGS_MAX) most = MONITOR_ARGS_MAX;
    char *scratch = xmalloc(rest + 1);
    marg *ma = xmalloc(sizeof *ma * most);
    char **argv = xmalloc(sizeof *argv * most);
    size_t *lens = xmalloc(sizeof *lens * most);
    uint8_t *is_key = NULL;
    bool shown = false;
    int argc = 0;
    size_t used = 0;
    for (const char *q = args_at; q < end;) {
        if ((size_t)argc == most) goto out_free;
        const char *next = parse_arg(q, end, scratch + used, &lens[argc]);
        if (!next) goto out_free;
        ma[argc] = (marg){q + 1, (size_t)(next - q - 2)};
        argv[argc] = scratch + used;
        used += lens[argc] + 1;
        scratch[used - 1] = '\0';
        argc++;
        q = next;
        if (q < end && *q == ' ') q++;
    }
    if (argc == 0) goto out_free;
    const cmd_info *c = cmd_lookup(cmds, argc, argv, lens);
    if (!c || !shown_command(c)) goto out_free;
    if (prefix) {
        is_key = xcalloc((size_t)argc, 1);
        bool publish = (c->flags & CMD_PUBSUB) != 0;   /* publish, spublish */
        if (publish && argc >= 2) is_key[1] = 1;
        else if (cmd_mark_keys(c, argc, argv, lens, is_key)) goto out_free;
        int keys = 0;
        for (int i = 1; i < argc; i++) {
            if (!is_key[i]) continue;
            keys++;
            /* The prefix has no byte Redis escapes: raw and decoded agree. */
            if (lens[i] < plen || memcmp(argv[i], prefix, plen)) goto out_free;
        }
        if (!keys) goto out_free;
    }
    /* A dedicated database's PUBLISH: its channel without the namespace;
     * one to a channel outside it (a script's, a direct client's) is not
     * this database's to see. */
    size_t ns_skip = 0;
    if (!prefix && chan_ns && argc >= 2 && (c->flags & CMD_PUBSUB)) {
        size_t nl = strlen(chan_ns);
        if (lens[1] < nl || memcmp(argv[1], chan_ns, nl)) goto out_free;
        ns_skip = nl;
    }
    buf_append(out, line, (size_t)(args_at - line));
    for (int i = 0; i < argc; i++) {
        size_t skip = is_key && is_key[i] ? plen : i == 1 ? ns_skip : 0;
        if (i) buf_putc(out, ' ');
        buf_putc(out, '"');
        buf_append(out, ma[i].raw + skip, ma[i].rawlen - skip);
        buf_putc(out, '"');
    }
    shown = true;
out_free:
    free(is_key);
    free(lens);
    free(argv);
    free(ma);
    free(scratch);
    return shown;
}
