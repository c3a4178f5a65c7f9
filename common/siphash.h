/*
 * hash.h - SipHash-2-4, a keyed 64-bit hash.
 *
 * Keyed so that a client cannot choose inputs that collide (hash-flooding
 * the token cache, or aliasing another client's cache slot). hash_seed()
 * fills a process-wide random key once at start-up; hash_bytes() is then
 * thread-safe.
 */
#ifndef TG_HASH_H
#define TG_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t siphash24(const uint8_t key[16], const void *data, size_t len);

void hash_seed(void);                        /* random process key */
uint64_t hash_bytes(const void *data, size_t len);

/* Fills p with n bytes from the kernel's CSPRNG; aborts on failure. */
void random_bytes(void *p, size_t n);

/* Writes 2n lowercase hex digits of n random bytes plus NUL into out. */
void random_hex(char *out, size_t n);

#endif
