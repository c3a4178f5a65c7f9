/* command_table.c - see command_table.h: the backend's command table. */
#include "gateway/redis/command_table.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/mem.h"

struct cmd_table {
    cmd_info *cmds;          /* sorted by name */
    size_t n;
};

/* ==== Parsing the COMMAND reply ==== */

static const struct {
    const char *name;
    uint32_t bit;
} flag_names[] = {
    {"write", CMD_WRITE},           {"readonly", CMD_READONLY},
    {"admin", CMD_ADMIN},           {"blocking", CMD_BLOCKING},
    {"pubsub", CMD_PUBSUB},         {"noscript", CMD_NOSCRIPT},
    {"may_replicate", CMD_MAY_REPLICATE}, {"movablekeys", CMD_MOVABLEKEYS},
    {"fast", CMD_FAST},             {"denyoom", CMD_DENYOOM},
};

const char *const cmd_category_names[] = {
    "keyspace", "read", "write", "set", "sortedset", "list", "hash",
    "string", "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin",
    "fast", "slow", "blocking", "dangerous", "connection", "transaction",
    "scripting", NULL,
};

static bool is_str(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

static bool is_int(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_INTEGER;
}

/* A RESP2 map: a flat [k1, v1, k2, v2...] array. */
static const redisReply *map_get(const redisReply *m, const char *key)
{
    if (!m || m->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < m->elements; i += 2)
        if (is_str(m->element[i]) && !strcasecmp(m->element[i]->str, key))
            return m->element[i + 1];
    return NULL;
}

static int map_int(const redisReply *m, const char *key, bool *ok)
{
    const redisReply *v = map_get(m, key);
    if (!is_int(v)) {
        *ok = false;
        return 0;
    }
    return (int)v->integer;
}

/* One key spec; anything not understood stays KS_UNKNOWN, which makes the
 * command unusable on a shared database rather than guessed at. */
static void parse_keyspec(const redisReply *r, cmd_keyspec *ks)
{
    const redisReply *bs = map_get(r, "begin_search"), *fk = map_get(r, "find_keys");
    const redisReply *bt = map_get(bs, "type"), *ft = map_get(fk, "type");
    const redisReply *bsp = map_get(bs, "spec"), *fsp = map_get(fk, "spec");
    const redisReply *flags = map_get(r, "flags");
    bool ok = true;
    memset(ks, 0, sizeof *ks);
    /* INCOMPLETE: the spec may miss keys (MIGRATE's KEYS). */
    for (size_t i = 0; flags && flags->type == REDIS_REPLY_ARRAY && i < flags->elements; i++)
        if (is_str(flags->element[i]) && !strcasecmp(flags->element[i]->str, "incomplete"))
            return;
    if (is_str(bt) && !strcmp(bt->str, "index")) {
        ks->index = map_int(bsp, "index", &ok);
        if (ok) ks->begin = KS_INDEX;
    } else if (is_str(bt) && !strcmp(bt->str, "keyword")) {
        const redisReply *kw = map_get(bsp, "keyword");
        ks->index = map_int(bsp, "startfrom", &ok);
        if (ok && is_str(kw) && ks->index != 0) {
            ks->keyword = xstrndup(kw->str, kw->len);
            ks->begin = KS_KEYWORD;
        }
    }
    ok = true;
    if (is_str(ft) && !strcmp(ft->str, "range")) {
        ks->a = map_int(fsp, "lastkey", &ok);
        ks->b = map_int(fsp, "keystep", &ok);
        ks->c = map_int(fsp, "limit", &ok);
        if (ok && ks->b > 0 && ks->c >= 0 && (ks->a >= -1 || ks->c == 0))
            ks->find = KS_RANGE;
    } else if (is_str(ft) && !strcmp(ft->str, "keynum")) {
        ks->a = map_int(fsp, "keynumidx", &ok);
        ks->b = map_int(fsp, "firstkey", &ok);
        ks->c = map_int(fsp, "keystep", &ok);
        if (ok && ks->a >= 0 && ks->b > 0 && ks->c > 0) ks->find = KS_KEYNUM;
    }
}

/* Redis 7 sends key specs; older servers only first/last/step, which
 * cannot describe movable keys. */
static void parse_keyspecs(const redisReply *e, cmd_info *out)
{
    const redisReply *specs = e->elements > 8 ? e->element[8] : NULL;
    if (specs && specs->type == REDIS_REPLY_ARRAY) {
        if (specs->elements == 0) return;
        out->specs = xcalloc(specs->elements, sizeof *out->specs);
        for (size_t i = 0; i < specs->elements; i++)
            parse_keyspec(specs->element[i], &out->specs[out->nspecs++]);
        return;
    }
    if (out->first_key <= 0 && !(out->flags & CMD_MOVABLEKEYS)) return;
    out->specs = xcalloc(1, sizeof *out->specs);
    out->nspecs = 1;
    if (out->flags & CMD_MOVABLEKEYS) return; /* KS_UNKNOWN */
    cmd_keyspec *ks = out->specs;
    ks->begin = KS_INDEX;
    ks->index = out->first_key;
    ks->find = KS_RANGE;
    ks->a = out->last_key < 0 ? out->last_key : out->last_key - out->first_key;
    ks->b = out->key_step > 0 ? out->key_step : 1;
}

static int parse_entry(const redisReply *e, const char *parent, cmd_info *out,
                       tg_err *err)
{
    memset(out, 0, sizeof *out);
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 6 || !is_str(e->element[0]) ||
        e->element[1]->type != REDIS_REPLY_INTEGER ||
        e->element[2]->type != REDIS_REPLY_ARRAY)
        return tg_fail(err, 503, "backend COMMAND reply has an unexpected shape");
    out->name = xstrndup(e->element[0]->str, e->element[0]->len);
    for (char *p = out->name; *p; p++) *p = (char)tolower((unsigned char)*p);
    (void)parent;
    out->arity = (int)e->element[1]->integer;
    const redisReply *flags = e->element[2];
    for (size_t i = 0; i < flags->elements; i++) {
        if (!is_str(flags->element[i])) continue;
        for (size_t k = 0; k < sizeof flag_names / sizeof flag_names[0]; k++)
            if (!strcasecmp(flags->element[i]->str, flag_names[k].name))
                out->flags |= flag_names[k].bit;
    }
    out->first_key = is_int(e->element[3]) ? (int)e->element[3]->integer : 0;
    out->last_key = is_int(e->element[4]) ? (int)e->element[4]->integer : 0;
    out->key_step = is_int(e->element[5]) ? (int)e->element[5]->integer : 0;
    parse_keyspecs(e, out);
    if (e->elements > 6 && e->element[6]->type == REDIS_REPLY_ARRAY) {
        const redisReply *cats = e->element[6];
        for (size_t i = 0; i < cats->elements; i++) {
            if (!is_str(cats->element[i])) continue;
            const char *c = cats->element[i]->str;
            if (*c == '@') c++;
            for (int k = 0; cmd_category_names[k]; k++)
                if (!strcasecmp(c, cmd_category_names[k])) out->categories |= 1ULL << k;
        }
    }
    if (e->elements > 9 && e->element[9]->type == REDIS_REPLY_ARRAY &&
        e->element[9]->elements > 0) {
        const redisReply *subs = e->element[9];
        out->subs = xcalloc(subs->elements, sizeof *out->subs);
        for (size_t i = 0; i < subs->elements; i++) {
            /* Counted even on failure, so info_free releases it. */
            int rc = parse_entry(subs->element[i], out->name, &out->subs[out->nsubs], err);
            out->nsubs++;
            if (rc) return -1;
        }
    }
    return 0;
}

