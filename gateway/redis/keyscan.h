/*
 * keyscan.h - the keys of one prefix on a server: the glob that matches
 * them, and removing them a bounded slice at a time.
 *
 * Used where a shared (key-prefix) database's keys are walked: FLUSHDB
 * confined to the prefix (gateway/policy/keywalk.h drives the slices from
 * the event loop) and removing a database's data when it is deleted
 * (setup.h: backend_db_purge, on a blocking connection). A walk of a
 * shared server's keyspace is never one Redis call: Redis serves nobody
 * else while a call runs, and the keyspace holds every tenant's keys. One
 * slice is one SCAN of KEYSCAN_SLICE_KEYS keys and the UNLINK of those
 * that match; other clients' commands run between slices.
 *
 * keyscan_glob and the scripts are pure and thread-safe;
 * keyscan_flush_sliced uses the caller's connection.
 */
#ifndef TG_KEYSCAN_H
#define TG_KEYSCAN_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "common/err.h"

#define KEYSCAN_PREFIX_MAX 64   /* longest key prefix of a shared database */
#define KEYSCAN_SLICE_KEYS 2000 /* SCAN COUNT of one slice of a walk */

/* Writes the glob pattern matching every key that starts with
 * prefix[0..len) ("<prefix>*", with the glob characters of the prefix
 * escaped) into out (cap bytes). Returns its length, or 0 if it does not
 * fit. */
size_t keyscan_glob(const char *prefix, size_t len, char *out, size_t cap);

/* One slice of a flush: SCAN ARGV[1] MATCH ARGV[2] COUNT ARGV[3], UNLINK
 * what matched; returns the next cursor ("0": done). Bounded work. */
extern const char keyscan_flush_slice_lua[];

/* UNLINKs every key matching glob (a keyscan_glob) on the blocking
 * connection c, one keyscan_flush_slice_lua call per slice, so other
 * clients of the server are served between slices. c must be allowed
 * EVAL, SCAN and UNLINK. 0, or -1 with a 503 err (c may then be broken:
 * discard it). Keys written under the glob while it runs may survive. */
int keyscan_flush_sliced(redisContext *c, const char *glob, tg_err *err);

#endif
