/*
 * quota_gate.h - a data-plane request against its database's limits
 * (billing/quota.h): the refusal's answer and the rate-limit headers.
 *
 * The decision itself is quota_check, called by dataplane.c once every
 * command of the request is admitted and before anything is sent, so a
 * pipeline is refused whole or not at all; quota_record settles it when
 * the request completes. This file turns a verdict into HTTP:
 *
 *   - a refusal: 429 (413 for the size limits) with
 *     {"error": "ERR <Upstash's words>. Limit: N, Usage: M", "limit": name}
 *     and Retry-After (never before the reset the headers announce);
 *   - every answer of a database with rate or volume limits: the IETF
 *     draft's RateLimit-Policy / RateLimit (draft-ietf-httpapi-ratelimit-
 *     headers) and X-RateLimit-Limit / -Remaining / -Reset for the tightest
 *     limit.
 *
 * Pure functions of the verdict; thread-safe.
 */
#ifndef TG_QUOTA_GATE_H
#define TG_QUOTA_GATE_H

#include <microhttpd.h>

#include "billing/quota.h"
#include "common/config.h"

/* Adds the rate-limit headers of v (none when it names no policy). */
void quota_gate_headers(const quota_verdict *v, struct MHD_Response *resp);

/* The refusal of v (v->allowed false), headers included. */
struct MHD_Response *quota_gate_refusal(const tg_config *cfg, const char *origin,
                                        const quota_verdict *v);

#endif
