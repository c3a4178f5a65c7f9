/*
 * monitor.h - what a tenant may see of Redis's MONITOR output.
 *
 * One MONITOR connection shows every command the server runs, for every
 * database on it. monitor_filter decides, for one line, whether it is the
 * caller's and rewrites it as the caller may see it:
 *
 *  - the line's logical DB must be the database's own (`[<db> addr]`);
 *  - commands the gateway runs for itself (AUTH, HELLO, CLIENT, SELECT,
 *    ACL, COMMAND, MONITOR, and anything Redis flags admin) are never
 *    shown;
 *  - a shared (key-prefix) database must have keys, located by Redis's
 *    key specs (cmd_mark_keys), and every one of them under its prefix,
 *    which is then stripped; a keyless command there (PING, ECHO) cannot
 *    be attributed and is not shown. PUBLISH counts its channel as a key.
 *
 * Pure; thread-safe.
 */
#ifndef TG_MONITOR_H
#define TG_MONITOR_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "gateway/redis/command_table.h"

/* line[0..len): a MONITOR status line without its '+'. db: the
 * database's logical DB; prefix (plen bytes) its key prefix, or NULL for
 * a dedicated database, whose channel namespace (`db<N>:`, NUL-terminated,
 * or NULL) is then taken off a PUBLISH channel. True when shown: out then
 * holds the line to show (appended). */
bool monitor_filter(const cmd_table *cmds, const char *line, size_t len, int db,
                    const char *prefix, size_t plen, const char *chan_ns, buf *out);

#endif
