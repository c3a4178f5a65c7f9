/* test_config.c - common/config.h: defaults, file, environment, flags. */
#include <stdlib.h>
#include <unistd.h>

#include "common/config.h"
#include "tests/unit/testhelp.h"

extern char **environ;

static char tmpdir[] = "/tmp/tg-config-XXXXXX";

/* Writes text to tmpdir/name; returns the path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* Loads from a NULL-terminated flag list. */
static int load(tg_config *cfg, const char **flags, char **rest, int *nrest,
                tg_err *err)
{
    int argc = 0;
    while (flags && flags[argc]) argc++;
    static char *rest_local[32];
    static int nrest_local;
    return config_load(cfg, argc, (char **)flags, rest ? rest : rest_local,
                       nrest ? nrest : &nrest_local, err);
}

/* Expects a failure whose message contains each of the words. */
static void expect_error(const char **flags, const char *w1, const char *w2)
{
    tg_config cfg;
    tg_err err = {0, ""};
    int rc = load(&cfg, flags, NULL, NULL, &err);
    CHECK(rc == -1);
    if (w1 && !strstr(err.msg, w1)) {
        fprintf(stderr, "  message '%s' lacks '%s'\n", err.msg, w1);
        CHECK(0);
    }
    if (w2 && !strstr(err.msg, w2)) {
        fprintf(stderr, "  message '%s' lacks '%s'\n", err.msg, w2);
        CHECK(0);
    }
    config_free(&cfg);
}

TEST(defaults)
{
    tg_config cfg;
    tg_err err;
    char *rest[4];
    int nrest = -1;
    CHECK(load(&cfg, NULL, rest, &nrest, &err) == 0);
    CHECK(nrest == 0);
    CHECK(cfg.port == 8080);
    CHECK_STR(cfg.listen, "127.0.0.1");
    CHECK(cfg.jwt_alg == CFG_JWT_HS256);
    CHECK(cfg.shared_scripts == CFG_SHARED_SCRIPTS_APPROVED); /* safe by default */
    CHECK(cfg.meter_overflow == CFG_METER_OVERFLOW_REJECT);
    CHECK(cfg.meter_synchronous == CFG_METER_SYNC_NORMAL);
    CHECK(cfg.jwt_leeway_s == 30);
    CHECK(cfg.max_request_bytes == 1048576);
    CHECK(cfg.token_cache_size == 16384);
    CHECK(cfg.connection_memory_kb == 16);
    CHECK(cfg.log_requests == false);
    CHECK(cfg.jwt_secret == NULL && cfg.tls_cert == NULL && cfg.tls_key == NULL);
    CHECK(cfg.config_file == NULL);
    CHECK_STR(cfg.redis_url, "redis://127.0.0.1:6379");
    CHECK_STR(cfg.cors_origins, "*");
    config_free(&cfg);
    config_free(&cfg); /* twice is fine: fields were reset */
    config_free(NULL);
}

TEST(env_overrides_default_flag_overrides_env)
{
    tg_config cfg;
    tg_err err;
    setenv("TOLLGATE_PORT", "9000", 1);
    setenv("TOLLGATE_LOG_REQUESTS", "yes", 1);
    setenv("TOLLGATE_JWT_SECRET", "from-env", 1);
    CHECK(load(&cfg, NULL, NULL, NULL, &err) == 0);
    CHECK(cfg.port == 9000 && cfg.log_requests);
    CHECK_STR(cfg.jwt_secret, "from-env");
    config_free(&cfg);
    const char *flags[] = {"--port", "9100", "--jwt-secret=from-flag", NULL};
    CHECK(load(&cfg, flags, NULL, NULL, &err) == 0);
    CHECK(cfg.port == 9100);
    CHECK_STR(cfg.jwt_secret, "from-flag");
    config_free(&cfg);
    /* A bad environment value is an error naming the variable. */
    setenv("TOLLGATE_PORT", "80x", 1);
    expect_error(NULL, "TOLLGATE_PORT", "port");
    unsetenv("TOLLGATE_PORT");
    unsetenv("TOLLGATE_LOG_REQUESTS");
    unsetenv("TOLLGATE_JWT_SECRET");
}

