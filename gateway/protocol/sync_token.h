/*
 * sync_token.h - Upstash's `upstash-sync-token`: a counter per database,
 * bumped after each request that wrote, sent back on that database's
 * responses so a client can tell its writes were seen.
 *
 * Per database, like Upstash's: a process-wide counter would let anyone
 * watch every tenant's write rate. Counters are created on first use and
 * live until sync_token_free_all (at exit); the pointer returned stays
 * valid until then. Thread-safe: lookups take a read lock, bumps are
 * atomic.
 */
#ifndef TG_SYNC_TOKEN_H
#define TG_SYNC_TOKEN_H

#include <stdint.h>

typedef struct sync_token sync_token;

/* The counter of database_id (created at 0 on first use). */
sync_token *sync_token_for(const char *database_id);

uint64_t sync_token_bump(sync_token *t);           /* returns the new value */
uint64_t sync_token_current(const sync_token *t);

void sync_token_free_all(void);

#endif
