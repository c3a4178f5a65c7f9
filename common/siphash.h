/*
 * siphash.h - SipHash-2-4, a keyed 64-bit hash, and the process's keyed
 * hash built on it.
 *
 * siphash24 is the algorithm of Aumasson and Bernstein, bit for bit (the
 * reference test vectors hold): every node derives the same values from
 * the same key, which the backend ACL passwords rely on. Pure, thread-safe.
 *
 * hash_bytes is keyed with a process-wide random key so that a client
 * cannot choose inputs that collide (hash-flooding the token cache, or
 * aliasing another client's cache slot). hash_seed() fills that key once
 * at start-up, before any thread calls hash_bytes(); afterwards
 * hash_bytes() is thread-safe. Its values differ between processes.
 */
#ifndef TG_SIPHASH_H
#define TG_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 of data[0..len) under the 128-bit key. */
uint64_t siphash24(const uint8_t key[16], const void *data, size_t len);

void hash_seed(void);                        /* random process key */
uint64_t hash_bytes(const void *data, size_t len);

#endif
