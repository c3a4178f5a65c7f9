/*
 * config.c - see config.h. The table below is the single description of
 * every setting: README's configuration reference mirrors it.
 */
#include "common/config.h"
#include "common/mem.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { CFG_STR, CFG_INT, CFG_BOOL, CFG_ENUM } cfg_type;

typedef struct cfg_def {
    const char *name;
    cfg_type type;
    long min, max;               /* CFG_INT bounds */
    const char *const *names;    /* CFG_ENUM: the allowed values, NULL-ended */
    const char *def;
    size_t off;
    const char *help;
} cfg_def;

/* The allowed values of each enumerated setting, in the order of its C
 * enum in config.h (the field stores the index). */
const char *const config_jwt_alg_names[] = {"HS256", "HS384", "HS512", NULL};
const char *const config_shared_scripts_names[] = {"all", "approved", "read-only", "off",
                                                      NULL};
const char *const config_meter_overflow_names[] = {"reject", "spill", NULL};
const char *const config_meter_synchronous_names[] = {"normal", "full", NULL};
const char *const config_quota_store_names[] = {"local", "redis", NULL};
const char *const config_quota_fail_names[] = {"open", "closed", NULL};
const char *const config_log_level_names[] = {"error", "warn", "info", "debug", NULL};

#define F(field) offsetof(tg_config, field)
#define STR(name, def, field, help) {name, CFG_STR, 0, 0, NULL, def, F(field), help}
#define INT(name, min, max, def, field, help) {name, CFG_INT, min, max, NULL, def, F(field), help}
#define BOOL(name, def, field, help) {name, CFG_BOOL, 0, 1, NULL, def, F(field), help}
#define ENUM(name, names, def, field, help) {name, CFG_ENUM, 0, 0, names, def, F(field), help}

