/* resp_scan.c - see resp_scan.h: RESP2 framing, headers and lengths only. */
#include "gateway/redis/resp_scan.h"

#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

enum { S_TYPE, S_LINE, S_LF, S_BULK };

void resp_scan_init(resp_scan *s, uint64_t max_reply_bytes)
{
    memset(s, 0, sizeof *s);
    s->max_bytes = max_reply_bytes;
}

void resp_scan_free(resp_scan *s)
{
    free(s->open);
    s->open = NULL;
    s->cap = s->depth = 0;
}

/* The header's number: digits with an optional leading '-', any int64
 * (Redis sends integers up to INT64_MAX and down to INT64_MIN). */
static bool header_number(const resp_scan *s, int64_t *out)
{
    if (s->num_bad || s->num_len == 0) return false;
    bool neg = s->num[0] == '-';
    size_t i = neg ? 1 : 0;
    if (i == s->num_len) return false;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < s->num_len; i++) {
        if (s->num[i] < '0' || s->num[i] > '9') return false;
        uint64_t d = (uint64_t)(s->num[i] - '0');
        if (v > (limit - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return true;
}

/* One element ended: count it against the open arrays. True when that
 * ends the top-level reply. */
static bool element_done(resp_scan *s)
{
    while (s->depth > 0) {
        if (--s->open[s->depth - 1] > 0) return false;
        s->depth--;
    }
    return true;
}

/* A header line ended. Returns 1 when the top-level reply ended, 0 to go
 * on, -1 when the stream is not RESP2. */
static int header_done(resp_scan *s)
{
    int64_t n = 0;
    switch (s->type) {
    case '+':
    case '-':
        return element_done(s);
    case ':':
        return header_number(s, &n) ? element_done(s) : -1;
    case '$':
        if (!header_number(s, &n) || n < -1) return -1;
        if (n == -1) return element_done(s);
        s->bulk_left = (uint64_t)n + 2;
        s->state = S_BULK;
        return 0;
    case '*':
        if (!header_number(s, &n) || n < -1) return -1;
        if (s->depth >= RESP_SCAN_MAX_DEPTH) s->too_deep = true;
        if (n <= 0) return element_done(s);
        if (s->depth == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 16;
            int64_t *grown = xcalloc((size_t)s->cap, sizeof *grown);
            if (s->depth) memcpy(grown, s->open, (size_t)s->depth * sizeof *grown);
            free(s->open);
            s->open = grown;
        }
        s->open[s->depth++] = n;
        return 0;
    default:
        return -1;
    }
}

resp_step resp_scan_feed(resp_scan *s, const char *data, size_t n, size_t *used)
{
    size_t i = 0;
    resp_step step = RESP_MORE;
    while (i < n && step == RESP_MORE) {
        if (s->state == S_TYPE && s->depth == 0 && s->reply_bytes == 0)
            s->too_deep = s->too_big = false; /* a new top-level reply */
        size_t start = i;
        int ended = 0;
        switch (s->state) {
        case S_TYPE:
            s->type = data[i++];
            if (!strchr("+-:$*", s->type) || !s->type) {
                step = RESP_BROKEN;
                break;
            }
            s->num_len = 0;
            s->num_bad = false;
            s->state = S_LINE;
            break;
        case S_LINE: {
            /* Up to the CR; status and error texts are skipped, numbers
             * kept. */
            const char *cr = memchr(data + i, '\r', n - i);
            size_t take = cr ? (size_t)(cr - (data + i)) : n - i;
            if (s->type != '+' && s->type != '-') {
                if (s->num_len + take > sizeof s->num) s->num_bad = true;
                else memcpy(s->num + s->num_len, data + i, take);
                s->num_len += take;
            }
            i += take;
            if (cr) {
                i++;
                s->state = S_LF;
            }
            break;
        }
        case S_LF:
            if (data[i++] != '\n') {
                step = RESP_BROKEN;
                break;
            }
            s->state = S_TYPE;
            ended = header_done(s);
            if (ended < 0) step = RESP_BROKEN;
            break;
        case S_BULK: {
            uint64_t take = n - i < s->bulk_left ? n - i : s->bulk_left;
            i += (size_t)take;
            s->bulk_left -= take;
            if (s->bulk_left == 0) {
                s->state = S_TYPE;
                ended = element_done(s);
            }
            break;
        }
        }
        s->reply_bytes += i - start;
        if (s->max_bytes && s->reply_bytes > s->max_bytes) s->too_big = true;
        if (ended == 1) {
            step = RESP_DONE;
            s->last_bytes = s->reply_bytes;
            s->reply_bytes = 0;
        }
    }
    *used = i;
    return step;
}