TEST(flag_forms)
{
    tg_config cfg;
    tg_err err;
    const char *f1[] = {"--port=1234", "--max-request-bytes", "2048",
                        "--jwt_leeway_s", "5", "--IDLE-TIMEOUT-S=7", NULL};
    CHECK(load(&cfg, f1, NULL, NULL, &err) == 0);
    CHECK(cfg.port == 1234 && cfg.max_request_bytes == 2048);
    CHECK(cfg.jwt_leeway_s == 5 && cfg.idle_timeout_s == 7);
    config_free(&cfg);
    /* Booleans: bare flag is true, or takes an explicit value. */
    const char *f2[] = {"--log-requests", "--port", "1", NULL};
    CHECK(load(&cfg, f2, NULL, NULL, &err) == 0);
    CHECK(cfg.log_requests && cfg.port == 1);
    config_free(&cfg);
    const char *f3[] = {"--log-requests", NULL};
    CHECK(load(&cfg, f3, NULL, NULL, &err) == 0);
    CHECK(cfg.log_requests);
    config_free(&cfg);
    const char *f4[] = {"--log-requests=true", "--log_requests", "off", NULL};
    CHECK(load(&cfg, f4, NULL, NULL, &err) == 0);
    CHECK(!cfg.log_requests);
    config_free(&cfg);
    /* Empty string values are allowed for strings. */
    const char *f5[] = {"--cors-origins=", NULL};
    CHECK(load(&cfg, f5, NULL, NULL, &err) == 0);
    CHECK_STR(cfg.cors_origins, "");
    config_free(&cfg);
}

TEST(invalid_values_name_the_setting)
{
    const char *a[] = {"--port", "abc", NULL};
    expect_error(a, "port", "abc");
    const char *b[] = {"--port=70000", NULL};
    expect_error(b, "port", NULL);
    const char *c[] = {"--port=-1", NULL};
    expect_error(c, "port", NULL);
    const char *d[] = {"--port=", NULL};
    expect_error(d, "port", NULL);
    const char *e[] = {"--max-request-bytes", "10", NULL};
    expect_error(e, "max_request_bytes", "1024");
    const char *f[] = {"--threads", "99999999999999999999999", NULL};
    expect_error(f, "threads", NULL);
    const char *g[] = {"--log-requests=maybe", NULL};
    expect_error(g, "log_requests", NULL);
    const char *h[] = {"--port", NULL};
    expect_error(h, "port", NULL);
    const char *i[] = {"--port", "12 ", NULL};
    expect_error(i, "port", NULL);
}

TEST(config_file)
{
    const char *p = write_file("ok.conf",
        "# comment\n"
        "\n"
        "  port = 7000  \n"
        "jwt_secret = \"quoted value with = sign\"\n"
        "max-request-bytes=4096\n"
        "listen = 0.0.0.0\n");
    tg_config cfg;
    tg_err err;
    const char *flags[] = {"--config", p, NULL};
    CHECK(load(&cfg, flags, NULL, NULL, &err) == 0);
    CHECK(cfg.port == 7000 && cfg.max_request_bytes == 4096);
    CHECK_STR(cfg.jwt_secret, "quoted value with = sign");
    CHECK_STR(cfg.listen, "0.0.0.0");
    CHECK_STR(cfg.config_file, p);
    config_free(&cfg);

    char want[300];
    p = write_file("unknown.conf", "port = 1\n# c\nbogus_setting = 1\n");
    snprintf(want, sizeof want, "%s:3", p);
    const char *f1[] = {"--config", p, NULL};
    expect_error(f1, want, "bogus_setting");

    p = write_file("badval.conf", "listen = x\nport = 99999\n");
    snprintf(want, sizeof want, "%s:2", p);
    const char *f2[] = {"--config=", NULL};
    char arg[300];
    snprintf(arg, sizeof arg, "--config=%s", p);
    f2[0] = arg;
    expect_error(f2, want, "port");

    p = write_file("noeq.conf", "port 1\n");
    snprintf(want, sizeof want, "%s:1", p);
    const char *f3[] = {"--config", p, NULL};
    expect_error(f3, want, NULL);

    p = write_file("nested.conf", "config = /etc/other\n");
    const char *f4[] = {"--config", p, NULL};
    expect_error(f4, ":1", NULL);

    const char *f5[] = {"--config", "/nonexistent/tollgate.conf", NULL};
    expect_error(f5, "/nonexistent/tollgate.conf", NULL);
}