static const cfg_def cfg_defs[] = {
    STR("config", NULL, config_file,
        "settings file of `name = value` lines"),
    STR("listen", "127.0.0.1", listen,
        "address to listen on"),
    INT("port", 0, 65535, "8080", port,
        "TCP port (0: any free)"),
    INT("threads", 0, 256, "0", threads,
        "worker threads, each with its own event loop (0: one per core)"),
    STR("sqlite_path", "./var/tollgate.db", sqlite_path,
        "SQLite file holding tenants, databases, tokens and usage"),
    STR("jwt_secret", NULL, jwt_secret,
        "HMAC secret for data-plane tokens (at least 32 bytes)"),
    ENUM("jwt_alg", config_jwt_alg_names, "HS256", jwt_alg,
         "the one accepted JWT algorithm"),
    INT("jwt_leeway_s", 0, 600, "30", jwt_leeway_s,
        "clock skew allowed on exp/nbf/iat, seconds"),
    STR("jwt_kid", NULL, jwt_kid,
        "key id of the jwt_secret key (tokens without a kid use that key)"),
    STR("jwt_keys_file", NULL, jwt_keys_file,
        "more verification keys, one `kid alg key-file [signing-key-file]` a line"),
    STR("jwt_issuer", NULL, jwt_issuer,
        "if set, tokens must carry this iss (and new tokens get it)"),
    STR("jwt_audience", NULL, jwt_audience,
        "if set, tokens aud must name it (and new tokens get it)"),
    STR("redis_url", "redis://127.0.0.1:6379", redis_url,
        "default backend for new databases"),
    INT("max_request_bytes", 1024, 1L << 30, "1048576", max_request_bytes,
        "largest accepted request body"),
    INT("max_reply_bytes", 1024, 1L << 30, "16777216", max_reply_bytes,
        "most Redis reply bytes one request may take in; past it, replies are "
        "dropped and answer an error"),
    /* Memory bounds (gateway/http/, the answer path): issue 10 finding 8,
     * issue 11 finding 5. */
    INT("max_response_bytes", 0, 1L << 40, "0", max_response_bytes,
        "largest encoded answer body (JSON escaping or base64 included); a larger "
        "one answers 400 `ERR response too large` (0: 6 x max_reply_bytes, the "
        "worst JSON expansion)"),
    INT("max_inflight_bytes", 1L << 20, 1L << 40, "134217728", max_inflight_bytes,
        "bytes one worker thread may hold for requests in flight and answers not "
        "yet sent; past it new requests, and answers that would not fit, get 503 "
        "with Retry-After"),
    INT("redis_connect_timeout_ms", 10, 60000, "1000", redis_connect_timeout_ms,
        "backend connect timeout"),
    INT("redis_command_timeout_ms", 10, 600000, "5000", redis_command_timeout_ms,
        "backend reply timeout"),
    INT("redis_idle_timeout_s", 0, 86400, "300", redis_idle_timeout_s,
        "a worker's backend connection unused this long is closed (reopened on "
        "the next use; 0: kept for good)"),
    INT("idle_timeout_s", 1, 3600, "60", idle_timeout_s,
        "close client connections idle this long"),
    INT("shutdown_grace_s", 0, 3600, "10", shutdown_grace_s,
        "on SIGTERM/SIGINT, how long requests in flight may take to finish "
        "before they are answered 503 and the process exits"),
    INT("max_connections", 1, 1000000, "10000", max_connections,
        "client connections accepted at once (all threads)"),
    STR("cors_origins", "*", cors_origins,
        "comma-separated origins allowed by CORS, * for any, empty for none"),
    STR("tls_cert", NULL, tls_cert,
        "PEM certificate file: serve HTTPS"),
    STR("tls_key", NULL, tls_key,
        "PEM private key file"),
    INT("token_cache_size", 16, 10000000, "16384", token_cache_size,
        "verified tokens cached per thread"),
    INT("connection_memory_kb", 8, 1024, "16", connection_memory_kb,
        "HTTP buffer per client connection; request headers must fit in about half"),
    INT("header_timeout_s", 1, 3600, "10", header_timeout_s,
        "a new connection must send a whole request head within this long; a "
        "kept-alive one within idle_timeout_s of its last answer (then this "
        "long from its request line)"),
    INT("max_connections_per_ip", 0, 1000000, "1000", max_connections_per_ip,
        "client connections from one address at once, over all threads (0: no "
        "limit; counted per thread, each allowed its share)"),
    INT("anon_rate_per_ip", 0, 1000000, "100", anon_rate_per_ip,
        "requests per second one client address may make without a valid token "
        "(refused 401/404...); past it and its burst, 429 (0: no limit)"),
    INT("anon_burst_per_ip", 1, 10000000, "200", anon_burst_per_ip,
        "unauthenticated requests one address may make at once before "
        "anon_rate_per_ip applies"),
    INT("sse_heartbeat_s", 1, 3600, "15", sse_heartbeat_s,
        "seconds between two SSE comment lines on an idle /subscribe, "
        "/psubscribe or /monitor stream (keeps proxies from closing it)"),
    INT("sse_buffer_bytes", 4096, 1L << 30, "262144", sse_buffer_bytes,
        "bytes a stream may hold that its client has not read yet; a slower "
        "reader is disconnected (counted and logged)"),
    BOOL("log_requests", "false", log_requests,
         "log one JSON line per request to access_log (never a token, key, value "
         "or password)"),
    STR("access_log", "stderr", access_log,
        "where log_requests writes: stderr, or a file appended to"),
    ENUM("log_level", config_log_level_names, "info", log_level,
         "diagnostic lines written to stderr: error, warn, info or debug"),
    BOOL("metrics", "on", metrics,
         "count requests, latencies, backends, metering for /metrics (off: no "
         "counting, e.g. to measure what it costs)"),
    STR("metrics_listen", NULL, metrics_listen,
        "host:port serving /metrics, /healthz and /readyz to anyone who reaches "
        "it (unset: /metrics only on the main port, for admin tokens)"),
    BOOL("metering", "on", metering,
         "record every data-plane request in SQLite (on|off)"),
    BOOL("quotas", "on", quotas,
         "enforce the plans' limits, overrides, budgets and token rate limits "
         "(on|off; off checks none, e.g. to measure what they cost)"),
    BOOL("quota_headers", "on", quota_headers,
         "RateLimit-Policy, RateLimit and X-RateLimit-* on every answer of a database "
         "with rate limits (on|off; off: on refusals only, saving ~200 bytes and their "
         "cost an answer)"),
    INT("quota_sample_s", 0, 86400, "30", quota_sample_s,
        "seconds between two measurements of the databases' sizes for their "
        "data_bytes limits (0: not measured, the limit never bites)"),
    ENUM("quota_store", config_quota_store_names, "local", quota_store,
         "where the rate limits and daily/monthly counts live: local (this "
         "process) or redis (quota_redis_url, shared by every gateway node)"),
    STR("quota_redis_url", NULL, quota_redis_url,
        "the counter Redis of quota_store = redis (the operator's, never a "
        "tenant's database)"),
    ENUM("quota_fail", config_quota_fail_names, "open", quota_fail,
         "quota_store = redis and the counter Redis unreachable: open (allow, "
         "counted and logged) or closed (503)"),
    INT("meter_queue_events", 64, 10000000, "65536", meter_queue_events,
        "metering queue capacity, events"),
    INT("meter_batch_events", 1, 1000000, "4096", meter_batch_events,
        "events per metering transaction (a full batch commits at once)"),
    INT("meter_flush_ms", 1, 10000, "100", meter_flush_ms,
        "longest wait before queued events are committed"),
    INT("meter_retention_days", 1, 36500, "2", meter_retention_days,
        "raw usage events kept this long (rollups, which bill, are kept)"),
    INT("meter_retention_mb", 0, 100000000, "20480", meter_retention_mb,
        "the state file's size past which the oldest raw usage events are pruned "
        "(0: no cap; rollups are never pruned)"),
    ENUM("shared_scripts", config_shared_scripts_names, "approved", shared_scripts,
         "scripts of databases on a Redis other databases use too (all: any; "
         "read-only: EVAL_RO, EVALSHA_RO, FCALL_RO; approved: those, FCALL, and "
         "the approved_scripts; off: none)"),
    STR("approved_scripts", NULL, approved_scripts,
        "SHA-1s of the writing scripts shared_scripts = approved runs: unset, the "
        "built-in list (@upstash/ratelimit's, tools/approved-scripts.txt); a file "
        "of hex lines; a comma-separated list; or none"),
    ENUM("meter_overflow", config_meter_overflow_names, "reject", meter_overflow,
         "when the metering queue is full: reject (503) or spill (to a file)"),
    STR("meter_spill_path", NULL, meter_spill_path,
        "spill file (default: sqlite_path + .meter-spill)"),
    ENUM("meter_synchronous", config_meter_synchronous_names, "normal",
         meter_synchronous, "SQLite synchronous for usage commits"),
    INT("meter_node_id", 0, 63, "0", meter_node_id,
        "this node's number in usage event ids (unique per node)"),
    STR("admin_jwt_secret", NULL, admin_jwt_secret,
        "HMAC secret for admin tokens (at least 32 bytes, not jwt_secret)"),
    STR("control_listen", NULL, control_listen,
        "ADDR:PORT for the control plane (/v1/) alone (unset: served with the data plane)"),
    STR("acl_secret", NULL, acl_secret,
        "secret the Redis ACL users' passwords derive from (at least 32 bytes, the "
        "same on every node, never public)"),
    INT("usage_close_grace_s", 0, 31536000, "259200", usage_close_grace_s,
        "seconds after a period ends before `usage close` accepts it"),
};

