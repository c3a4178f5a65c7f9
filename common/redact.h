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

/* Splits url into its public part (the password of its userinfo replaced
 * by "***", exactly as redact_url writes it) and the password itself
 * (empty when it has none), each into a caller buffer. 0, or -1 when a
 * part does not fit. url_join_secret undoes it: the public part with
 * "***" replaced by secret (unchanged when secret is empty). These keep a
 * backend's password out of the state file (auth/tenancy.c). */
int url_split_secret(const char *url, char *pub, size_t pcap, char *secret, size_t scap);
int url_join_secret(const char *pub, const char *secret, char *out, size_t cap);

#endif
