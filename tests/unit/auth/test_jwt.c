/* test_jwt.c - auth/jwt.h: signing, verification, and the tokens an
 * attacker would try. Odd tokens are crafted with libjwt directly. */
#include <jwt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "auth/jwt.h"
#include "common/base64.h"
#include "common/buf.h"
#include "tests/unit/testhelp.h"

#define SECRET "0123456789abcdef0123456789abcdef"

static const auth_key key256 = {.alg = "HS256", .secret = (const unsigned char *)SECRET,
    .secret_len = sizeof SECRET - 1, .leeway_s = 30};
static time_t now;

/* A token signed with libjwt over arbitrary claims (JSON text). Caller
 * frees. */
static char *craft(const char *alg, const char *secret, const char *claims)
{
    jwt_t *j = NULL;
    char *s = NULL;
    if (!jwt_new(&j) && !jwt_add_grants_json(j, claims) &&
        !jwt_set_alg(j, jwt_str_alg(alg), (const unsigned char *)secret,
                     (int)strlen(secret)))
        s = jwt_encode_str(j);
    jwt_free(j);
    return s;
}

/* Like craft, with extra JOSE header members (a JSON object's text). */
static char *craft_headers(const char *headers, const char *claims)
{
    jwt_t *j = NULL;
    char *s = NULL;
    if (!jwt_new(&j) && !jwt_add_grants_json(j, claims) && !jwt_add_headers_json(j, headers) &&
        !jwt_set_alg(j, JWT_ALG_HS256, (const unsigned char *)SECRET, (int)strlen(SECRET)))
        s = jwt_encode_str(j);
    jwt_free(j);
    return s;
}

/* Claims JSON with exp = now + exp_off, plus extra members. */
static char *claims_json(long exp_off, const char *extra)
{
    static char out[1024];
    snprintf(out, sizeof out, "{\"sub\":\"tn_1\",\"db\":\"db_1\",\"jti\":\"j1\","
             "\"scope\":\"rw\",\"exp\":%lld%s%s}", (long long)now + exp_off,
             extra && *extra ? "," : "", extra ? extra : "");
    return out;
}

static int verify(const auth_key *k, const char *tok, tg_err *err)
{
    auth_claims c;
    if (!tok) return -2;
    return auth_jwt_verify(k, tok, strlen(tok), now, &c, err);
}

/* Verifies a crafted token and expects a 401. */
static void expect_401(const char *tok)
{
    tg_err err = {0, ""};
    CHECK(tok != NULL);
    int rc = verify(&key256, tok, &err);
    if (rc != -1) fprintf(stderr, "  accepted: %.200s\n", tok ? tok : "(null)");
    CHECK(rc == -1 && err.status == 401);
    /* The message never repeats the token. */
    if (tok && strlen(tok) > 8) CHECK(strstr(err.msg, tok) == NULL);
}

static void b64url(buf *out, const char *s)
{
    size_t start = out->len;
    base64_encode(out, s, strlen(s));
    while (out->len > start && out->data[out->len - 1] == '=') out->len--;
    out->data[out->len] = '\0';
    for (size_t i = start; i < out->len; i++) {
        if (out->data[i] == '+') out->data[i] = '-';
        if (out->data[i] == '/') out->data[i] = '_';
    }
}

/* header.payload.sig with a hand-written header over good claims. */
static void hand_token(buf *out, const char *header, const char *sig)
{
    buf_init(out);
    b64url(out, header);
    buf_putc(out, '.');
    b64url(out, claims_json(3600, NULL));
    buf_putc(out, '.');
    buf_puts(out, sig);
}

TEST(sign_verify_round_trip)
{
    auth_claims c = {"tn_abc", "db_def", "jti123", AUTH_SCOPE_RO, now + 600, 0, now,
                     "get,config|get,@read", "keys", 250};
    tg_err err;
    char *tok = auth_jwt_sign(&key256, &c, &err);
    CHECK(tok != NULL);
    auth_claims got;
    CHECK(auth_jwt_verify(&key256, tok, strlen(tok), now, &got, &err) == 0);
    CHECK_STR(got.sub, "tn_abc");
    CHECK_STR(got.db, "db_def");
    CHECK_STR(got.jti, "jti123");
    CHECK(got.scope == AUTH_SCOPE_RO);
    CHECK(got.exp == now + 600 && got.iat == now && got.nbf == 0);
    CHECK_STR(got.cmd_allow, "get,config|get,@read");
    CHECK_STR(got.cmd_deny, "keys");
    CHECK(got.rate_limit == 250);
    /* The token need not be NUL-terminated: trailing bytes are ignored. */
    size_t n = strlen(tok);
    char *padded = malloc(n + 4);
    memcpy(padded, tok, n);
    memcpy(padded + n, "!!!!", 4);
    CHECK(auth_jwt_verify(&key256, padded, n, now, &got, &err) == 0);
    free(padded);
    /* Other algorithms sign and verify with matching keys. */
    auth_key k512 = key256;
    k512.alg = "HS512";
    char *t512 = auth_jwt_sign(&k512, &c, &err);
    CHECK(t512 && verify(&k512, t512, &err) == 0);
    free(t512);
    free(tok);
}

