/* test_keys.c - loading the keyring from settings and the keys file. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "auth/keys.h"
#include "tests/unit/testhelp.h"

static char dir[] = "/tmp/tg-keys-XXXXXX";
#define SECRET "0123456789abcdef0123456789abcdef-default"

static const char *write_file(const char *name, const char *text)
{
    static char path[8][256];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

static auth_keys *load(const char *secret, const char *file, tg_err *err)
{
    auth_keys_opts o = {.secret = secret, .alg = "HS256", .keys_file = file, .leeway_s = 30};
    return auth_keys_load(&o, err);
}

TEST(default_key_only)
{
    tg_err err;
    auth_keys *k = load(SECRET, NULL, &err);
    CHECK(k != NULL);
    if (!k) return;
    const auth_keyring *r = auth_keys_ring(k);
    CHECK(r->n == 1 && r->dflt == &r->keys[0]);
    CHECK(auth_keyring_pick(r, NULL) == r->dflt);
    CHECK(auth_keyring_pick(r, "any") == NULL);
    CHECK(auth_keys_signer(k, NULL, &err) == r->dflt);
    auth_keys_free(k);
}

TEST(keys_file_picks_by_kid)
{
    tg_err err;
    write_file("a.secret", "a-secret-that-is-long-enough-0123456789\n");
    write_file("b.secret", "b-secret-that-is-long-enough-0123456789");
    const char *f = write_file("keys", "# comment\n\nka HS256 a.secret\nkb  HS512\tb.secret\n");
    auth_keys *k = load(SECRET, f, &err);
    CHECK(k != NULL);
    if (!k) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    const auth_keyring *r = auth_keys_ring(k);
    CHECK(r->n == 3);
    const auth_key *ka = auth_keyring_pick(r, "ka"), *kb = auth_keyring_pick(r, "kb");
    CHECK(ka && !strcmp(ka->alg, "HS256") && ka->secret_len == 39); /* newline stripped */
    CHECK(kb && !strcmp(kb->alg, "HS512"));
    CHECK(auth_keyring_pick(r, NULL) == r->dflt);
    auth_keys_free(k);
}

TEST(keys_file_errors_name_the_line)
{
    tg_err err;
    write_file("short.secret", "too-short");
    const char *cases[][2] = {
        {"x HS256\n", "keys:1"},
        {"# c\nx HS999 short.secret\n", "keys:2"},
        {"x HS256 short.secret\n", "at least 32"},
        {"x HS256 missing.secret\n", "missing.secret"},
        {"x RS256 missing.pub\n", "missing.pub"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *f = write_file("keys", cases[i][0]);
        err.msg[0] = '\0';
        auth_keys *k = load(SECRET, f, &err);
        CHECK(k == NULL);
        if (!strstr(err.msg, cases[i][1])) {
            fprintf(stderr, "  case %zu: '%s' lacks '%s'\n", i, err.msg, cases[i][1]);
            CHECK(0);
        }
        auth_keys_free(k);
    }
    write_file("ok.secret", "ok-secret-that-is-long-enough-0123456789");
    const char *dup = write_file("keys", "x HS256 ok.secret\nx HS256 ok.secret\n");
    CHECK(load(SECRET, dup, &err) == NULL && strstr(err.msg, "used twice"));
}

TEST(no_key_at_all_or_bad_default_alg)
{
    tg_err err;
    CHECK(load(NULL, NULL, &err) == NULL && strstr(err.msg, "jwt_secret"));
    auth_keys_opts o = {.secret = SECRET, .alg = "RS256"};
    CHECK(auth_keys_load(&o, &err) == NULL && strstr(err.msg, "jwt_alg"));
}

TEST(asymmetric_key_needs_signing_file_to_sign)
{
    tg_err err;
    if (system("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
               "-out /tmp/tg-keys-ec.pem 2>/dev/null && openssl pkey -in /tmp/tg-keys-ec.pem "
               "-pubout -out /tmp/tg-keys-ec.pub 2>/dev/null") != 0) {
        CHECK(!"openssl could not make an EC key");
        return;
    }
    const char *f = write_file("keys", "verify ES256 /tmp/tg-keys-ec.pub\n"
                                       "both ES256 /tmp/tg-keys-ec.pub /tmp/tg-keys-ec.pem\n");
    auth_keys *k = load(NULL, f, &err);
    CHECK(k != NULL);
    if (!k) return;
    CHECK(auth_keys_ring(k)->dflt == NULL);
    CHECK(auth_keys_signer(k, "verify", &err) == NULL && strstr(err.msg, "signing"));
    CHECK(auth_keys_signer(k, NULL, &err) == NULL);
    const auth_key *s = auth_keys_signer(k, "both", &err);
    CHECK(s != NULL);
    /* And what it signs verifies against the ring, by kid. */
    auth_claims c = {.sub = "tn_1", .db = "db_1", .jti = "j1", .scope = AUTH_SCOPE_RO,
                     .exp = (long long)time(NULL) + 60};
    char *tok = s ? auth_jwt_sign(s, &c, &err) : NULL;
    auth_claims out;
    CHECK(tok && auth_jwt_verify_ring(auth_keys_ring(k), tok, strlen(tok), time(NULL),
                                      &out, &err) == 0);
    CHECK(out.scope == AUTH_SCOPE_RO && !strcmp(out.sub, "tn_1"));
    free(tok);
    auth_keys_free(k);
    unlink("/tmp/tg-keys-ec.pem");
    unlink("/tmp/tg-keys-ec.pub");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!mkdtemp(dir)) return 1;
    RUN(default_key_only);
    RUN(keys_file_picks_by_kid);
    RUN(keys_file_errors_name_the_line);
    RUN(no_key_at_all_or_bad_default_alg);
    RUN(asymmetric_key_needs_signing_file_to_sign);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    TEST_MAIN_END();
}
