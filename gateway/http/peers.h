/*
 * peers.h - client connections per address, over all worker threads: the
 * max_connections_per_ip cap.
 *
 * The workers share the listening port (SO_REUSEPORT): the kernel spreads
 * one address's connections over them, so a per-daemon limit could only
 * be a share. One table for the server counts them all: a connection is
 * counted when it starts and uncounted when it closes (conn.c), and a new
 * one is refused on accept (libmicrohttpd's accept policy callback) while
 * its address has cap open. Two accepts racing on two threads may both
 * pass: the cap holds to within the number of threads.
 *
 * Thread-safe (one mutex, held for a hash lookup). peers_new with cap 0
 * returns NULL: no cap; every function accepts NULL.
 */
#ifndef TG_PEERS_H
#define TG_PEERS_H

#include <stdbool.h>
#include <sys/socket.h>

typedef struct http_peers http_peers;

http_peers *peers_new(long cap);
void peers_free(http_peers *p);

/* Whether a connection from sa may be accepted now. */
bool peers_admit(http_peers *p, const struct sockaddr *sa);

/* Counts (delta +1) or uncounts (-1) a connection from sa. */
void peers_count(http_peers *p, const struct sockaddr *sa, int delta);

#endif
