/*
 * keyscan.h - the keys of one prefix on a server: the glob that matches
 * them, and the fixed script that removes them.
 *
 * Used where a shared (key-prefix) database's keys are walked: FLUSHDB
 * confined to the prefix (gateway/policy/keyspace.c) and removing a
 * database's data when it is deleted (setup.h: backend_db_purge). Pure;
 * thread-safe.
 */
#ifndef TG_KEYSCAN_H
#define TG_KEYSCAN_H

#include <stddef.h>

#define KEYSCAN_PREFIX_MAX 64   /* longest key prefix of a shared database */

/* Writes the glob pattern matching every key that starts with
 * prefix[0..len) ("<prefix>*", with the glob characters of the prefix
 * escaped) into out (cap bytes). Returns its length, or 0 if it does not
 * fit. */
size_t keyscan_glob(const char *prefix, size_t len, char *out, size_t cap);

/* A Lua script that UNLINKs every key matching ARGV[1] (a keyscan_glob),
 * walking them with SCAN. */
extern const char keyscan_flush_lua[];

#endif
