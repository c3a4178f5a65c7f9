/* log.c - see log.h. */
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int log_level_max = LOG_INFO;
static int access_fd = 2;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(int level)
{
    log_level_max = level;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

void log_at(int level, const char *fmt, ...)
{
    if (!log_enabled(level)) return;
    char line[1024];
    int n = snprintf(line, sizeof line, "tollgate: %s: ",
                     level_names[level < 0 ? 0 : level > LOG_DEBUG ? LOG_DEBUG : level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) len = sizeof line - 2;
    line[len++] = '\n';
    write_all(2, line, len);
}

int log_open_access(const char *dest, tg_err *err)
{
    log_close_access();
    if (!dest || !*dest || !strcmp(dest, "-") || !strcmp(dest, "stderr")) return 0;
    int fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return tg_fail(err, 500, "access_log %s: %s", dest, strerror(errno));
    access_fd = fd;
    return 0;
}

void log_close_access(void)
{
    if (access_fd > 2) close(access_fd);
    access_fd = 2;
}

void log_access(const char *line, size_t len)
{
    write_all(access_fd, line, len);
}