static int cmp_info(const void *a, const void *b)
{
    return strcmp(((const cmd_info *)a)->name, ((const cmd_info *)b)->name);
}

static void info_free(cmd_info *c)
{
    for (size_t i = 0; i < c->nspecs; i++) free(c->specs[i].keyword);
    free(c->specs);
    for (size_t i = 0; i < c->nsubs; i++) info_free(&c->subs[i]);
    free(c->subs);
    free(c->name);
}

/* Runs the annotator over c and its subcommands, parents first. */
static void annotate_all(cmd_info *c, const cmd_info *parent, cmd_annotate_fn annotate)
{
    annotate(c, parent);
    for (size_t i = 0; i < c->nsubs; i++) annotate_all(&c->subs[i], c, annotate);
}

cmd_table *cmd_table_from_reply(const redisReply *r, cmd_annotate_fn annotate, tg_err *err)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        tg_fail(err, 503, "backend COMMAND reply is not a list of commands");
        return NULL;
    }
    cmd_table *t = xcalloc(1, sizeof *t);
    t->cmds = xcalloc(r->elements, sizeof *t->cmds);
    for (size_t i = 0; i < r->elements; i++) {
        if (parse_entry(r->element[i], NULL, &t->cmds[t->n], err)) {
            info_free(&t->cmds[t->n]);
            cmd_table_free(t);
            return NULL;
        }
        cmd_info *c = &t->cmds[t->n++];
        if (c->nsubs) qsort(c->subs, c->nsubs, sizeof *c->subs, cmp_info);
        if (annotate) annotate_all(c, NULL, annotate);
    }
    qsort(t->cmds, t->n, sizeof *t->cmds, cmp_info);
    return t;
}

