/*
 * resp_scan.h - finds where each reply on a Redis connection ends, ahead
 * of hiredis, and flags the replies the gateway must not take in.
 *
 * A backend connection is shared by many tenants' requests, so one reply
 * must not be able to break it for all of them. hiredis 0.14 (Debian's)
 * fails the whole stream on a reply nested deeper than 8 arrays (a Lua
 * script can return one), and would buffer a reply of any size. The
 * scanner walks the RESP2 framing - headers and lengths only, bulk
 * payloads are skipped by count - so the connection (backend.c) can drop
 * an offending reply, answer its request with an error, and go on with the
 * next reply.
 *
 * Incremental: feed bytes as they arrive, in any pieces. No allocation
 * except the stack of open arrays. Not thread-safe per scanner.
 */
#ifndef TG_RESP_SCAN_H
#define TG_RESP_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of arrays hiredis 0.14 reads. */
#define RESP_SCAN_MAX_DEPTH 8

typedef enum {
    RESP_MORE,       /* all bytes taken, the reply goes on */
    RESP_DONE,       /* a top-level reply ended after the bytes taken */
    RESP_BROKEN,     /* not RESP2: the stream cannot be read further */
} resp_step;

typedef struct resp_scan {
    int state;
    char type;
    char num[24];              /* the header's number, as text */
    size_t num_len;
    bool num_bad;
    uint64_t bulk_left;        /* payload bytes + CRLF still to skip */
    int64_t *open;             /* elements left per open array */
    int depth, cap;
    uint64_t reply_bytes;      /* of the current top-level reply */
    uint64_t last_bytes;       /* of the reply that ended last */
    uint64_t max_bytes;        /* 0: no limit */
    bool too_deep, too_big;    /* the current reply must be dropped */
} resp_scan;

void resp_scan_init(resp_scan *s, uint64_t max_reply_bytes);
void resp_scan_free(resp_scan *s);

/* Takes bytes from data[0..n): stops after the end of a top-level reply
 * (RESP_DONE), at the end of data (RESP_MORE), or on bytes that are not
 * RESP2 (RESP_BROKEN). *used gets how many bytes it took. After RESP_DONE
 * too_deep / too_big describe the reply just ended; they are cleared when
 * the next one starts. */
resp_step resp_scan_feed(resp_scan *s, const char *data, size_t n, size_t *used);

/* Whether the reply in progress (or just ended) must be dropped. */
static inline bool resp_scan_rejected(const resp_scan *s)
{
    return s->too_deep || s->too_big;
}

#endif
