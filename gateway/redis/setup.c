/* backend_setup.c - see backend_setup.h. */
#include "gateway/redis/setup.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/siphash.h"
#include "gateway/redis/keyscan.h"
#include "common/mem.h"
#include "gateway/redis/redis_url.h"

/* The restricted user's rules. Everything a tenant may do, minus what
 * reaches past one logical database or the tenant's own keys. The gateway
 * refuses these too (with clearer errors); this is the net under Lua. */
static const char *const acl_rules[] = {
    /* Everything is reset, passwords too: every node derives the same one
     * from acl_secret, and one derived otherwise (an older tollgate's, from
     * the first JWT key, public for RS/ES keys) must stop working. */
    "on", "nocommands", "resetkeys", "resetchannels", "clearselectors", "resetpass",
    "sanitize-payload", "~*", "+@all", "-@admin",
    "-select", "-swapdb", "-move", "-copy", "-flushall", "-migrate",
    "-info", "-pubsub", "-function", "-script|flush", "-script|kill",
    "-script|debug", "-memory", "+memory|usage",
};

/* A database's user: its keys and channels, and what a tenant may run,
 * minus the keyspace-wide commands (the gateway runs confined versions of
 * those as its own user). SORT is dangerous only for BY/GET, which Redis
 * refuses to a user restricted to a key pattern. */
static const char *const db_user_rules[] = {
    "on", "resetkeys", "resetchannels", "clearselectors", "resetpass", "sanitize-payload",
    "nocommands", "+@all", "-@admin",
    "-@dangerous", "+sort", "+sort_ro", "-keys", "-scan", "-randomkey",
    "-dbsize", "-flushdb", "-flushall", "-select", "-swapdb", "-move", "-copy",
    "-migrate", "-info", "-pubsub", "-function", "-script|flush", "-script|kill",
    "-script|debug", "-memory", "+memory|usage", "-client", "-wait",
    /* ACL checks GEORADIUS's first STORE key, the command writes its last */
    "-georadius", "-georadiusbymember",
};

/* The user of a database that owns its whole server (isolation server):
 * every key, channel and logical DB's data there is the tenant's, so
 * FLUSHALL, FUNCTION, SCRIPT FLUSH, INFO, MEMORY STATS and COPY are its
 * own to run; administration (@admin: CONFIG, SHUTDOWN, ACL, MODULE,
 * replication, DEBUG, MONITOR...) is not, nor what changes the
 * connection the gateway shares between requests. */
static const char *const server_user_rules[] = {
    "on", "resetkeys", "resetchannels", "clearselectors", "resetpass", "sanitize-payload",
    "nocommands", "+@all", "-@admin", "-acl", "-select", "-swapdb", "-move", "-migrate",
    "-client", "-wait", "-script|kill", "-script|debug",
    "-memory", "+memory|usage", "+memory|stats", "~*", "&*",
};

typedef struct reg_entry {
    backend_info info;          /* first: backend_info * -> reg_entry * */
    struct reg_entry *next;
    char *url;
    uint32_t users_gen;         /* atomic */
} reg_entry;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static reg_entry *reg_head;
static uint8_t pw_key[2][16];
static cmd_annotate_fn annotator;   /* applied to every command table */

/* The derivation's version is part of its keys: a password of the first
 * scheme (keyed by the JWT key material) can never come out of this one,
 * even from the same bytes. */
static const uint8_t pw_label[2][16] = {"tollgate-acl2-k0", "tollgate-acl2-k1"};

void backend_setup_init(const void *secret, size_t n, cmd_annotate_fn annotate)
{
    annotator = annotate;
    for (int i = 0; i < 2; i++) {
        uint64_t a = siphash24(pw_label[i], secret, n);
        uint64_t b = siphash24(pw_label[!i], secret, n);
        memcpy(pw_key[i], &a, 8);
        memcpy(pw_key[i] + 8, &b, 8);
    }
}

