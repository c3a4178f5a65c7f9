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
 * to under its own header, if it is of this build's format. */
static int spill_open(meter_spill *s, tg_err *err)
{
    int fd = open(s->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
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
    } else {
        meter_spill_format f;
        tg_err why;
        if (meter_spill_read_header(fd, &f, &why) || f.version != 2) {
            close(fd);
            return tg_fail(err, 500, "spill %s: a file of another format is waiting to be "
                           "replayed (restart the gateway to replay it)", s->path);
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

int meter_spill_read_header(int fd, meter_spill_format *f, tg_err *err)
{
    char hdr[METER_SPILL_HEADER];
    memset(f, 0, sizeof *f);
    ssize_t r = pread(fd, hdr, sizeof hdr, 0);
    if (r != (ssize_t)sizeof hdr) return tg_fail(err, 500, "spill file: bad header");
    size_t want;
    if (!memcmp(hdr, METER_SPILL_MAGIC, 8)) {
        f->version = 2;
        want = sizeof(meter_row);
    } else if (!memcmp(hdr, METER_SPILL_MAGIC_V1, 8)) {
        f->version = 1;
        want = sizeof(meter_row_v1);
    } else {
        return tg_fail(err, 500, "spill file: bad header");
    }
    uint32_t rs;
    memcpy(&rs, hdr + 8, sizeof rs);
    if (rs != want) {
        int v = f->version;
        f->version = 0;
        return tg_fail(err, 500, "spill file: format %d with rows of %u bytes, this build "
                       "reads %zu", v, rs, want);
    }
    f->row_size = want;
    memcpy(f->file_id, hdr + 16, 32);
    f->file_id[32] = '\0';
    return 0;
}

void meter_spill_decode(const meter_spill_format *f, const void *raw, size_t n,
                        meter_row *out)
{
    if (f->version == 2) {
        if ((const void *)out != raw) memmove(out, raw, n * sizeof *out);
        return;
    }
    const meter_row_v1 *in = raw;
    for (size_t i = 0; i < n; i++) {
        const meter_row_v1 *a = &in[i];
        meter_row *b = &out[i];
        memset(b, 0, sizeof *b);
        b->id = a->id;
        b->time_ms = a->time_ms;
        b->bytes_in = a->bytes_in;
        b->bytes_out = a->bytes_out;
        b->commands = a->commands;
        b->billable_commands = a->billable_commands;
        b->backend_us = a->backend_us;
        b->http_status = a->http_status;
        b->kind = a->kind;
        b->outcome = a->outcome;
        memcpy(b->tenant_id, a->tenant_id, sizeof b->tenant_id);
        memcpy(b->database_id, a->database_id, sizeof b->database_id);
        memcpy(b->jti, a->jti, sizeof b->jti);
        b->names = a->names;
    }
}