TEST(wrong_secret_and_tampering)
{
    auth_claims c = {"tn_1", "db_1", "j1", AUTH_SCOPE_RO, now + 600, 0, 0, "", "", 0};
    tg_err err;
    auth_key other = key256;
    other.secret = (const unsigned char *)"another secret of enough length!";
    char *tok = auth_jwt_sign(&other, &c, &err);
    expect_401(tok);
    free(tok);

    tok = auth_jwt_sign(&key256, &c, &err);
    char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');
    /* Flip one payload character. */
    char save = dot1[5];
    dot1[5] = save == 'A' ? 'B' : 'A';
    expect_401(tok);
    dot1[5] = save;
    /* Flip one signature character (mid-signature, all 6 bits count). */
    save = dot2[10];
    dot2[10] = save == 'A' ? 'B' : 'A';
    expect_401(tok);
    dot2[10] = save;
    /* Swap the scope: re-encode the payload with "rw", keep the sig. */
    buf forged;
    buf_init(&forged);
    buf_append(&forged, tok, (size_t)(dot1 - tok) + 1);
    char claims[256];
    snprintf(claims, sizeof claims, "{\"sub\":\"tn_1\",\"db\":\"db_1\",\"jti\":\"j1\","
             "\"scope\":\"rw\",\"exp\":%lld}", (long long)now + 600);
    b64url(&forged, claims);
    buf_puts(&forged, dot2);
    expect_401(forged.data);
    buf_release(&forged);
    CHECK(verify(&key256, tok, &err) == 0); /* restored: fine again */
    free(tok);
}

TEST(alg_none_and_confusion)
{
    buf t;
    hand_token(&t, "{\"alg\":\"none\",\"typ\":\"JWT\"}", "");
    expect_401(t.data);
    buf_release(&t);
    hand_token(&t, "{\"alg\":\"none\",\"typ\":\"JWT\"}", "c2ln");
    expect_401(t.data);
    buf_release(&t);
    hand_token(&t, "{\"alg\":\"NONE\"}", "c2ln");
    expect_401(t.data);
    buf_release(&t);
    /* Duplicate alg: cJSON reads the first, libjwt's jansson the last. */
    hand_token(&t, "{\"alg\":\"HS256\",\"alg\":\"none\"}", "c2ln");
    expect_401(t.data);
    buf_release(&t);
    hand_token(&t, "{\"alg\":\"none\",\"alg\":\"HS256\"}", "c2ln");
    expect_401(t.data);
    buf_release(&t);
    /* A key misconfigured as "none" still never accepts unsigned tokens. */
    auth_key knone = key256;
    knone.alg = "none";
    tg_err err = {0, ""};
    hand_token(&t, "{\"alg\":\"none\"}", "c2ln");
    CHECK(verify(&knone, t.data, &err) == -1 && err.status == 401);
    buf_release(&t);
    /* HS512 token, HS256 key (same secret). */
    char *tok = craft("HS512", SECRET, claims_json(3600, NULL));
    expect_401(tok);
    free(tok);
    tok = craft("HS384", SECRET, claims_json(3600, NULL));
    expect_401(tok);
    free(tok);
    /* Signing refuses "none". */
    auth_claims c = {"a", "b", "c", AUTH_SCOPE_RW, now + 60, 0, 0, "", "", 0};
    CHECK(auth_jwt_sign(&knone, &c, &err) == NULL);
}

/* RFC 7515 4.1.11: a token whose crit names an extension we do not
 * understand is refused; we understand none, so any crit is refused, even
 * signed with the right key. Other unknown header members are ignored. */
