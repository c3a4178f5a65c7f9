/*
 * purger.h - removes deleted databases' data off the control threads.
 *
 * The admin API's DELETE marks a database deleted (store_db_mark_deleted)
 * and answers at once; the purge (store_db_purge: its data removed from
 * its backend, its slot freed) must wait until every token cache has
 * rechecked (STORE_PURGE_DELAY_MS). A control thread that slept through
 * that wait would hold up every other control request, so the purger is
 * one thread of its own with its own SQLite connection and a queue of
 * (database, due time). A purge whose backend cannot be reached is tried
 * again PURGER_RETRY_MS later, PURGER_TRIES times in a row, then every
 * PURGER_BACKOFF_MS. purger_stop waits for the purges queued (each at its
 * due time; a retry at once) and runs them once; one backing off is left
 * to the next start.
 *
 * The queue is not the record: the state file is. At start and every
 * PURGER_RESCAN_MS the purger queues every database marked deleted and
 * not purged (due STORE_PURGE_DELAY_MS after its deleted_at), so a purge
 * survives a crash or a restart before it ran, and a DELETE made on
 * another node, or by an older binary, is purged too. Nodes sharing one
 * state file may both try a purge: store_db_purge claims the database
 * first (a 423 for the other: done), and a purged one is a 404.
 *
 * Thread-safe: purger_schedule from any thread.
 */
#ifndef TG_CONTROL_PURGER_H
#define TG_CONTROL_PURGER_H

#include "common/err.h"

#define PURGER_RETRY_MS 5000
#define PURGER_TRIES 3
#define PURGER_BACKOFF_MS (10 * 60 * 1000)
#define PURGER_RESCAN_MS (60 * 1000)

typedef struct purger purger;

/* Its own connection to sqlite_path; backend connections time out after
 * connect_timeout_ms. NULL + err. */
purger *purger_start(const char *sqlite_path, int connect_timeout_ms, tg_err *err);

/* database_id's data goes delay_ms from now (or later); one already
 * queued keeps its time (a DELETE repeated meanwhile does not put it off). */
void purger_schedule(purger *p, const char *database_id, int delay_ms);

/* Purges scheduled (and not yet run), for tests and the log. */
int purger_pending(purger *p);

/* Runs what is queued (waiting for each's due time), then stops. NULL ok. */
void purger_stop(purger *p);

#endif
