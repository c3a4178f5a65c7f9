/*
 * json_out.h - writing JSON strings: the one escaper.
 *
 * Every JSON string tollgate writes (Redis replies, error messages, usage
 * statements) goes through json_out_string, so the output is always valid
 * JSON: '"' and '\\' are escaped, \n \r \t by their short forms, other
 * bytes below 0x20 as \u00XX (lowercase hex), and bytes that are not valid
 * UTF-8 (stray continuation bytes, truncated or overlong sequences,
 * surrogates, code points past U+10FFFF) become U+FFFD. Valid UTF-8 and
 * everything else, DEL and '/' included, is copied unchanged. NUL is an
 * ordinary byte: the length is explicit.
 *
 * Appends to a caller-owned buf; pure otherwise, thread-safe.
 */
#ifndef TG_JSON_OUT_H
#define TG_JSON_OUT_H

#include <stddef.h>

#include "common/buf.h"

/* Appends s[0..n) to out as one quoted JSON string. */
void json_out_string(buf *out, const char *s, size_t n);

/* The bytes json_out_string would append for s[0..n), quotes included
 * (sizing an answer before building it). */
size_t json_out_string_size(const char *s, size_t n);

#endif
