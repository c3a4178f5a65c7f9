/*
 * keywalk.h - a shared database's keyspace commands as walks in bounded
 * slices.
 *
 * On a shared (key-prefix) database, DBSIZE, FLUSHDB/FLUSHALL, RANDOMKEY,
 * KEYS and SCAN reach keys of every tenant on the server: the prefix's
 * keys can only be found by SCANning the whole keyspace. One Redis call
 * doing that would stall every tenant for as long as the walk lasts (1.4 s
 * for DBSIZE among 2 M keys). A keywalk is instead a small state machine
 * that its driver (gateway/handlers/walk.h) runs one slice per Redis call:
 * keywalk_next gives the slice's command, the driver sends it, and
 * keywalk_feed takes its reply and says whether another slice follows or
 * the answer is ready. Other clients' commands run between slices.
 *
 * One slice is one SCAN of about KEYSCAN_SLICE_KEYS keys (FLUSH: a
 * script doing that SCAN and the UNLINK of what matched, still one
 * bounded call). The answers are those the single-call scripts gave:
 *   DBSIZE     the number of distinct keys of the prefix (SCAN may return
 *              a key twice; keys are counted once, by a 64-bit keyed hash)
 *   FLUSH      +OK once every key of the prefix was unlinked
 *   RANDOMKEY  a key of the prefix, from a random starting cursor; nil
 *              when a full pass found none
 *   KEYS       every distinct key matching the pattern
 *   SCAN       [cursor, keys]: scans on until COUNT keys matched, the
 *              cursor is 0 or KEYWALK_SCAN_ROUNDS slices ran
 * Keys in answers keep their prefix (keyspace_unprefix strips it). A walk
 * is not atomic: keys written while it runs may or may not be seen.
 *
 * Memory: the walk lives in the caller's arena; what grows with the walk
 * (the seen-keys set, the keys of KEYS/SCAN) is malloc'd and released by
 * keywalk_free. Answers are hiredis replies owned by the caller
 * (freeReplyObject). One walk is used by one thread; distinct walks are
 * independent.
 */
#ifndef TG_KEYWALK_H
#define TG_KEYWALK_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "gateway/protocol/argv.h"

typedef enum {
    KEYWALK_DBSIZE,
    KEYWALK_FLUSH,
    KEYWALK_RANDOMKEY,
    KEYWALK_KEYS,
    KEYWALK_SCAN,
} keywalk_kind;

#define KEYWALK_SCAN_ROUNDS 100  /* slices of one SCAN call at most */
#define KEYWALK_RANDOM_FIRST 100 /* COUNT of RANDOMKEY's first slice; then doubled */

typedef struct keywalk keywalk;

typedef struct keywalk_spec {
    keywalk_kind kind;
    const char *match;           /* the glob, prefix included */
    size_t match_len;
    const char *cursor;          /* first cursor (SCAN's, RANDOMKEY's random
                                    start); NULL: "0" */
    size_t cursor_len;
    uint32_t count;              /* SCAN: keys wanted (its COUNT, capped) */
    const char *type;            /* SCAN TYPE, or NULL */
    size_t type_len;
    uint64_t pick;               /* RANDOMKEY: which key of the first page */
} keywalk_spec;

/* A walk as s says, strings copied into a. Never NULL. */
keywalk *keywalk_new(arena *a, const keywalk_spec *s);

/* Bounds the keys an answer carries (KEYS, SCAN), as max_reply_bytes
 * bounds a reply: past it the answer is an error. 0 (the default): no
 * limit. */
void keywalk_limit(keywalk *w, uint64_t max_bytes);

keywalk_kind keywalk_kind_of(const keywalk *w);

/* The next slice's command, in w's own storage (valid until the next
 * keywalk_feed). Runs as the gateway's ACL user. */
void keywalk_next(keywalk *w, tg_cmd *out);

/* Takes the reply to the last keywalk_next (r is consumed: freed, or
 * handed back as the answer). Returns true when the walk is over, with
 * *answer set (an error reply ends it, as its answer); false when another
 * slice follows. */
bool keywalk_feed(keywalk *w, redisReply *r, redisReply **answer);

uint32_t keywalk_slices(const keywalk *w);   /* slices fed so far */

/* Releases what the walk malloc'd; the walk itself stays in its arena.
 * NULL ok; twice ok. */
void keywalk_free(keywalk *w);

#endif
