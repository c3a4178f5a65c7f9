/*
 * random.h - unpredictable bytes from the kernel's CSPRNG (getrandom).
 *
 * For secrets and identifiers a client must not guess: token ids, tenant
 * and database ids, the process hash key. Not for simulations: every call
 * is a system call. Running out of entropy blocks only at early boot;
 * any other failure aborts (like mem.h, there is no sane fallback).
 * Thread-safe.
 */
#ifndef TG_RANDOM_H
#define TG_RANDOM_H

#include <stddef.h>

/* Fills p[0..n) with random bytes. */
void random_bytes(void *p, size_t n);

/* Writes the 2n lowercase hex digits of n random bytes plus a NUL into
 * out (caller-provided, 2n + 1 bytes). */
void random_hex(char *out, size_t n);

#endif
