/* backend_setup.c - see backend_setup.h. */
#include "backend_setup.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "mem.h"
#include "redis_url.h"

/* The restricted user's rules. Everything a tenant may do, minus what
 * reaches past one logical database or the tenant's own keys. The gateway
 * refuses these too (with clearer errors); this is the net under Lua. */
static const char *const acl_rules[] = {
    "reset", "on", "~*", "&*", "+@all", "-@admin",
    "-select", "-swapdb", "-move", "-copy", "-flushall", "-migrate",
    "-info", "-pubsub", "-function", "-script|flush", "-script|kill",
    "-memory",
};

typedef struct reg_entry {
    struct reg_entry *next;
    char *url;
    backend_info info;
} reg_entry;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static reg_entry *reg_head;
static uint8_t pw_key[2][16];

void backend_setup_init(const void *secret, size_t n)
{
    static const uint8_t k0[16] = "tollgate-acl-k0!", k1[16] = "tollgate-acl-k1!";
    for (int i = 0; i < 2; i++) {
        uint64_t a = siphash24(i ? k1 : k0, secret, n);
        uint64_t b = siphash24(i ? k0 : k1, secret, n);
        memcpy(pw_key[i], &a, 8);
        memcpy(pw_key[i] + 8, &b, 8);
    }
}

static void derive_password(const char *url, char out[40])
{
    uint64_t a = siphash24(pw_key[0], url, strlen(url));
    uint64_t b = siphash24(pw_key[1], url, strlen(url));
    snprintf(out, 40, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}

static redisContext *connect_admin(const redis_url *u, int timeout_ms, tg_err *err)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = u->path[0] ? redisConnectUnixWithTimeout(u->path, tv)
                                 : redisConnectWithTimeout(u->host, u->port, tv);
    if (!c || c->err) {
        tg_fail(err, 503, "ERR backend unavailable: %s", c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (u->password[0]) {
        redisReply *r = u->user[0] ? redisCommand(c, "AUTH %s %s", u->user, u->password)
                                   : redisCommand(c, "AUTH %s", u->password);
        bool ok = r && r->type != REDIS_REPLY_ERROR;
        if (r) freeReplyObject(r);
        if (!ok) {
            tg_fail(err, 503, "ERR backend unavailable: authentication refused");
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

int backend_acl_setuser_argv(const char *pass, char *pwbuf, const char **argv, int cap)
{
    const size_t nrules = sizeof acl_rules / sizeof acl_rules[0];
    int n = 0;
    if ((size_t)cap < nrules + 4) return 0;
    snprintf(pwbuf, 48, ">%s", pass);
    argv[n++] = "ACL";
    argv[n++] = "SETUSER";
    argv[n++] = BACKEND_ACL_USER;
    for (size_t i = 0; i < nrules; i++) {
        argv[n++] = acl_rules[i];
        if (i == 1) argv[n++] = pwbuf; /* after reset, on */
    }
    return n;
}

static bool create_acl_user(redisContext *c, const char *pass)
{
    const char *argv[64];
    size_t lens[64];
    char pw[48];
    int n = backend_acl_setuser_argv(pass, pw, argv, 64);
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

static int setup(const char *url, int timeout_ms, backend_info *out, tg_err *err)
{
    redis_url u;
    memset(out, 0, sizeof *out);
    if (redis_url_parse(url, &u, err)) return -1;
    redisContext *c = connect_admin(&u, timeout_ms, err);
    if (!c) return -1;
    int rc = -1;
    redisReply *r = redisCommand(c, "COMMAND");
    if (!r) {
        tg_fail(err, 503, "ERR backend unavailable: %s", c->errstr);
        goto out;
    }
    out->cmds = cmd_table_from_reply(r, err);
    freeReplyObject(r);
    if (!out->cmds) goto out;
    derive_password(url, out->acl_pass);
    out->scripts_contained = create_acl_user(c, out->acl_pass);
    if (!out->scripts_contained) out->acl_pass[0] = '\0';
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