void backend_acl_password(const char *url, const char *id, char out[40])
{
    char in[1024];
    int n = snprintf(in, sizeof in, "%s%s%s", url, id ? "\n" : "", id ? id : "");
    size_t len = n < 0 ? 0 : (size_t)n < sizeof in ? (size_t)n : sizeof in - 1;
    uint64_t a = siphash24(pw_key[0], in, len);
    uint64_t b = siphash24(pw_key[1], in, len);
    snprintf(out, 40, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}

void backend_acl_user(const char *url, int db, char name[BACKEND_USER_MAX], char pass[40])
{
    char id[32];
    if (db == 0) {
        snprintf(name, BACKEND_USER_MAX, "%s", BACKEND_ACL_USER);
        backend_acl_password(url, NULL, pass);
        return;
    }
    snprintf(name, BACKEND_USER_MAX, "%s-%d", BACKEND_ACL_USER, db);
    snprintf(id, sizeof id, "-dataplane-%d", db); /* no database id starts with '-' */
    backend_acl_password(url, id, pass);
}

int backend_acl_setuser_argv(const char *name, const char *pass, int db, bool restore_ok,
                             backend_acl_bufs *bufs, const char **argv, int cap)
{
    const size_t nrules = sizeof acl_rules / sizeof acl_rules[0];
    int n = 0;
    if ((size_t)cap < nrules + 7) return 0;
    snprintf(bufs->pw, sizeof bufs->pw, ">%s", pass);
    /* Its logical DB's channels only (the gateway names a dedicated
     * database's channels "db<N>:..."): a script cannot PUBLISH into
     * another database's. */
    snprintf(bufs->chans, sizeof bufs->chans, "&db%d:*", db);
    argv[n++] = "ACL";
    argv[n++] = "SETUSER";
    argv[n++] = name;
    for (size_t i = 0; i < nrules; i++) argv[n++] = acl_rules[i];
    argv[n++] = bufs->chans;
    argv[n++] = bufs->pw;
    if (!restore_ok) { /* not even from Lua (see dump_payloads_checked) */
        argv[n++] = "-restore";
        argv[n++] = "-restore-asking";
    }
    return n;
}

/* DB 0's restricted user: whether the backend takes ACL SETUSER at all
 * (every connection makes sure of its own DB's user in its handshake). */
static bool create_acl_user(redisContext *c, const char *pass, bool restore_ok)
{
    const char *argv[64];
    size_t lens[64];
    backend_acl_bufs bufs;
    int n = backend_acl_setuser_argv(BACKEND_ACL_USER, pass, 0, restore_ok, &bufs, argv, 64);
    for (int i = 0; i < n; i++) lens[i] = strlen(argv[i]);
    redisReply *r = redisCommandArgv(c, n, argv, lens);
    bool ok = r && r->type == REDIS_REPLY_STATUS;
    if (r && !ok)
        fprintf(stderr, "tollgate: warning: cannot create ACL user %s (%s): scripting "
                "is refused on this backend\n", BACKEND_ACL_USER,
                r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    if (r) freeReplyObject(r);
    return ok;
}

/* RESTORE of a crafted payload can crash a server every tenant shares,
 * unless Redis checks payloads deeply (sanitize-dump-payload yes or
 * clients). */
static bool dump_payloads_checked(redisContext *c)
{
    redisReply *r = redisCommand(c, "CONFIG GET sanitize-dump-payload");
    /* "clients": checked for every connection but a replication link. */
    bool yes = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
               r->element[1]->type == REDIS_REPLY_STRING &&
               (!strcmp(r->element[1]->str, "yes") || !strcmp(r->element[1]->str, "clients"));
    if (r) freeReplyObject(r);
    return yes;
}

/* Script replies must not carry CR/LF (CVE-2025-67733, fixed in current
 * Redis releases): one tenant's script could otherwise forge the reply the
 * next request on a shared connection reads. Probed once; scripting is
 * refused on a backend that fails. */
static bool script_replies_framed(redisContext *c)
{
    redisAppendCommand(c, "EVAL %s 0", "return redis.error_reply('tollgate\\r\\n+forged')");
    redisAppendCommand(c, "PING");
    void *a = NULL, *b = NULL;
    /* Framed: the script's error arrives whole (its line break blanked),
     * and the next reply is PING's. */
    bool ok = redisGetReply(c, &a) == REDIS_OK && redisGetReply(c, &b) == REDIS_OK && a && b &&
              ((redisReply *)a)->type == REDIS_REPLY_ERROR &&
              strstr(((redisReply *)a)->str, "forged") &&
              ((redisReply *)b)->type == REDIS_REPLY_STATUS &&
              !strcmp(((redisReply *)b)->str, "PONG");
    if (a) freeReplyObject(a);
    if (b) freeReplyObject(b);
    if (!ok)
        fprintf(stderr, "tollgate: warning: script replies on this Redis do not come back "
                "whole (CVE-2025-67733, or EVAL refused to tollgate): scripting is "
                "refused on it\n");
    return ok; /* the caller closes c: no reply left to drain matters */
}

/* The no-rights user, with exactly the derived password (connections only
 * add it again in their handshake). */
static bool reset_nobody_user(redisContext *c, const char *pass)
{
    char pw[48];
    snprintf(pw, sizeof pw, ">%s", pass);
    const char *argv[] = {"ACL", "SETUSER", BACKEND_NOBODY_USER, "on", "nocommands",
                          "resetkeys", "resetchannels", "clearselectors", "resetpass", pw};
    size_t lens[10];
    for (int i = 0; i < 10; i++) lens[i] = strlen(argv[i]);
    redisReply *r = redisCommandArgv(c, 10, argv, lens);
    bool ok = r && r->type == REDIS_REPLY_STATUS;
    if (r) freeReplyObject(r);
    return ok;
}

static int setup(const char *url, int timeout_ms, backend_info *out, tg_err *err)
{
    redis_url u;
    memset(out, 0, sizeof *out);
    if (redis_url_parse(url, &u, err)) return -1;
    redisContext *c = redis_url_connect(&u, timeout_ms, err);
    if (!c) return -1;
    int rc = -1;
    redisReply *r = redisCommand(c, "COMMAND");
    if (!r) {
        tg_fail(err, 503, "ERR backend unavailable: %s", c->errstr);
        goto out;
    }
    out->cmds = cmd_table_from_reply(r, annotator, err);
    freeReplyObject(r);
    if (!out->cmds) goto out;
    backend_acl_password(url, NULL, out->acl_pass);
    backend_acl_password(url, "-nobody", out->nobody_pass);
    out->caps.restore_checked = dump_payloads_checked(c);
    out->caps.scripts_framed = script_replies_framed(c);
    out->caps.scripts_contained = create_acl_user(c, out->acl_pass, out->caps.restore_checked) &&
                                  reset_nobody_user(c, out->nobody_pass);
    if (!out->caps.scripts_contained) out->acl_pass[0] = '\0';
    rc = 0;
out:
    redisFree(c);
    return rc;
}

const backend_info *backend_info_for(const char *url, int timeout_ms, tg_err *err)
{
    const backend_info *found = NULL;
    pthread_mutex_lock(&reg_lock);
    for (reg_entry *e = reg_head; e && !found; e = e->next)
        if (!strcmp(e->url, url)) found = &e->info;
    if (!found) {
        backend_info info;
        if (!setup(url, timeout_ms, &info, err)) {
            reg_entry *e = xcalloc(1, sizeof *e);
            e->url = xstrdup(url);
            e->info = info;
            e->users_gen = 1;
            e->next = reg_head;
            reg_head = e;
            found = &e->info;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return found;
}

void backend_setup_clear(void)
{
    pthread_mutex_lock(&reg_lock);
    for (reg_entry *e = reg_head, *next; e; e = next) {
        next = e->next;
        cmd_table_free((cmd_table *)e->info.cmds);
        free(e->url);
        free(e);
    }
    reg_head = NULL;
    pthread_mutex_unlock(&reg_lock);
}

/* ==== Per-database users ==== */

void backend_db_user(const char *url, const char *database_id, char *name, size_t cap,
                     char pass[40])
{
    snprintf(name, cap, "%s%s", BACKEND_DB_USER_PREFIX, database_id);
    backend_acl_password(url, database_id, pass);
}

static reg_entry *entry_of(const backend_info *bi)
{
    return (reg_entry *)(void *)bi; /* info is the first member */
}

uint32_t backend_users_gen(const backend_info *bi)
{
    return __atomic_load_n(&entry_of(bi)->users_gen, __ATOMIC_ACQUIRE);
}

void backend_users_stale(const backend_info *bi)
{
    __atomic_add_fetch(&entry_of(bi)->users_gen, 1, __ATOMIC_ACQ_REL);
}

int backend_db_user_setuser(const char *url, const char *database_id, const char *prefix,
                            bool restore_ok, backend_setuser *s, tg_err *err)
{
    bool owner = !prefix;
    const size_t nrules = owner ? sizeof server_user_rules / sizeof server_user_rules[0]
                                : sizeof db_user_rules / sizeof db_user_rules[0];
    const char *const *rules = owner ? server_user_rules : db_user_rules;
    char pass[40];
    if (!owner) {
        size_t plen = strlen(prefix);
        s->keys[0] = '~';
        s->chans[0] = '&';
        if (!keyscan_glob(prefix, plen, s->keys + 1, sizeof s->keys - 1) ||
            !keyscan_glob(prefix, plen, s->chans + 1, sizeof s->chans - 1))
            return tg_fail(err, 503, "ERR database key prefix too long");
    }
    backend_db_user(url, database_id, s->name, sizeof s->name, pass);
    snprintf(s->pw, sizeof s->pw, ">%s", pass);
    int n = 0;
    s->argv[n++] = "ACL";
    s->argv[n++] = "SETUSER";
    s->argv[n++] = s->name;
    for (size_t i = 0; i < nrules; i++) s->argv[n++] = rules[i];
    /* RESTORE only where Redis checks payloads: not even from Lua (a
     * server's owner may crash only its own server, but a crash is not
     * what it asked for either). */
    s->argv[n++] = restore_ok ? "+restore" : "-restore";
    if (!owner) {
        s->argv[n++] = s->keys;
        s->argv[n++] = s->chans;
    }
    s->argv[n++] = s->pw;
    for (int i = 0; i < n; i++) s->lens[i] = strlen(s->argv[i]);
    s->argc = n;
    return 0;
}

/* ACL SETUSER for the database on an admin connection. */
static int setuser(redisContext *c, const char *url, const char *database_id,
                   const char *prefix, bool restore_ok, tg_err *err)
{
    backend_setuser su;
    if (backend_db_user_setuser(url, database_id, prefix, restore_ok, &su, err)) return -1;
    redisReply *r = redisCommandArgv(c, su.argc, su.argv, su.lens);
    int rc = 0;
    if (!r) rc = tg_fail(err, 503, "ERR backend unavailable: %s", c->errstr);
    else if (r->type != REDIS_REPLY_STATUS)
        rc = tg_fail(err, 503, "ERR backend refused the database's ACL user: %.200s",
                     r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    if (r) freeReplyObject(r);
    return rc;
}

int backend_db_user_create(const char *url, const char *database_id, const char *prefix,
                           int timeout_ms, tg_err *err)
{
    redis_url u;
    if (redis_url_parse(url, &u, err)) return -1;
    redisContext *c = redis_url_connect(&u, timeout_ms, err);
    if (!c) return -1;
    int rc = setuser(c, url, database_id, prefix, dump_payloads_checked(c), err);
    redisFree(c);
    return rc;
}

/* 0 if r (freed here) is not an error, else -1 with a 503 err. */
static int admin_reply(redisContext *c, redisReply *r, const char *what, tg_err *err)
{
    int rc = 0;
    if (!r || r->type == REDIS_REPLY_ERROR)
        rc = tg_fail(err, 503, "ERR cannot %s: %s", what, r ? r->str : c->errstr);
    if (r) freeReplyObject(r);
    return rc;
}

int backend_db_purge(const char *url, int db_index, const char *database_id,
                     const char *prefix, int timeout_ms, tg_err *err)
{
    redis_url u;
    char name[BACKEND_USER_MAX], pass[40], glob[2 * KEYSCAN_PREFIX_MAX + 2];
    bool shared = prefix && *prefix;
    if (redis_url_parse(url, &u, err)) return -1;
    if (shared && !keyscan_glob(prefix, strlen(prefix), glob, sizeof glob))
        return tg_fail(err, 503, "ERR database key prefix too long");
    redisContext *c = redis_url_connect(&u, timeout_ms, err);
    if (!c) return -1;
    const char *what = "remove the database's data";
    int rc = admin_reply(c, redisCommand(c, "SELECT %d", db_index), what, err);
    if (!rc)
        rc = shared ? keyscan_flush_sliced(c, glob, err)
                    : admin_reply(c, redisCommand(c, "FLUSHDB"), what, err);
    if (!rc && shared) {
        /* Redis closes connections still signed in as the user; the
         * gateway's reconnect. */
        backend_db_user(url, database_id, name, sizeof name, pass);
        rc = admin_reply(c, redisCommand(c, "ACL DELUSER %s", name),
                         "drop the database's ACL user", err);
    }
    redisFree(c);
    return rc;
}

int backend_server_purge(const char *url, const char *database_id, int timeout_ms,
                         tg_err *err)
{
    redis_url u;
    char name[BACKEND_USER_MAX], pass[40];
    if (redis_url_parse(url, &u, err)) return -1;
    redisContext *c = redis_url_connect(&u, timeout_ms, err);
    if (!c) return -1;
    const char *what = "remove the database's data";
    int rc = admin_reply(c, redisCommand(c, "FLUSHALL"), what, err);
    if (!rc) rc = admin_reply(c, redisCommand(c, "FUNCTION FLUSH"), what, err);
    if (!rc) rc = admin_reply(c, redisCommand(c, "SCRIPT FLUSH"), what, err);
    if (!rc) {
        backend_db_user(url, database_id, name, sizeof name, pass);
        rc = admin_reply(c, redisCommand(c, "ACL DELUSER %s", name),
                         "drop the database's ACL user", err);
    }
    redisFree(c);
    return rc;
}