#define NDEFS (sizeof cfg_defs / sizeof cfg_defs[0])

static const cfg_def *cfg_find(const char *name, size_t len)
{
    for (size_t i = 0; i < NDEFS; i++) {
        const char *n = cfg_defs[i].name;
        if (strlen(n) != len) continue;
        size_t j = 0;
        for (; j < len; j++) {
            char c = name[j] == '-' ? '_' : (char)tolower((unsigned char)name[j]);
            if (c != n[j]) break;
        }
        if (j == len) return &cfg_defs[i];
    }
    return NULL;
}

static bool is_bool_word(const char *s)
{
    static const char *const words[] = {"true", "false", "1", "0", "yes", "no", "on", "off"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcasecmp(s, words[i])) return true;
    return false;
}

/* Writes the allowed values of an enumerated setting, separated by sep. */
static void cfg_enum_list(const cfg_def *d, const char *sep, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; d->names[i] && k < cap; i++) {
        int w = snprintf(out + k, cap - k, "%s%s", i ? sep : "", d->names[i]);
        if (w < 0) break;
        k += (size_t)w;
    }
}

static int cfg_apply_enum(const cfg_def *d, int *field, const char *value, tg_err *err)
{
    for (int i = 0; d->names[i]; i++)
        if (!strcasecmp(value, d->names[i])) {
            *field = i;
            return 0;
        }
    char allowed[128];
    cfg_enum_list(d, ", ", allowed, sizeof allowed);
    return tg_fail(err, 400, "%s: invalid value '%.64s' (one of: %s)", d->name, value,
                   allowed);
}

