/*
 * seal.h - secrets at rest: a short secret (a backend's password) sealed
 * with AES-256-GCM (GnuTLS) under a key derived from a configured secret
 * (acl_secret), so the state file never holds it in clear.
 *
 * A sealed value is text: "v1:" and the base64 of nonce (12 random
 * bytes), ciphertext and tag (16 bytes). Opening checks the tag: a value
 * sealed under another key, or altered, is refused, never returned wrong.
 * Pure apart from the random nonce; thread-safe.
 */
#ifndef TG_SEAL_H
#define TG_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define SEAL_KEY_LEN 32

/* The sealing key of secret[0..n) (HMAC-SHA-256 under a fixed label). */
void seal_key_derive(const void *secret, size_t n, uint8_t key[SEAL_KEY_LEN]);

/* Seals plain[0..n) into out (cap bytes, NUL-terminated). 0, or -1 with
 * err (out too small, or the cipher failed). */
int seal_close(const uint8_t key[SEAL_KEY_LEN], const char *plain, size_t n, char *out,
               size_t cap, tg_err *err);

/* Opens sealed (NUL-terminated) into out (cap bytes, NUL-terminated).
 * 0, or -1 with a 500 err (malformed, another key, or altered). */
int seal_open(const uint8_t key[SEAL_KEY_LEN], const char *sealed, char *out, size_t cap,
              tg_err *err);

#endif
