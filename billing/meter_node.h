/*
 * meter_node.h - the node part of event ids (billing/meter_event.h),
 * claimed per state file so that two gateway processes writing one state
 * file never generate the same id, without any setting.
 *
 * A claim is an open file description lock (F_OFD_SETLK) on byte `node` of
 * the file <state file>.meter-nodes, next to the state file: the kernel
 * drops it when the process exits, however it exits (kill -9 included),
 * so there is no lease to renew and no stale claim to expire. Processes
 * writing one SQLite file share a host (WAL needs shared memory), so a
 * local lock is the right scope. The preferred node (meter_node_id) is
 * tried first, then the next ones, wrapping at 64.
 *
 * Not thread-safe (one claim per meter_start); the handle owns the file
 * descriptor.
 */
#ifndef TG_METER_NODE_H
#define TG_METER_NODE_H

#include "common/err.h"

#define METER_NODE_COUNT 64      /* 1 << METER_NODE_BITS */

typedef struct meter_node meter_node;

/* Claims the first free node from preferred (0..63) on. NULL with err
 * when the lock file cannot be opened or every node is held. Release with
 * meter_node_release (NULL accepted), which frees the handle. */
meter_node *meter_node_claim(const char *state_path, int preferred, tg_err *err);
int meter_node_id(const meter_node *n);
void meter_node_release(meter_node *n);

#endif