TEST(precedence_file_env_flag)
{
    const char *p = write_file("prec.conf", "port = 7000\nthreads = 3\n");
    tg_config cfg;
    tg_err err;
    setenv("TOLLGATE_CONFIG", p, 1);
    CHECK(load(&cfg, NULL, NULL, NULL, &err) == 0);
    CHECK(cfg.port == 7000 && cfg.threads == 3);
    config_free(&cfg);
    setenv("TOLLGATE_PORT", "7001", 1);
    CHECK(load(&cfg, NULL, NULL, NULL, &err) == 0);
    CHECK(cfg.port == 7001 && cfg.threads == 3);
    config_free(&cfg);
    const char *flags[] = {"--port=7002", NULL};
    CHECK(load(&cfg, flags, NULL, NULL, &err) == 0);
    CHECK(cfg.port == 7002 && cfg.threads == 3);
    config_free(&cfg);
    /* --config beats TOLLGATE_CONFIG. */
    const char *p2 = write_file("prec2.conf", "threads = 4\n");
    const char *f2[] = {"--config", p2, NULL};
    CHECK(load(&cfg, f2, NULL, NULL, &err) == 0);
    CHECK(cfg.threads == 4);
    config_free(&cfg);
    unsetenv("TOLLGATE_CONFIG");
    unsetenv("TOLLGATE_PORT");
}

TEST(rest_passed_through_in_order)
{
    const char *flags[] = {"serve", "--port", "1", "extra", "--unknown-flag", "x",
                           "--port=2", "-v", "--", NULL};
    tg_config cfg;
    tg_err err;
    char *rest[16];
    int nrest = 0;
    CHECK(load(&cfg, flags, rest, &nrest, &err) == 0);
    CHECK(cfg.port == 2);
    CHECK(nrest == 6);
    if (nrest == 6) {
        CHECK_STR(rest[0], "serve");
        CHECK_STR(rest[1], "extra");
        CHECK_STR(rest[2], "--unknown-flag");
        CHECK_STR(rest[3], "x");
        CHECK_STR(rest[4], "-v");
        CHECK_STR(rest[5], "--");
    }
    config_free(&cfg);
}

TEST(config_set_direct)
{
    tg_config cfg;
    tg_err err;
    CHECK(load(&cfg, NULL, NULL, NULL, &err) == 0);
    CHECK(config_set(&cfg, "token-cache-size", "100", &err) == 0);
    CHECK(cfg.token_cache_size == 100);
    CHECK(config_set(&cfg, "token_cache_size", "15", &err) == -1);
    CHECK(strstr(err.msg, "token_cache_size") != NULL);
    CHECK(config_set(&cfg, "nope", "1", &err) == -1);
    CHECK(strstr(err.msg, "nope") != NULL);
    config_free(&cfg);
}