static int cfg_apply(tg_config *cfg, const cfg_def *d, const char *value,
                     tg_err *err)
{
    void *field = (char *)cfg + d->off;
    switch (d->type) {
    case CFG_STR: {
        char **s = field;
        free(*s);
        *s = value ? xstrdup(value) : NULL;
        return 0;
    }
    case CFG_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < d->min || v > d->max)
            return tg_fail(err, 400, "%s: invalid value '%.64s' (an integer "
                           "from %ld to %ld)", d->name, value, d->min, d->max);
        *(long *)field = v;
        return 0;
    }
    case CFG_BOOL:
        if (!strcasecmp(value, "true") || !strcmp(value, "1") ||
            !strcasecmp(value, "yes") || !strcasecmp(value, "on"))
            *(bool *)field = true;
        else if (!strcasecmp(value, "false") || !strcmp(value, "0") ||
                 !strcasecmp(value, "no") || !strcasecmp(value, "off"))
            *(bool *)field = false;
        else
            return tg_fail(err, 400, "%s: invalid value '%.64s' (true or "
                           "false)", d->name, value);
        return 0;
    case CFG_ENUM:
        return cfg_apply_enum(d, field, value, err);
    }
    return -1;
}

int config_set(tg_config *cfg, const char *name, const char *value,
               tg_err *err)
{
    const cfg_def *d = cfg_find(name, strlen(name));
    if (!d) return tg_fail(err, 400, "unknown setting '%.64s'", name);
    return cfg_apply(cfg, d, value, err);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static int cfg_load_file(tg_config *cfg, const char *path, tg_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return tg_fail(err, 400, "config file %s: %s", path, strerror(errno));
    char line[4096];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = tg_fail(err, 400, "%s:%d: expected `name = value`", path, lineno);
            break;
        }
        *eq = '\0';
        char *name = trim(s), *value = trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = '\0';
            value++;
        }
        tg_err e;
        const cfg_def *d = cfg_find(name, strlen(name));
        if (!d || d->off == F(config_file)) {
            rc = tg_fail(err, 400, "%s:%d: unknown setting '%.64s'", path,
                         lineno, name);
            break;
        }
        if (cfg_apply(cfg, d, value, &e)) {
            rc = tg_fail(err, 400, "%s:%d: %s", path, lineno, e.msg);
            break;
        }
    }
    fclose(f);
    return rc;
}

