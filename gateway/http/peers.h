/*
 * peers.h - per client address state, over all worker threads: open
 * connections (the max_connections_per_ip cap) and the token bucket that
 * limits unauthenticated requests (anon_rate_per_ip, anon_burst_per_ip).
 *
 * The workers share the listening port (SO_REUSEPORT): the kernel spreads
 * one address's connections over them, so a per-daemon limit could only
 * be a share. One table for the server counts them all: a connection is
 * counted when it starts and uncounted when it closes (conn.c), and a new
 * one is refused on accept (libmicrohttpd's accept policy callback) while
 * its address has cap open. Two accepts racing on two threads may both
 * pass: the cap holds to within the number of threads.
 *
 * The bucket: an address starts with `burst` tokens, regains `rate` a
 * second up to `burst`, and each unauthenticated request it makes takes
 * one (peers_take_anon); with none left, the request is refused (429).
 * Authenticated requests never touch it, so a client that holds a valid
 * token is unaffected by a flood of bad tokens from its own address. An
 * entry lives while its address has connections open or its bucket is
 * still refilling (at most burst / rate seconds after its last one
 * closed), so memory follows open connections.
 *
 * Thread-safe (one mutex, held for a hash lookup). peers_new returns NULL
 * when there is nothing to limit (cap 0 and rate 0); every function
 * accepts NULL (no limit).
 */
#ifndef TG_PEERS_H
#define TG_PEERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct http_peers http_peers;

/* cap: open connections per address (0: no limit); rate, burst:
 * unauthenticated requests per second per address and the bucket's size
 * (rate 0: no limit; burst at least 1). */
http_peers *peers_new(long cap, long rate, long burst);
void peers_free(http_peers *p);

/* Whether a connection from sa may be accepted now. */
bool peers_admit(http_peers *p, const struct sockaddr *sa);

/* Counts (delta +1) or uncounts (-1) a connection from sa. */
void peers_count(http_peers *p, const struct sockaddr *sa, int delta);

/* Takes one token of sa's bucket at now_ms (clock_mono_ms): true, or false
 * when it is empty, with *retry_s the whole seconds until one is back. */
bool peers_take_anon(http_peers *p, const struct sockaddr *sa, uint64_t now_ms,
                     unsigned *retry_s);

/* Addresses held (tests). */
long peers_entries(http_peers *p);

#endif
