/* spill.c - see spill.h. */
#include "billing/spill.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/mem.h"
#include "common/random.h"

struct meter_spill {
    pthread_mutex_t mu;
    char *path;
    int fd;
};

meter_spill *meter_spill_new(const char *path)
{
    meter_spill *s = xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->path = xstrdup(path);
    s->fd = -1;
    return s;
}

void meter_spill_free(meter_spill *s)
{
    if (!s) return;
    if (s->fd >= 0) close(s->fd);
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Caller holds mu. Opens the file, writing a header if it is new. An
 * existing file (left by a run whose replay has not happened) is appended
 * to under its own header. */
static int spill_open(meter_spill *s, tg_err *err)
{
    int fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return tg_fail(err, 500, "spill %s: %s", s->path, strerror(errno));
    off_t end = lseek(fd, 0, SEEK_END);
    if (end == 0) {
        char hdr[METER_SPILL_HEADER] = {0};
        memcpy(hdr, METER_SPILL_MAGIC, 8);
        uint32_t rs = (uint32_t)sizeof(meter_row);
        memcpy(hdr + 8, &rs, sizeof rs);
        random_hex(hdr + 16, 16); /* 32 digits and a NUL, inside the header */
        if (write_all(fd, hdr, sizeof hdr)) {
            int e = errno;
            close(fd);
            return tg_fail(err, 500, "spill %s: %s", s->path, strerror(e));
        }
    }
    s->fd = fd;
    return 0;
}

int meter_spill_append(meter_spill *s, const meter_row *rows, size_t n, tg_err *err)
{
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (s->fd < 0 && spill_open(s, err)) {
        rc = -1;
        goto out;
    }
    if (write_all(s->fd, rows, n * sizeof *rows)) {
        rc = tg_fail(err, 500, "spill %s: %s", s->path, strerror(errno));
        /* A torn row would be skipped on replay only at the very end:
         * start a fresh file position on a row boundary next time. */
        off_t end = lseek(s->fd, 0, SEEK_END);
        if (end > METER_SPILL_HEADER) {
            off_t whole = METER_SPILL_HEADER +
                          (end - METER_SPILL_HEADER) / (off_t)sizeof *rows * (off_t)sizeof *rows;
            if (ftruncate(s->fd, whole)) { /* reported above already */ }
        }
    }
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int meter_spill_read_header(int fd, char *file_id, tg_err *err)
{
    char hdr[METER_SPILL_HEADER];
    ssize_t r = pread(fd, hdr, sizeof hdr, 0);
    if (r != (ssize_t)sizeof hdr || memcmp(hdr, METER_SPILL_MAGIC, 8) != 0)
        return tg_fail(err, 500, "spill file: bad header");
    uint32_t rs;
    memcpy(&rs, hdr + 8, sizeof rs);
    if (rs != sizeof(meter_row))
        return tg_fail(err, 500, "spill file: rows of %u bytes, this build writes %zu",
                       rs, sizeof(meter_row));
    memcpy(file_id, hdr + 16, 32);
    file_id[32] = '\0';
    return 0;
}