static int cfg_load_env(tg_config *cfg, tg_err *err)
{
    for (size_t i = 0; i < NDEFS; i++) {
        char env[96] = "TOLLGATE_";
        size_t k = strlen(env);
        for (const char *p = cfg_defs[i].name; *p && k < sizeof env - 1; p++)
            env[k++] = (char)toupper((unsigned char)*p);
        env[k] = '\0';
        const char *v = getenv(env);
        if (!v || cfg_defs[i].off == F(config_file)) continue;
        tg_err e;
        if (cfg_apply(cfg, &cfg_defs[i], v, &e))
            return tg_fail(err, 400, "environment %s: %s", env, e.msg);
    }
    return 0;
}

/* The arguments config_load last read (the process's own, which outlive
 * it), for config_reload. */
static int loaded_argc;
static char **loaded_argv;

int config_load(tg_config *cfg, int argc, char **argv, char **rest,
                int *nrest, tg_err *err)
{
    loaded_argc = argc;
    loaded_argv = argv;
    memset(cfg, 0, sizeof *cfg);
    *nrest = 0;
    for (size_t i = 0; i < NDEFS; i++)
        if (cfg_defs[i].def && cfg_apply(cfg, &cfg_defs[i], cfg_defs[i].def, err))
            return -1;

    /* The file comes first, so find --config before applying anything. */
    const char *file = getenv("TOLLGATE_CONFIG");
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) file = argv[i + 1];
        else if (!strncmp(argv[i], "--config=", 9)) file = argv[i] + 9;
    }
    if (file && *file) {
        config_set(cfg, "config", file, NULL);
        if (cfg_load_file(cfg, file, err)) return -1;
    }
    if (cfg_load_env(cfg, err)) return -1;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            rest[(*nrest)++] = argv[i];
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        const cfg_def *d = cfg_find(name, nl);
        if (!d) {
            rest[(*nrest)++] = argv[i];
            continue;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (d->type == CFG_BOOL && (i + 1 >= argc || !is_bool_word(argv[i + 1])))
                value = "true"; /* a bare boolean flag never eats an argument */
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return tg_fail(err, 400, "--%s needs a value", d->name);
        }
        if (d->off == F(config_file)) continue;
        tg_err e;
        if (cfg_apply(cfg, d, value, &e))
            return tg_fail(err, 400, "--%s", e.msg);
    }
    return 0;
}

int config_validate_serve(const tg_config *cfg, tg_err *err)
{
    bool have_secret = cfg->jwt_secret && *cfg->jwt_secret;
    if (!have_secret && !(cfg->jwt_keys_file && *cfg->jwt_keys_file))
        return tg_fail(err, 400, "jwt_secret: not set (TOLLGATE_JWT_SECRET)");
    if (have_secret && strlen(cfg->jwt_secret) < 32)
        return tg_fail(err, 400, "jwt_secret: must be at least 32 bytes");
    if (cfg->admin_jwt_secret && *cfg->admin_jwt_secret &&
        (strlen(cfg->admin_jwt_secret) < 32 ||
         (have_secret && !strcmp(cfg->admin_jwt_secret, cfg->jwt_secret))))
        return tg_fail(err, 400, "admin_jwt_secret: must be at least 32 bytes and differ "
                       "from jwt_secret");
    if (!cfg->tls_cert != !cfg->tls_key)
        return tg_fail(err, 400, "tls_cert and tls_key: set both or neither");
    return 0;
}

int config_validate_acl_secret(const tg_config *cfg, tg_err *err)
{
    const char *s = cfg->acl_secret;
    if (!s || !*s)
        return tg_fail(err, 400, "acl_secret: not set (TOLLGATE_ACL_SECRET): the Redis ACL "
                       "users' passwords derive from it; set the same random string of at "
                       "least 32 bytes on every node (e.g. `head -c 32 /dev/urandom | xxd -p "
                       "-c 64`)");
    if (strlen(s) < 32) return tg_fail(err, 400, "acl_secret: must be at least 32 bytes");
    if ((cfg->jwt_secret && !strcmp(s, cfg->jwt_secret)) ||
        (cfg->admin_jwt_secret && !strcmp(s, cfg->admin_jwt_secret)))
        return tg_fail(err, 400, "acl_secret: must differ from jwt_secret and "
                       "admin_jwt_secret");
    return 0;
}

