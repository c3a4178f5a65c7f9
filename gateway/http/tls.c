/* tls.c - see tls.h: the certificate pair in force, behind one atomic
 * pointer read at every handshake. */
#include "gateway/http/tls.h"

#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

#define TLS_CHAIN_MAX 16   /* certificates in one chain */

typedef struct tls_pair {
    struct tls_pair *older;         /* every pair ever installed, newest first */
    gnutls_pcert_st chain[TLS_CHAIN_MAX];
    unsigned n;
    gnutls_privkey_t key;
} tls_pair;

static tls_pair *current;           /* read with __atomic (any thread) */
static tls_pair *installed;         /* the installer's list (one thread) */

static void pair_free(tls_pair *p)
{
    for (unsigned i = 0; i < p->n; i++) gnutls_pcert_deinit(&p->chain[i]);
    if (p->key) gnutls_privkey_deinit(p->key);
    free(p);
}

/* GnuTLS's own check that the pair parses and the key is the
 * certificate's (gnutls_certificate_set_x509_key_mem2 compares them). */
static int pair_check(const gnutls_datum_t *cd, const gnutls_datum_t *kd, tg_err *err)
{
    gnutls_certificate_credentials_t c;
    if (gnutls_certificate_allocate_credentials(&c) < 0)
        return tg_fail(err, 500, "tls: out of memory");
    int rc = gnutls_certificate_set_x509_key_mem2(c, cd, kd, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_certificate_free_credentials(c);
    if (rc < 0) return tg_fail(err, 400, "tls: certificate or key: %s", gnutls_strerror(rc));
    return 0;
}

int tls_install(const char *cert_pem, const char *key_pem, tg_err *err)
{
    gnutls_datum_t cd = {(unsigned char *)cert_pem, (unsigned)strlen(cert_pem)};
    gnutls_datum_t kd = {(unsigned char *)key_pem, (unsigned)strlen(key_pem)};
    if (pair_check(&cd, &kd, err)) return -1;
    tls_pair *p = xcalloc(1, sizeof *p);
    p->n = TLS_CHAIN_MAX;
    int rc = gnutls_pcert_list_import_x509_raw(p->chain, &p->n, &cd, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0) {
        p->n = 0;
        pair_free(p);
        return tg_fail(err, 400, "tls: certificate: %s", gnutls_strerror(rc));
    }
    if ((rc = gnutls_privkey_init(&p->key)) < 0 ||
        (rc = gnutls_privkey_import_x509_raw(p->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        pair_free(p);
        return tg_fail(err, 400, "tls: key: %s", gnutls_strerror(rc));
    }
    p->older = installed;
    installed = p;
    __atomic_store_n(&current, p, __ATOMIC_RELEASE);
    return 0;
}

int tls_installed(void)
{
    return __atomic_load_n(&current, __ATOMIC_ACQUIRE) != NULL;
}

int tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                 const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                 gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    (void)session;
    (void)req_ca_dn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    tls_pair *p = __atomic_load_n(&current, __ATOMIC_ACQUIRE);
    if (!p) return -1;   /* ends the handshake */
    *pcert = p->chain;
    *pcert_length = p->n;
    *pkey = p->key;
    return 0;
}

void tls_clear(void)
{
    __atomic_store_n(&current, NULL, __ATOMIC_RELEASE);
    while (installed) {
        tls_pair *older = installed->older;
        pair_free(installed);
        installed = older;
    }
}
