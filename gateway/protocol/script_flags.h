/*
 * script_flags.h - accepts the Upstash-only Lua shebang flag
 * `allow-key-locking`, which @upstash/ratelimit puts on every script
 * (`#!lua flags=allow-key-locking`) and which Redis itself rejects
 * ("Unexpected flag in script shebang").
 *
 * EVAL / EVAL_RO / SCRIPT LOAD get the flag removed (other flags, such as
 * no-writes, are kept). The script Redis stores then has another SHA-1
 * than the one the client computed, so each worker remembers
 * client-SHA -> stored-SHA and translates EVALSHA / EVALSHA_RO / SCRIPT
 * EXISTS on the way in, and SCRIPT LOAD answers with the client's SHA.
 * A SHA the process has not seen goes through unchanged (Redis answers
 * NOSCRIPT and the client falls back to EVAL, which teaches the map).
 *
 * The map is process-wide (a client's EVAL and its later EVALSHA may
 * arrive on connections owned by different workers), bounded, and guarded
 * by a mutex that only these script commands take, for a hash lookup.
 */
#ifndef TG_SCRIPT_FLAGS_H
#define TG_SCRIPT_FLAGS_H

#include "common/arena.h"
#include "gateway/protocol/argv.h"

/* Rewrites c in place (new strings in a) when it is one of the commands
 * above. For SCRIPT LOAD, *reply_override gets the client's SHA-1 (40 hex
 * digits, in a) to answer with; otherwise it is set to NULL. */
void script_flags_rewrite(arena *a, tg_cmd *c, const char **reply_override);

/* SHA-1 of p[0..n) as 40 lowercase hex digits plus NUL. */
void script_sha1_hex(const void *p, size_t n, char out[41]);

#endif