TEST(validate_serve)
{
    tg_config cfg;
    tg_err err = {0, ""};
    CHECK(load(&cfg, NULL, NULL, NULL, &err) == 0);
    CHECK(config_validate_serve(&cfg, &err) == -1);
    CHECK(strstr(err.msg, "jwt_secret") != NULL);
    config_set(&cfg, "jwt_secret", "", &err);
    CHECK(config_validate_serve(&cfg, &err) == -1);
    config_set(&cfg, "jwt_secret", "0123456789abcdef0123456789abcde", &err); /* 31 */
    CHECK(config_validate_serve(&cfg, &err) == -1);
    CHECK(strstr(err.msg, "jwt_secret") != NULL);
    config_set(&cfg, "jwt_secret", "0123456789abcdef0123456789abcdef", &err);
    CHECK(config_validate_serve(&cfg, &err) == 0);
    CHECK(config_set(&cfg, "jwt_alg", "none", &err) == -1); /* refused when set */
    CHECK(strstr(err.msg, "jwt_alg") != NULL);
    CHECK(config_set(&cfg, "jwt_alg", "HS512", &err) == 0);
    CHECK(config_validate_serve(&cfg, &err) == 0);
    config_set(&cfg, "tls_cert", "/tmp/cert.pem", &err);
    CHECK(config_validate_serve(&cfg, &err) == -1);
    CHECK(strstr(err.msg, "tls") != NULL);
    config_set(&cfg, "tls_key", "/tmp/key.pem", &err);
    CHECK(config_validate_serve(&cfg, &err) == 0);
    config_free(&cfg);
    CHECK(load(&cfg, NULL, NULL, NULL, &err) == 0);
    config_set(&cfg, "jwt_secret", "0123456789abcdef0123456789abcdef", &err);
    config_set(&cfg, "tls_key", "/tmp/key.pem", &err);
    CHECK(config_validate_serve(&cfg, &err) == -1);
    config_free(&cfg);
}

TEST(validate_acl_secret)
{
    tg_config cfg;
    tg_err err = {0, ""};
    CHECK(load(&cfg, NULL, NULL, NULL, &err) == 0);
    CHECK(config_validate_acl_secret(&cfg, &err) == -1); /* required, no default */
    CHECK(strstr(err.msg, "TOLLGATE_ACL_SECRET") != NULL);
    config_set(&cfg, "acl_secret", "0123456789abcdef0123456789abcde", &err); /* 31 */
    CHECK(config_validate_acl_secret(&cfg, &err) == -1);
    CHECK(strstr(err.msg, "32 bytes") != NULL);
    config_set(&cfg, "acl_secret", "0123456789abcdef0123456789abcdef", &err);
    CHECK(config_validate_acl_secret(&cfg, &err) == 0);
    config_set(&cfg, "jwt_secret", "0123456789abcdef0123456789abcdef", &err);
    CHECK(config_validate_acl_secret(&cfg, &err) == -1); /* not the JWT secret */
    CHECK(strstr(err.msg, "differ") != NULL);
    config_set(&cfg, "jwt_secret", "another-secret-another-secret-0123", &err);
    config_set(&cfg, "admin_jwt_secret", "0123456789abcdef0123456789abcdef", &err);
    CHECK(config_validate_acl_secret(&cfg, &err) == -1);
    config_free(&cfg);
}

/* ==== Enumerated settings ==== */

TEST(enum_values_are_stored_as_ints)
{
    tg_config cfg;
    tg_err err;
    const char *flags[] = {"--jwt-alg", "HS384", "--shared-scripts=read-only",
                           "--meter-overflow", "spill", "--meter-synchronous=full", NULL};
    CHECK(load(&cfg, flags, NULL, NULL, &err) == 0);
    CHECK(cfg.jwt_alg == CFG_JWT_HS384);
    CHECK(cfg.shared_scripts == CFG_SHARED_SCRIPTS_READ_ONLY);
    CHECK(cfg.meter_overflow == CFG_METER_OVERFLOW_SPILL);
    CHECK(cfg.meter_synchronous == CFG_METER_SYNC_FULL);
    /* The names read back in their canonical spelling. */
    CHECK_STR(config_jwt_alg_names[cfg.jwt_alg], "HS384");
    CHECK_STR(config_shared_scripts_names[cfg.shared_scripts], "read-only");
    CHECK_STR(config_meter_overflow_names[cfg.meter_overflow], "spill");
    CHECK_STR(config_meter_synchronous_names[cfg.meter_synchronous], "full");
    /* Case does not matter; every listed value is accepted. */
    CHECK(config_set(&cfg, "jwt_alg", "hs512", &err) == 0 && cfg.jwt_alg == CFG_JWT_HS512);
    CHECK(config_set(&cfg, "shared-scripts", "OFF", &err) == 0 &&
          cfg.shared_scripts == CFG_SHARED_SCRIPTS_OFF);
    CHECK(config_set(&cfg, "shared_scripts", "all", &err) == 0 &&
          cfg.shared_scripts == CFG_SHARED_SCRIPTS_ALL);
    CHECK(config_set(&cfg, "shared_scripts", "Approved", &err) == 0 &&
          cfg.shared_scripts == CFG_SHARED_SCRIPTS_APPROVED);
    CHECK(config_set(&cfg, "meter_overflow", "Reject", &err) == 0 &&
          cfg.meter_overflow == CFG_METER_OVERFLOW_REJECT);
    CHECK(config_set(&cfg, "meter_synchronous", "NORMAL", &err) == 0 &&
          cfg.meter_synchronous == CFG_METER_SYNC_NORMAL);
    CHECK(config_set(&cfg, "jwt_alg", "HS256", &err) == 0 && cfg.jwt_alg == CFG_JWT_HS256);
    config_free(&cfg);
}

