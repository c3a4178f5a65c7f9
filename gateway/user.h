/*
 * user.h - `tollgate serve --user NAME`: giving up root once the
 * listening sockets are bound.
 *
 * user_drop switches the whole process (every thread: glibc applies
 * set*id to all of them) to the user's uid, its primary gid and its
 * supplementary groups, and checks the switch took: afterwards neither
 * the real, effective nor saved id is root and root cannot be taken
 * back. Any failure is an error and the caller must exit: tollgate never
 * keeps running as root when asked to run as someone else.
 *
 * Before the switch, user_adopt_files hands the state files that already
 * exist (SQLite file, its -wal/-shm/-journal, the spill file) to the
 * user, so a state file first made by root stays usable; after it,
 * user_check_state says clearly when the state directory is not the
 * user's to write (SQLite creates files beside its database).
 */
#ifndef TG_USER_H
#define TG_USER_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

typedef struct tg_user {
    char name[64];
    uid_t uid;
    gid_t gid;
} tg_user;

/* Looks NAME up (a name, or a numeric uid). 0, or -1 with err. */
int user_lookup(const char *name, tg_user *u, tg_err *err);

/* Gives each existing file of paths[0..n) (NULLs skipped) to u. Only as
 * root; 0, or -1 with err naming the file. */
int user_adopt_files(const tg_user *u, const char *const *paths, int n, tg_err *err);

/* Becomes u for good. Not root and already u: nothing to do. 0, or -1
 * with err (the process must then stop). */
int user_drop(const tg_user *u, tg_err *err);

/* The directory of sqlite_path is writable and the file, if it exists,
 * readable and writable, by the current user. 0, or -1 with err. */
int user_check_state(const char *sqlite_path, tg_err *err);

#endif
