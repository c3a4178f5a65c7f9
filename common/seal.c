/* seal.c - see seal.h. */
#include "common/seal.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#include "common/base64.h"
#include "common/buf.h"
#include "common/random.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define PLAIN_MAX 512

void seal_key_derive(const void *secret, size_t n, uint8_t key[SEAL_KEY_LEN])
{
    static const char label[] = "tollgate-seal-v1";
    gnutls_hmac_fast(GNUTLS_MAC_SHA256, secret, n, label, sizeof label - 1, key);
}

static gnutls_aead_cipher_hd_t cipher_of(const uint8_t key[SEAL_KEY_LEN])
{
    gnutls_datum_t k = {(unsigned char *)key, SEAL_KEY_LEN};
    gnutls_aead_cipher_hd_t h = NULL;
    if (gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_AES_256_GCM, &k) < 0) return NULL;
    return h;
}

int seal_close(const uint8_t key[SEAL_KEY_LEN], const char *plain, size_t n, char *out,
               size_t cap, tg_err *err)
{
    uint8_t raw[NONCE_LEN + PLAIN_MAX + TAG_LEN];
    if (n > PLAIN_MAX) return tg_fail(err, 400, "secret too long to seal (over %d bytes)",
                                      PLAIN_MAX);
    random_bytes(raw, NONCE_LEN);
    gnutls_aead_cipher_hd_t h = cipher_of(key);
    if (!h) return tg_fail(err, 500, "seal: cipher unavailable");
    size_t ctlen = n + TAG_LEN;
    int rc = gnutls_aead_cipher_encrypt(h, raw, NONCE_LEN, NULL, 0, TAG_LEN, plain, n,
                                        raw + NONCE_LEN, &ctlen);
    gnutls_aead_cipher_deinit(h);
    if (rc < 0) return tg_fail(err, 500, "seal: %s", gnutls_strerror(rc));
    buf b;
    buf_init(&b);
    buf_puts(&b, "v1:");
    base64_encode(&b, raw, NONCE_LEN + ctlen);
    if (b.len + 1 > cap) {
        buf_release(&b);
        return tg_fail(err, 400, "sealed secret does not fit");
    }
    memcpy(out, b.data, b.len);
    out[b.len] = '\0';
    buf_release(&b);
    return 0;
}

int seal_open(const uint8_t key[SEAL_KEY_LEN], const char *sealed, char *out, size_t cap,
              tg_err *err)
{
    if (strncmp(sealed, "v1:", 3)) return tg_fail(err, 500, "sealed secret: unknown format");
    buf raw;
    buf_init(&raw);
    int rc = -1;
    if (!base64_decode(&raw, sealed + 3, strlen(sealed + 3), false) ||
        raw.len < NONCE_LEN + TAG_LEN || raw.len - NONCE_LEN - TAG_LEN + 1 > cap) {
        tg_fail(err, 500, "sealed secret: malformed");
        goto out;
    }
    gnutls_aead_cipher_hd_t h = cipher_of(key);
    if (!h) {
        tg_fail(err, 500, "seal: cipher unavailable");
        goto out;
    }
    size_t plen = cap;
    int g = gnutls_aead_cipher_decrypt(h, raw.data, NONCE_LEN, NULL, 0, TAG_LEN,
                                       (uint8_t *)raw.data + NONCE_LEN, raw.len - NONCE_LEN, out, &plen);
    gnutls_aead_cipher_deinit(h);
    if (g < 0 || plen >= cap) {
        tg_fail(err, 500, "sealed secret: does not open under this acl_secret "
                "(another secret, or altered)");
        goto out;
    }
    out[plen] = '\0';
    rc = 0;
out:
    buf_release(&raw);
    return rc;
}
