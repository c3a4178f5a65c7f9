/*
 * tls.h - the HTTPS certificate in force, swappable while serving.
 *
 * libmicrohttpd is given no certificate of its own: it asks GnuTLS to ask
 * tls_retrieve (MHD_OPTION_HTTPS_CERT_CALLBACK) at every handshake, which
 * hands out the credentials current at that moment. tls_install swaps
 * them (SIGHUP): handshakes from then on use the new certificate, and
 * connections already established keep theirs, undisturbed. A pair is
 * checked when loaded (PEM parses, the key matches the certificate), so a
 * bad file never replaces a good pair.
 *
 * One certificate per process (the callback has no context argument, so
 * the pair in force is a process-wide atomic pointer). Replaced pairs are
 * kept until tls_clear: a handshake on a worker thread may still be
 * using one. Reloads are rare, so that costs a few KB each.
 */
#ifndef TG_TLS_H
#define TG_TLS_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "common/err.h"

/* Parses and checks a certificate chain and its private key (PEM text)
 * and makes them the pair in force, the previous one retired. 0, or -1
 * with a 400 err saying what is wrong (the pair in force stays). Called
 * from one thread at a time. */
int tls_install(const char *cert_pem, const char *key_pem, tg_err *err);

/* Whether a pair is installed. */
int tls_installed(void);

/* MHD_OPTION_HTTPS_CERT_CALLBACK: the pair in force (GnuTLS's
 * gnutls_certificate_retrieve_function2). Any thread. */
int tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                 const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                 gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey);

/* Frees every pair, in force and retired: once no daemon runs. */
void tls_clear(void);

#endif
