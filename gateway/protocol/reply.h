/*
 * reply.h - encodes hiredis replies for the HTTP client.
 *
 * JSON (docs/protocol.md "Replies"): strings become JSON strings (escaped by
 * common/json_out.h), or base64 of their raw bytes when the client asked
 * for Upstash-Encoding: base64; integers become numbers; nil becomes null;
 * arrays nest. Without base64, bytes that are not valid UTF-8 are replaced
 * by U+FFFD so the output is always valid JSON (base64 is the binary-safe
 * mode). Error texts are never base64-encoded. RESP2 re-serialises the
 * reply byte for byte, except that a simple string or error line never
 * carries CR or LF (each becomes a space): those would end the line and
 * let the rest of the text be read as replies of its own (RESP injection
 * through a command name echoed in an error).
 *
 * Encoders append to a caller-owned buf; they read the reply and never keep
 * it. The *_size functions give the exact length an encoder appends.
 * Thread-safe.
 */
#ifndef TG_REPLY_H
#define TG_REPLY_H

#include <hiredis/hiredis.h>
#include <stdbool.h>

#include "common/buf.h"

/* Appends r as a JSON value. */
void reply_json_value(buf *out, const redisReply *r, bool base64);

/* Appends {"error":"<msg>"}. */
void reply_json_error(buf *out, const char *msg, size_t n);

/* Appends {"result":<r>} or, for an error reply, {"error":"..."}. */
void reply_json_entry(buf *out, const redisReply *r, bool base64);

/* A reply built from RESP text the gateway wrote itself (its own errors
 * in a reply's place), as hiredis builds replies, so freeReplyObject
 * releases it. Aborts if p[0..n) is not one whole reply: only a bug or
 * out of memory gets there. */
redisReply *reply_from_resp(const char *p, size_t n);

/* Appends the RESP2 encoding of r. */
void reply_resp2(buf *out, const redisReply *r);

/* The exact bytes the functions above append for r, computed without
 * building them (an answer is sized, and refused if too large, before it
 * is encoded: a 15 MB string of control bytes is 90 MB of JSON). */
size_t reply_json_value_size(const redisReply *r, bool base64);
size_t reply_json_entry_size(const redisReply *r, bool base64);
size_t reply_resp2_size(const redisReply *r);

/* The bytes of r's strings, a floor of every encoding above: each byte
 * becomes at least one. Cheap (no byte is read), so a reply far too large
 * is refused without being scanned. */
size_t reply_payload_size(const redisReply *r);

/* Appends "-<msg>\r\n", CR and LF in msg replaced (the gateway's own
 * errors, which may quote what the client sent). */
void reply_resp2_error(buf *out, const char *msg, size_t n);

#endif