void config_print_help(void)
{
    printf("Settings (file `name = value`, env TOLLGATE_NAME, flag --name):\n");
    for (size_t i = 0; i < NDEFS; i++) {
        const cfg_def *d = &cfg_defs[i];
        char env[96] = "TOLLGATE_";
        size_t k = strlen(env);
        for (const char *p = d->name; *p; p++) env[k++] = (char)toupper((unsigned char)*p);
        env[k] = '\0';
        char flag[64];
        size_t j = 0;
        for (const char *p = d->name; *p && j < sizeof flag - 1; p++)
            flag[j++] = *p == '_' ? '-' : *p;
        flag[j] = '\0';
        printf("  --%-26s %-34s default: %s\n      %s\n", flag, env,
               d->def ? d->def : "(none)", d->help);
        if (d->type == CFG_ENUM) {
            char allowed[128];
            cfg_enum_list(d, " | ", allowed, sizeof allowed);
            printf("      one of: %s\n", allowed);
        }
    }
}

void config_free(tg_config *cfg)
{
    if (!cfg) return;
    for (size_t i = 0; i < NDEFS; i++)
        if (cfg_defs[i].type == CFG_STR) {
            char **s = (char **)((char *)cfg + cfg_defs[i].off);
            free(*s);
            *s = NULL;
        }
}

/* ==== Reloading (SIGHUP) ==== */

int config_reload(tg_config *out, tg_err *err)
{
    int argc = loaded_argc, nrest = 0;
    char **rest = xcalloc((size_t)(argc > 0 ? argc : 1), sizeof *rest);
    int rc = config_load(out, argc, loaded_argv, rest, &nrest, err);
    free(rest);
    if (rc) config_free(out);
    return rc;
}

static bool cfg_equal(const cfg_def *d, const tg_config *a, const tg_config *b)
{
    const void *fa = (const char *)a + d->off, *fb = (const char *)b + d->off;
    switch (d->type) {
    case CFG_STR: {
        const char *sa = *(char *const *)fa, *sb = *(char *const *)fb;
        return sa == sb || (sa && sb && !strcmp(sa, sb));
    }
    case CFG_INT:
        return *(const long *)fa == *(const long *)fb;
    case CFG_BOOL:
        return *(const bool *)fa == *(const bool *)fb;
    case CFG_ENUM:
        return *(const int *)fa == *(const int *)fb;
    }
    return false;
}

size_t config_diff(const tg_config *a, const tg_config *b, const char **names, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < NDEFS; i++) {
        if (cfg_equal(&cfg_defs[i], a, b)) continue;
        if (n < cap) names[n] = cfg_defs[i].name;
        n++;
    }
    return n;
}

static void cfg_copy_one(const cfg_def *d, tg_config *dst, const tg_config *src)
{
    void *fd = (char *)dst + d->off;
    const void *fs = (const char *)src + d->off;
    switch (d->type) {
    case CFG_STR: {
        char **s = fd;
        const char *v = *(char *const *)fs;
        free(*s);
        *s = v ? xstrdup(v) : NULL;
        break;
    }
    case CFG_INT:
        *(long *)fd = *(const long *)fs;
        break;
    case CFG_BOOL:
        *(bool *)fd = *(const bool *)fs;
        break;
    case CFG_ENUM:
        *(int *)fd = *(const int *)fs;
        break;
    }
}

int config_copy_setting(tg_config *dst, const tg_config *src, const char *name)
{
    const cfg_def *d = cfg_find(name, strlen(name));
    if (!d) return -1;
    cfg_copy_one(d, dst, src);
    return 0;
}

void config_copy(tg_config *dst, const tg_config *src)
{
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < NDEFS; i++) cfg_copy_one(&cfg_defs[i], dst, src);
}
