/* user.c - see user.h. */
#include "gateway/user.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int user_lookup(const char *name, tg_user *u, tg_err *err)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    memset(u, 0, sizeof *u);
    if (!name || !*name) return tg_fail(err, 400, "--user: empty name");
    int e = getpwnam_r(name, &pw, buf, sizeof buf, &res);
    if (!res) {
        char *end;
        long id = strtol(name, &end, 10);
        if (!*end && id >= 0) e = getpwuid_r((uid_t)id, &pw, buf, sizeof buf, &res);
    }
    if (!res)
        return tg_fail(err, 400, "--user %.64s: %s", name, e ? strerror(e) : "no such user");
    snprintf(u->name, sizeof u->name, "%s", pw.pw_name);
    u->uid = pw.pw_uid;
    u->gid = pw.pw_gid;
    return 0;
}

int user_adopt_files(const tg_user *u, const char *const *paths, int n, tg_err *err)
{
    if (geteuid() != 0) return 0;
    /* The files sit where the user can write: never follow a link it may
     * have planted there (to /etc/shadow, say) - opened without following
     * symbolic links, and only a regular file with one name is given. */
    for (int i = 0; i < n; i++) {
        if (!paths[i] || !*paths[i]) continue;
        int fd = open(paths[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 && errno == ENOENT) continue;
        if (fd < 0)
            return tg_fail(err, 500, "--user %s: cannot give %s to the user: %s%s", u->name,
                           paths[i], strerror(errno),
                           errno == ELOOP ? " (a symbolic link: refused)" : "");
        struct stat st;
        int rc = fstat(fd, &st);
        if (!rc && (!S_ISREG(st.st_mode) || st.st_nlink != 1)) {
            close(fd);
            return tg_fail(err, 500, "--user %s: %s is not a regular file with one name: "
                           "refused", u->name, paths[i]);
        }
        if (!rc) rc = fchown(fd, u->uid, u->gid);
        int e = errno;
        close(fd);
        if (rc)
            return tg_fail(err, 500, "--user %s: cannot give %s to the user: %s", u->name,
                           paths[i], strerror(e));
    }
    return 0;
}

int user_drop(const tg_user *u, tg_err *err)
{
    if (getuid() == u->uid && geteuid() == u->uid && u->uid != 0) return 0;
    if (initgroups(u->name, u->gid))
        return tg_fail(err, 500, "--user %s: initgroups: %s (start as root)", u->name,
                       strerror(errno));
    if (setresgid(u->gid, u->gid, u->gid))
        return tg_fail(err, 500, "--user %s: setgid: %s", u->name, strerror(errno));
    if (setresuid(u->uid, u->uid, u->uid))
        return tg_fail(err, 500, "--user %s: setuid: %s", u->name, strerror(errno));
    /* Verify: no id left root, and root cannot be taken back. */
    uid_t r, e, s;
    gid_t gr, ge, gs;
    if (getresuid(&r, &e, &s) || r != u->uid || e != u->uid || s != u->uid ||
        getresgid(&gr, &ge, &gs) || gr != u->gid || ge != u->gid || gs != u->gid)
        return tg_fail(err, 500, "--user %s: the switch did not take", u->name);
    if (u->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
        return tg_fail(err, 500, "--user %s: root could be taken back", u->name);
    return 0;
}

int user_check_state(const char *sqlite_path, tg_err *err)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", sqlite_path);
    const char *dir = dirname(copy);
    if (access(dir, W_OK | X_OK))
        return tg_fail(err, 500, "state directory %s is not writable by uid %u: %s (SQLite "
                       "creates its journal there; give it to the user)", dir,
                       (unsigned)geteuid(), strerror(errno));
    if (access(sqlite_path, F_OK) == 0 && access(sqlite_path, R_OK | W_OK))
        return tg_fail(err, 500, "state file %s is not readable and writable by uid %u: %s",
                       sqlite_path, (unsigned)geteuid(), strerror(errno));
    return 0;
}
