/*
 * hex.h - lowercase hexadecimal, the one digit table.
 *
 * Used for SHA-1 script digests, random identifiers and \u00XX escapes,
 * and to read \uXXXX and %XX in requests.
 * Pure data and functions; thread-safe.
 */
#ifndef TG_HEX_H
#define TG_HEX_H

#include <stddef.h>

/* "0123456789abcdef": hex_digits[v] is the digit of v (0..15). */
extern const char hex_digits[16];

/* Writes the 2n lowercase hex digits of p[0..n) plus a NUL into out
 * (caller-provided, 2n + 1 bytes). */
void hex_encode(char *out, const void *p, size_t n);

/* The value (0..15) of one hex digit, either case, or -1. */
int hex_value(char c);

#endif