TEST(enum_invalid_values_refused)
{
    tg_config cfg;
    tg_err err = {0, ""};
    CHECK(load(&cfg, NULL, NULL, NULL, &err) == 0);
    /* The message names the setting, the bad value and the allowed ones;
     * the field keeps its value. */
    CHECK(config_set(&cfg, "meter_overflow", "drop", &err) == -1);
    CHECK_STR(err.msg, "meter_overflow: invalid value 'drop' (one of: reject, spill)");
    CHECK(cfg.meter_overflow == CFG_METER_OVERFLOW_REJECT);
    CHECK(config_set(&cfg, "shared_scripts", "readonly", &err) == -1);
    CHECK_STR(err.msg, "shared_scripts: invalid value 'readonly' (one of: all, approved, "
                     "read-only, off)");
    CHECK(config_set(&cfg, "meter_synchronous", "", &err) == -1);
    CHECK_STR(err.msg, "meter_synchronous: invalid value '' (one of: normal, full)");
    CHECK(config_set(&cfg, "jwt_alg", "RS256", &err) == -1);
    CHECK_STR(err.msg, "jwt_alg: invalid value 'RS256' (one of: HS256, HS384, HS512)");
    CHECK(config_set(&cfg, "jwt_alg", "HS256 ", &err) == -1); /* no prefix match */
    CHECK(config_set(&cfg, "shared_scripts", "al", &err) == -1);
    config_free(&cfg);

    const char *a[] = {"--meter-overflow=spil", NULL};
    expect_error(a, "--meter_overflow: invalid value 'spil'", "reject, spill");
    const char *b[] = {"--shared-scripts", "none", NULL};
    expect_error(b, "'none'", "all, approved, read-only, off");
    setenv("TOLLGATE_METER_SYNCHRONOUS", "extra", 1);
    expect_error(NULL, "TOLLGATE_METER_SYNCHRONOUS", "normal, full");
    unsetenv("TOLLGATE_METER_SYNCHRONOUS");
    /* In a file: file:line, the setting, the value, the allowed ones. */
    const char *p = write_file("enum.conf", "meter_overflow = spill\n\njwt_alg = none\n");
    char want[300];
    snprintf(want, sizeof want, "%s:3: jwt_alg: invalid value 'none'", p);
    const char *f[] = {"--config", p, NULL};
    expect_error(f, want, "HS256, HS384, HS512");
}