TEST(crit_header)
{
    static const char *const crit[] = {
        "{\"crit\":[\"exp\"],\"exp\":1}",
        "{\"crit\":[\"b64\"],\"b64\":false}",
        "{\"crit\":[\"kid\"]}",
        "{\"crit\":[]}",
        "{\"crit\":\"b64\"}",
        "{\"crit\":null}",
    };
    for (size_t i = 0; i < sizeof crit / sizeof crit[0]; i++) {
        char *tok = craft_headers(crit[i], claims_json(3600, NULL));
        expect_401(tok);
        tg_err err = {0, ""};
        verify(&key256, tok, &err);
        CHECK(strstr(err.msg, "critical") != NULL);
        free(tok);
    }
    /* The same crafting without crit: accepted. */
    tg_err err;
    char *tok = craft_headers("{\"x-trace\":\"abc\",\"cty\":\"JWT\"}",
                              claims_json(3600, NULL));
    CHECK(tok && verify(&key256, tok, &err) == 0);
    free(tok);
    tok = craft("HS256", SECRET, claims_json(3600, NULL));
    CHECK(tok && verify(&key256, tok, &err) == 0);
    free(tok);
    /* By hand, unsigned: refused for crit before the signature is read. */
    buf t;
    hand_token(&t, "{\"alg\":\"HS256\",\"crit\":[\"x\"],\"x\":1}", "c2ln");
    expect_401(t.data);
    buf_release(&t);
}

TEST(time_window)
{
    char *tok;
    tg_err err;
    tok = craft("HS256", SECRET, claims_json(-31, NULL)); /* leeway is 30 */
    expect_401(tok);
    free(tok);
    tok = craft("HS256", SECRET, claims_json(-29, NULL));
    CHECK(verify(&key256, tok, &err) == 0);
    free(tok);
    char extra[64];
    snprintf(extra, sizeof extra, "\"nbf\":%lld", (long long)now + 31);
    tok = craft("HS256", SECRET, claims_json(3600, extra));
    expect_401(tok);
    free(tok);
    snprintf(extra, sizeof extra, "\"nbf\":%lld", (long long)now + 29);
    tok = craft("HS256", SECRET, claims_json(3600, extra));
    CHECK(verify(&key256, tok, &err) == 0);
    free(tok);
    snprintf(extra, sizeof extra, "\"iat\":%lld", (long long)now + 3000);
    tok = craft("HS256", SECRET, claims_json(3600, extra));
    expect_401(tok);
    free(tok);
    /* Missing exp. */
    tok = craft("HS256", SECRET, "{\"sub\":\"a\",\"db\":\"b\",\"jti\":\"c\",\"scope\":\"rw\"}");
    expect_401(tok);
    free(tok);
}

TEST(claim_types)
{
    static const char *const bad[] = {
        "{\"sub\":\"a\",\"db\":\"b\",\"jti\":\"c\",\"scope\":\"rw\",\"exp\":\"9999999999\"}",
        "{\"sub\":5,\"db\":\"b\",\"jti\":\"c\",\"scope\":\"rw\",\"exp\":9999999999}",
        "{\"sub\":\"a\",\"db\":\"b\",\"jti\":\"c\",\"scope\":\"admin\",\"exp\":9999999999}",
        "{\"sub\":\"a\",\"db\":\"b\",\"jti\":\"c\",\"scope\":\"RW\",\"exp\":9999999999}",
        "{\"sub\":\"a\",\"db\":\"b\",\"jti\":\"c\",\"scope\":[\"rw\"],\"exp\":9999999999}",
        "{\"sub\":\"\",\"db\":\"b\",\"jti\":\"c\",\"scope\":\"rw\",\"exp\":9999999999}",
        "{\"sub\":\"a\",\"jti\":\"c\",\"scope\":\"rw\",\"exp\":9999999999}",
        "{\"sub\":\"a\",\"db\":\"b\",\"jti\":null,\"scope\":\"rw\",\"exp\":9999999999}",
        "{\"sub\":\"a\",\"db\":\"b\",\"jti\":\"c\",\"exp\":9999999999}",
        "{\"sub\":\"a\",\"db\":\"b\",\"jti\":\"c\",\"scope\":\"rw\",\"exp\":9999999999.5}",
        "{\"sub\":\"a\",\"db\":\"b\",\"jti\":\"c\",\"scope\":\"rw\",\"exp\":1e300}",
        "{\"sub\":\"a\",\"db\":\"b\",\"jti\":\"c\",\"scope\":\"rw\",\"exp\":true}",
        "{\"sub\":\"a\",\"db\":\"b\",\"jti\":\"c\",\"scope\":\"rw\",\"exp\":9999999999,\"nbf\":\"0\"}",
        "{\"sub\":\"a\",\"db\":\"b\",\"jti\":\"c\",\"scope\":\"rw\",\"exp\":9999999999,\"iat\":-5}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *tok = craft("HS256", SECRET, bad[i]);
        expect_401(tok);
        free(tok);
    }
    /* Id length: 63 bytes fit AUTH_ID_MAX, 64 do not. */
    char id[80], claims[256];
    memset(id, 'x', 64);
    id[64] = '\0';
    snprintf(claims, sizeof claims, "{\"sub\":\"%s\",\"db\":\"b\",\"jti\":\"c\","
             "\"scope\":\"ro\",\"exp\":9999999999}", id);
    char *tok = craft("HS256", SECRET, claims);
    expect_401(tok);
    free(tok);
    id[63] = '\0';
    snprintf(claims, sizeof claims, "{\"sub\":\"%s\",\"db\":\"b\",\"jti\":\"c\","
             "\"scope\":\"ro\",\"exp\":9999999999}", id);
    tok = craft("HS256", SECRET, claims);
    auth_claims c;
    tg_err err;
    CHECK(tok && auth_jwt_verify(&key256, tok, strlen(tok), now, &c, &err) == 0);
    CHECK(strlen(c.sub) == 63 && c.scope == AUTH_SCOPE_RO);
    free(tok);
}