void cmd_table_free(cmd_table *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) info_free(&t->cmds[i]);
    free(t->cmds);
    free(t);
}

size_t cmd_table_size(const cmd_table *t)
{
    return t->n;
}

static const cmd_info *find(const cmd_info *v, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, v[mid].name);
        if (c == 0) return &v[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

bool cmd_name_lower(char *out, size_t cap, const char *s, size_t n)
{
    if (n + 1 > cap) return false;
    for (size_t i = 0; i < n; i++) {
        if (!s[i]) return false;
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    out[n] = '\0';
    return true;
}

const cmd_info *cmd_lookup(const cmd_table *t, int argc, char **argv,
                           const size_t *lens)
{
    char name[128];
    if (argc < 1 || !cmd_name_lower(name, 64, argv[0], lens[0])) return NULL;
    const cmd_info *c = find(t->cmds, t->n, name);
    if (!c || !c->nsubs || argc < 2) return c;
    size_t nl = strlen(name);
    name[nl] = '|';
    if (!cmd_name_lower(name + nl + 1, sizeof name - nl - 1, argv[1], lens[1])) return c;
    const cmd_info *sub = find(c->subs, c->nsubs, name);
    return sub ? sub : c;
}

/* ==== Reading arguments ==== */

bool cmd_word_is(const char *arg, const char *word)
{
    return !strcasecmp(arg, word);
}

/* ==== Locating keys ==== */

static bool parse_count(const char *s, size_t n, long long *out)
{
    if (n == 0 || n > 18) return false;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* The same steps as Redis's getKeysUsingKeySpecs, so the gateway and the
 * server agree on which arguments are keys. */
int cmd_mark_keys(const cmd_info *c, int argc, char *const *argv, const size_t *lens,
                  uint8_t *is_key)
{
    for (size_t s = 0; s < c->nspecs; s++) {
        const cmd_keyspec *ks = &c->specs[s];
        int first = 0, last, step;
        if (ks->begin == KS_INDEX) {
            first = ks->index;
        } else if (ks->begin == KS_KEYWORD) {
            int from = ks->index > 0 ? ks->index : argc + ks->index;
            int to = ks->index > 0 ? argc - 1 : 1;
            int seen = 0;
            for (int i = from; i != to; i = from <= to ? i + 1 : i - 1) {
                if (i >= argc || i < 1) break;
                if (cmd_word_is(argv[i], ks->keyword)) {
                    if (!seen++) first = i + 1;
                }
            }
            if (!first) continue; /* keyword absent: no keys from this spec */
            /* The spec takes the first occurrence, but a command's parser
             * may use the last (GEORADIUS ... STORE a STORE b writes b):
             * a repeated keyword leaves the keys unknown - except STREAMS,
             * where XREAD's parser stops at the first too, so a stream
             * named "streams" works. */
            if (seen > 1 && !cmd_word_is(ks->keyword, "streams")) return -1;
        } else {
            return -1;
        }
        if (ks->find == KS_RANGE) {
            if (ks->a >= 0) last = first + ks->a;
            else if (!ks->c) last = argc + ks->a;
            else last = first + ((argc - first) / ks->c + ks->a);
            step = ks->b;
        } else if (ks->find == KS_KEYNUM) {
            long long nk;
            int at = first + ks->a;
            if (at >= argc || !parse_count(argv[at], lens[at], &nk) || nk > argc) return -2;
            first += ks->b;
            last = first + (int)nk - 1;
            step = ks->c;
        } else {
            return -1;
        }
        for (int i = first; i <= last && i < argc; i += step)
            if (i >= 1) is_key[i] = 1;
    }
    return 0;
}
