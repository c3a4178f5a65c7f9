/* test_tls.c - gateway/http/tls.c: a pair is checked before it replaces
 * the one in force, and the handshake callback hands out the current one.
 * The certificates are made here with GnuTLS (self-signed, EC P-256). */
#include "gateway/http/tls.h"

#include <gnutls/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/unit/testhelp.h"

typedef struct pem_pair {
    char cert[8192];
    char key[4096];
} pem_pair;

static void export_pem(int (*fn)(void *, gnutls_x509_crt_fmt_t, void *, size_t *), void *obj,
                       char *out, size_t cap)
{
    size_t n = cap - 1;
    if (fn(obj, GNUTLS_X509_FMT_PEM, out, &n) < 0) n = 0;
    out[n] = '\0';
}

static int crt_export(void *c, gnutls_x509_crt_fmt_t f, void *o, size_t *n)
{
    return gnutls_x509_crt_export(c, f, o, n);
}

static int key_export(void *k, gnutls_x509_crt_fmt_t f, void *o, size_t *n)
{
    return gnutls_x509_privkey_export(k, f, o, n);
}

/* A self-signed certificate for cn and its key, as PEM. */
static void make_pair(const char *cn, pem_pair *p)
{
    gnutls_x509_privkey_t key;
    gnutls_x509_crt_t crt;
    unsigned char serial[8] = {1, 2, 3, 4, 5, 6, 7, (unsigned char)cn[0]};
    gnutls_x509_privkey_init(&key);
    gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
    gnutls_x509_crt_init(&crt);
    gnutls_x509_crt_set_version(crt, 3);
    gnutls_x509_crt_set_serial(crt, serial, sizeof serial);
    gnutls_x509_crt_set_activation_time(crt, time(NULL) - 60);
    gnutls_x509_crt_set_expiration_time(crt, time(NULL) + 3600);
    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn));
    gnutls_x509_crt_set_key(crt, key);
    gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
    export_pem(crt_export, crt, p->cert, sizeof p->cert);
    export_pem(key_export, key, p->key, sizeof p->key);
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
}

/* The common name of the certificate the callback hands out now. */
static void served_cn(char *out, size_t cap)
{
    gnutls_pcert_st *chain = NULL;
    unsigned n = 0;
    gnutls_privkey_t pk = NULL;
    out[0] = '\0';
    if (tls_retrieve(NULL, NULL, 0, NULL, 0, &chain, &n, &pk) || n < 1 || !pk) return;
    gnutls_x509_crt_t crt;
    gnutls_x509_crt_init(&crt);
    if (gnutls_x509_crt_import(crt, &chain[0].cert, GNUTLS_X509_FMT_DER) == 0) {
        size_t len = cap;
        if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, out,
                                          &len) < 0)
            out[0] = '\0';
    }
    gnutls_x509_crt_deinit(crt);
}

static pem_pair one, two;

TEST(nothing_installed_ends_the_handshake)
{
    gnutls_pcert_st *chain = NULL;
    unsigned n = 0;
    gnutls_privkey_t pk = NULL;
    CHECK(!tls_installed());
    CHECK(tls_retrieve(NULL, NULL, 0, NULL, 0, &chain, &n, &pk) == -1);
}

TEST(install_then_swap)
{
    char cn[64];
    tg_err err;
    CHECK(tls_install(one.cert, one.key, &err) == 0);
    CHECK(tls_installed());
    served_cn(cn, sizeof cn);
    CHECK_STR(cn, "one");
    CHECK(tls_install(two.cert, two.key, &err) == 0);
    served_cn(cn, sizeof cn);
    CHECK_STR(cn, "two");
}

TEST(bad_pairs_keep_the_one_in_force)
{
    char cn[64];
    tg_err err;
    CHECK(tls_install("not a certificate", two.key, &err) == -1);
    CHECK(err.status == 400 && strstr(err.msg, "tls:"));
    CHECK(tls_install(two.cert, "not a key", &err) == -1);
    CHECK(tls_install(one.cert, two.key, &err) == -1);   /* mismatched */
    CHECK(strstr(err.msg, "do not match") != NULL);
    served_cn(cn, sizeof cn);
    CHECK_STR(cn, "two");
}

TEST(clear_forgets_every_pair)
{
    tls_clear();
    CHECK(!tls_installed());
    tg_err err;
    CHECK(tls_install(one.cert, one.key, &err) == 0);   /* usable again */
    tls_clear();
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    make_pair("one", &one);
    make_pair("two", &two);
    RUN(nothing_installed_ends_the_handshake);
    RUN(install_then_swap);
    RUN(bad_pairs_keep_the_one_in_force);
    RUN(clear_forgets_every_pair);
    TEST_MAIN_END();
}