TEST(malformed_tokens)
{
    static const char *const bad[] = {
        "", "a.b", "a.b.c.d", "...", "..", "a..c", ".b.c", "a.b.",
        "not a token at all",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_401(bad[i]);
    buf t;
    hand_token(&t, "not json", "c2ln");
    expect_401(t.data);
    buf_release(&t);
    hand_token(&t, "[\"HS256\"]", "c2ln");
    expect_401(t.data);
    buf_release(&t);
    hand_token(&t, "{\"alg\":\"HS256\",\"typ\":\"JOSE\"}", "c2ln");
    expect_401(t.data);
    buf_release(&t);
    hand_token(&t, "{\"alg\":\"HS256\",\"typ\":5}", "c2ln");
    expect_401(t.data);
    buf_release(&t);
    /* Header not base64url. */
    expect_401("e30!.e30.c2ln");
    /* 10 KB token: refused unread. */
    size_t n = 10 * 1024;
    char *big = malloc(n + 1);
    memset(big, 'A', n);
    big[100] = '.';
    big[200] = '.';
    big[n] = '\0';
    expect_401(big);
    free(big);
}

TEST(scope_names)
{
    auth_scope s;
    CHECK(auth_scope_parse("rw", &s) == 0 && s == AUTH_SCOPE_RW);
    CHECK(auth_scope_parse("ro", &s) == 0 && s == AUTH_SCOPE_RO);
    CHECK(auth_scope_parse("admin", &s) == -1);
    CHECK(auth_scope_parse("", &s) == -1);
    CHECK_STR(auth_scope_name(AUTH_SCOPE_RW), "rw");
    CHECK_STR(auth_scope_name(AUTH_SCOPE_RO), "ro");
}

TEST(rules_normalize)
{
    char out[AUTH_RULES_MAX];
    CHECK(auth_rules_normalize(" GET, Set ,@Read", out) == 0);
    CHECK_STR(out, "get,set,@read");
    CHECK(auth_rules_normalize("", out) == 0 && out[0] == '\0');
    CHECK(auth_rules_normalize("get,,set", out) == -1);
    CHECK(auth_rules_normalize("get,", out) == -1);
    CHECK(auth_rules_normalize("ge@t", out) == -1);
    CHECK(auth_rules_normalize("get;flushall", out) == -1);
    char big[400];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK(auth_rules_normalize(big, out) == -1);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep results if a sanitizer aborts */
    now = time(NULL);
    RUN(sign_verify_round_trip);
    RUN(rules_normalize);
    RUN(wrong_secret_and_tampering);
    RUN(alg_none_and_confusion);
    RUN(crit_header);
    RUN(time_window);
    RUN(claim_types);
    RUN(malformed_tokens);
    RUN(scope_names);
    TEST_MAIN_END();
}
