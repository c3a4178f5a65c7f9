/*
 * config.h - tollgate's settings, from defaults, a file, the environment
 * and command-line flags, each overriding the one before.
 *
 * Every setting is one row of a table (name, type, bounds, default, field):
 * the file uses `name = value` lines, the environment TOLLGATE_NAME, the
 * command line --name value or --name=value (dashes or underscores). An
 * unknown name or an invalid value is an error that names the setting and,
 * for the file, the line; nothing is silently defaulted. Settings are
 * strings, integers with bounds, booleans, or enumerations (one of a
 * listed set of names, matched without regard to case, stored as an int).
 *
 * A tg_config owns its strings; config_free releases them (NULL is fine).
 * Loaded once at start-up, read-only afterwards, so shared freely.
 */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include <stdbool.h>

#include "common/err.h"

/* Enumerated settings: the field holds one of these, an index into the
 * setting's config_*_names (NULL-terminated, canonical spelling); a value
 * outside the list is refused at load, whatever its source. */
typedef enum { CFG_JWT_HS256, CFG_JWT_HS384, CFG_JWT_HS512 } cfg_jwt_alg;
typedef enum {
    CFG_SHARED_SCRIPTS_ALL,
    CFG_SHARED_SCRIPTS_APPROVED,   /* read-only, and approved_scripts */
    CFG_SHARED_SCRIPTS_READ_ONLY,
    CFG_SHARED_SCRIPTS_OFF
} cfg_shared_scripts;
typedef enum { CFG_METER_OVERFLOW_REJECT, CFG_METER_OVERFLOW_SPILL } cfg_meter_overflow;
typedef enum { CFG_METER_SYNC_NORMAL, CFG_METER_SYNC_FULL } cfg_meter_synchronous;
typedef enum { CFG_QUOTA_STORE_LOCAL, CFG_QUOTA_STORE_REDIS } cfg_quota_store;
typedef enum { CFG_QUOTA_FAIL_OPEN, CFG_QUOTA_FAIL_CLOSED } cfg_quota_fail;

extern const char *const config_jwt_alg_names[];
extern const char *const config_shared_scripts_names[];
extern const char *const config_meter_overflow_names[];
extern const char *const config_quota_store_names[];
extern const char *const config_quota_fail_names[];
extern const char *const config_meter_synchronous_names[];
extern const char *const config_log_level_names[];   /* log.h's log_level order */

typedef struct tg_config {
    char *config_file;
    char *listen;
    long port;
    long threads;
    char *sqlite_path;
    char *jwt_secret;
    int jwt_alg;                 /* cfg_jwt_alg */
    long jwt_leeway_s;
    char *jwt_kid;
    char *jwt_keys_file;
    char *jwt_issuer;
    char *jwt_audience;
    char *redis_url;
    long max_request_bytes;
    long max_reply_bytes;
    /* Memory bounds (gateway/http/ and the answer path). */
    long max_response_bytes;     /* 0: 6 x max_reply_bytes */
    long max_inflight_bytes;     /* per worker thread */
    long redis_connect_timeout_ms;
    long redis_command_timeout_ms;
    long redis_idle_timeout_s;   /* 0: backend connections never closed idle */
    long idle_timeout_s;
    long shutdown_grace_s;       /* SIGTERM: in-flight requests' deadline */
    long max_connections;
    char *cors_origins;
    char *tls_cert;
    char *tls_key;
    long token_cache_size;
    bool log_requests;
    char *access_log;            /* log_requests' destination: stderr or a file */
    int log_level;               /* log.h's log_level */
    bool metrics;
    char *metrics_listen;        /* host:port of the operations listener */
    long connection_memory_kb;
    /* Client connection limits (gateway/http/). */
    long header_timeout_s;
    long max_connections_per_ip;
    long anon_rate_per_ip;       /* unauthenticated requests per s per address */
    long anon_burst_per_ip;
    long sse_heartbeat_s;        /* streams (gateway/handlers/pubsub.h) */
    long sse_buffer_bytes;
    /* Metering and billing (billing/). */
    bool metering;
    bool quotas;
    bool quota_headers;
    long quota_sample_s;         /* data_bytes sampling interval; 0: off */
    int quota_store;             /* cfg_quota_store: where shared counters live */
    char *quota_redis_url;       /* the counter Redis (quota_store = redis) */
    int quota_fail;              /* cfg_quota_fail: counter Redis unreachable */
    long meter_queue_events;
    long meter_batch_events;
    long meter_flush_ms;
    long meter_retention_days;
    long meter_retention_mb;     /* 0: no size cap */
    int meter_overflow;          /* cfg_meter_overflow */
    int shared_scripts;          /* cfg_shared_scripts */
    char *approved_scripts;      /* SHA-1s: a file, or a comma list (policy.h) */
    char *meter_spill_path;
    int meter_synchronous;       /* cfg_meter_synchronous */
    long meter_node_id;
    char *admin_jwt_secret;
    char *control_listen;        /* NULL: the control plane on listen:port */
    char *acl_secret;            /* Redis ACL users' passwords derive from it */
    long usage_close_grace_s;
} tg_config;

/* Fills cfg with defaults, then applies the file named by --config or
 * TOLLGATE_CONFIG (if any), the environment, then the flags found in
 * argv[0..argc). Flags that are not settings are moved, in order, to
 * rest[] (caller-provided, argc slots) and counted in *nrest. Returns 0,
 * or -1 with err->msg naming the setting (and file:line). */
int config_load(tg_config *cfg, int argc, char **argv, char **rest,
                int *nrest, tg_err *err);

/* Applies one setting by name (underscores or dashes). Returns 0 / -1. */
int config_set(tg_config *cfg, const char *name, const char *value,
               tg_err *err);

/* Checks settings that depend on each other (TLS cert without key...). */
int config_validate_serve(const tg_config *cfg, tg_err *err);

/* acl_secret is set, at least 32 bytes, and neither jwt_secret nor
 * admin_jwt_secret: required wherever tollgate creates Redis ACL users
 * (`serve`, `db create`, `db delete`). 0, or -1 with a 400 err saying
 * what to set. */
int config_validate_acl_secret(const tg_config *cfg, tg_err *err);

/* Prints the settings reference (name, env, default, help, and the
 * allowed values of enumerations) to stdout. */
void config_print_help(void);

void config_free(tg_config *cfg);

/* ==== Reloading (SIGHUP) ==== */

/* Loads the settings again into out as the last config_load did: the
 * defaults, the same file (read anew), the environment, the same flags.
 * 0, or -1 with err (out then holds nothing to free). */
int config_reload(tg_config *out, tg_err *err);

/* The names of the settings whose values differ between a and b, in the
 * table's order, into names[0..cap); returns how many differ (which may
 * exceed cap). The names are static strings. */
size_t config_diff(const tg_config *a, const tg_config *b, const char **names, size_t cap);

/* Copies one setting (by its table name) from src into dst, strings
 * duplicated. 0, or -1 for an unknown name. */
int config_copy_setting(tg_config *dst, const tg_config *src, const char *name);

/* dst = a copy of src owning its own strings (config_free releases them). */
void config_copy(tg_config *dst, const tg_config *src);

#endif
