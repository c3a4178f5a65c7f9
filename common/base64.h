/*
 * base64.h - standard base64 (RFC 4648, with padding).
 *
 * The Upstash-Encoding: base64 reply mode encodes every string with it, and
 * JWT handling needs base64url decoding. Pure functions, thread-safe.
 */
#ifndef TG_BASE64_H
#define TG_BASE64_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/* Appends the base64 encoding of p[0..n) to out. */
void base64_encode(buf *out, const void *p, size_t n);

/* Appends the decoding of s[0..n) to out. url selects the base64url
 * alphabet; padding is optional. Returns false (out unchanged in length)
 * on any character outside the alphabet or an impossible length. */
bool base64_decode(buf *out, const char *s, size_t n, bool url);

#endif
