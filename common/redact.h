/*
 * redact.h - what may be written to a log: credentials taken out of URLs,
 * control bytes made visible.
 *
 * redact_url hides the password of a URL's userinfo
 * (`redis://user:***@host:6379/0`; a lone userinfo, the short form
 * `redis://password@host`, is a password). redact_escape writes bytes as
 * text a log line cannot be forged with: bytes below 0x20, 0x7f and the
 * backslash become \xNN.
 *
 * Both write a NUL-terminated string into the caller's out (cap bytes,
 * cap > 0), cut short (never mid-escape) when it does not fit, and return
 * out. Pure; thread-safe.
 */
#ifndef TG_REDACT_H
#define TG_REDACT_H

#include <stddef.h>

char *redact_url(const char *url, char *out, size_t cap);

char *redact_escape(const char *s, size_t n, char *out, size_t cap);

#endif