TEST(help_lists_enum_values)
{
    char path[300];
    snprintf(path, sizeof path, "%s/help.txt", tmpdir);
    fflush(stdout);
    int saved = dup(1);
    FILE *f = fopen(path, "w+");
    CHECK(saved >= 0 && f);
    if (saved < 0 || !f) return;
    dup2(fileno(f), 1);
    config_print_help();
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    static char text[65536];
    rewind(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    CHECK(strstr(text, "one of: HS256 | HS384 | HS512") != NULL);
    CHECK(strstr(text, "one of: all | approved | read-only | off") != NULL);
    CHECK(strstr(text, "one of: reject | spill") != NULL);
    CHECK(strstr(text, "one of: normal | full") != NULL);
    /* Only enumerations carry the line. */
    int lines = 0;
    for (const char *s = text; (s = strstr(s, "one of:")); s++) lines++;
    CHECK(strstr(text, "one of: local | redis") != NULL);
    CHECK(strstr(text, "one of: open | closed") != NULL);
    CHECK(strstr(text, "one of: error | warn | info | debug") != NULL);
    CHECK(lines == 7);
}

/* SIGHUP's reload: the same file read anew, the flags still winning. */
TEST(reload_rereads_the_file_and_keeps_flags)
{
    const char *p = write_file("reload.conf", "cors_origins = https://a.example\nport = 81\n");
    static char path[256];
    snprintf(path, sizeof path, "%s", p);
    const char *f[] = {"--config", path, "--port", "82", NULL};
    tg_config a, b, c;
    tg_err err;
    CHECK(load(&a, f, NULL, NULL, &err) == 0);
    CHECK_STR(a.cors_origins, "https://a.example");
    CHECK(a.port == 82);
    write_file("reload.conf", "cors_origins = https://b.example\nport = 83\nthreads = 3\n");
    CHECK(config_reload(&b, &err) == 0);
    CHECK_STR(b.cors_origins, "https://b.example");
    CHECK(b.port == 82); /* the flag still wins */
    const char *names[8];
    size_t n = config_diff(&a, &b, names, 8);
    CHECK(n == 2);
    if (n == 2) {
        CHECK_STR(names[0], "threads");
        CHECK_STR(names[1], "cors_origins");
    }
    CHECK(config_diff(&a, &a, names, 8) == 0);
    /* A copy owns its strings; one setting copied over. */
    config_copy(&c, &a);
    CHECK(c.cors_origins != a.cors_origins);
    CHECK(config_diff(&a, &c, names, 8) == 0);
    CHECK(config_copy_setting(&c, &b, "cors_origins") == 0);
    CHECK_STR(c.cors_origins, "https://b.example");
    CHECK(c.threads == a.threads);
    CHECK(config_copy_setting(&c, &b, "nosuch") == -1);
    config_free(&b);
    /* A file that no longer loads: an error naming the line, nothing held. */
    write_file("reload.conf", "cors_origins = x\nbogus = 1\n");
    CHECK(config_reload(&b, &err) == -1 && strstr(err.msg, "reload.conf:2"));
    config_free(&a);
    config_free(&c);
    tg_config d;
    CHECK(config_reload(&d, &err) == -1);
}

static void clean_env(void)
{
    /* Collect first: unsetenv reshuffles environ. */
    char names[64][128];
    int n = 0;
    for (char **e = environ; *e && n < 64; e++)
        if (!strncmp(*e, "TOLLGATE_", 9)) {
            const char *eq = strchr(*e, '=');
            size_t l = eq ? (size_t)(eq - *e) : strlen(*e);
            if (l < sizeof names[0]) {
                memcpy(names[n], *e, l);
                names[n++][l] = '\0';
            }
        }
    for (int i = 0; i < n; i++) unsetenv(names[i]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep results if a sanitizer aborts */
    clean_env();
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(defaults);
    RUN(env_overrides_default_flag_overrides_env);
    RUN(flag_forms);
    RUN(invalid_values_name_the_setting);
    RUN(config_file);
    RUN(precedence_file_env_flag);
    RUN(rest_passed_through_in_order);
    RUN(config_set_direct);
    RUN(validate_serve);
    RUN(validate_acl_secret);
    RUN(enum_values_are_stored_as_ints);
    RUN(enum_invalid_values_refused);
    RUN(help_lists_enum_values);
    RUN(reload_rereads_the_file_and_keeps_flags);
    static const char *const files[] = {"ok.conf", "unknown.conf", "badval.conf",
                                        "noeq.conf", "nested.conf", "prec.conf", "reload.conf",
                                        "prec2.conf", "enum.conf", "help.txt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", tmpdir, files[i]);
        unlink(p);
    }
    rmdir(tmpdir);
    TEST_MAIN_END();
}
