/* pubsub.c - see pubsub.h: SSE streams multiplexed over one subscriber
 * connection per backend. */
#include "gateway/handlers/pubsub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/meter.h"
#include "billing/quota.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/json_out.h"
#include "common/metrics.h"
#include "common/mem.h"
#include "gateway/handlers/accounting.h"
#include "gateway/handlers/dp_request.h"
#include "gateway/handlers/quota_gate.h"
#include "gateway/http/request.h"
#include "gateway/http/respond.h"
#include "gateway/http/stream.h"
#include "gateway/policy/keyspace.h"
#include "gateway/policy/monitor.h"
#include "gateway/policy/policy.h"
#include "gateway/protocol/argv.h"
#include "gateway/redis/backend.h"
#include "gateway/redis/subconn.h"

#define PS_NAMES_MAX 64          /* channels or patterns per stream */

typedef struct ps_backend ps_backend;
typedef struct ps_chan ps_chan;
typedef struct ps_stream ps_stream;

/* One stream's interest in one channel or pattern. */
typedef struct ps_sub {
    ps_stream *st;
    ps_chan *ch;                 /* NULL once left */
    int pos;                     /* index in ch->subs */
    const char *shown;           /* the name as the client wrote it (arena) */
    size_t shown_len;
    bool confirmed;              /* its subscribe event was sent */
} ps_sub;

/* A channel or pattern subscribed on a backend's connection. */
struct ps_chan {
    ps_chan *hnext;
    char *name;                  /* in Redis: namespaced (a pattern escaped) */
    size_t len;
    bool pattern;
    bool confirmed;              /* Redis acknowledged the SUBSCRIBE */
    ps_sub **subs;
    int n, cap;
};

struct ps_stream {
    tg_request *r;
    http_stream *s;
    ps_backend *be;
    ps_stream *prev, *next;      /* be->streams or be->monitors */
    bool monitor, pattern, ok_sent;
    size_t nslen;                /* its namespace's length */
    int db;                      /* monitor: the logical DB */
    const char *prefix;          /* monitor, shared database: key prefix */
    size_t plen;
    const cmd_table *cmds;       /* monitor: the backend's command table */
    char chan_ns[24];            /* monitor, dedicated database: db<N>: */
    ps_sub *subs;
    int nsubs, confirmed;
    uint64_t messages;
};

struct ps_backend {
    ps_backend *next;
    pubsub *hub;
    char *url;
    subconn *sub, *mon;          /* NULL until used */
    bool mon_ok;                 /* MONITOR answered +OK */
    ps_chan **buckets;
    size_t nbuckets, nchans;
    ps_stream *streams, *monitors;
};

struct pubsub {
    const tg_config *cfg;
    int epfd;
    ps_backend *backends;
    int nstreams;
    uint64_t next_beat;
};

static uint64_t slow_cut;        /* atomic: streams cut off, all workers */

uint64_t pubsub_slow_disconnects(void)
{
    return __atomic_load_n(&slow_cut, __ATOMIC_RELAXED);
}

/* ==== Channels ==== */

static size_t chan_hash(const char *s, size_t n, bool pattern)
{
    uint64_t h = pattern ? 0x84222325cbf29ce4ULL : 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
    return (size_t)h;
}

static ps_chan **chan_slot(ps_backend *be, const char *name, size_t len, bool pattern)
{
    ps_chan **pp = &be->buckets[chan_hash(name, len, pattern) & (be->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->hnext)
        if ((*pp)->pattern == pattern && (*pp)->len == len && !memcmp((*pp)->name, name, len))
            break;
    return pp;
}

static void chan_grow(ps_backend *be)
{
    size_t nb = be->nbuckets ? be->nbuckets * 2 : 64;
    ps_chan **b = xcalloc(nb, sizeof *b);
    for (size_t i = 0; i < be->nbuckets; i++)
        for (ps_chan *c = be->buckets[i], *next; c; c = next) {
            next = c->hnext;
            size_t k = chan_hash(c->name, c->len, c->pattern) & (nb - 1);
            c->hnext = b[k];
            b[k] = c;
        }
    free(be->buckets);
    be->buckets = b;
    be->nbuckets = nb;
}

static ps_chan *chan_find(ps_backend *be, const char *name, size_t len, bool pattern)
{
    return be->nbuckets ? *chan_slot(be, name, len, pattern) : NULL;
}

static void chan_free(ps_chan *c)
{
    free(c->subs);
    free(c->name);
    free(c);
}

static void chan_unlink(ps_backend *be, ps_chan *c)
{
    ps_chan **pp = chan_slot(be, c->name, c->len, c->pattern);
    *pp = c->hnext;
    be->nchans--;
}

/* UNSUBSCRIBE / PUNSUBSCRIBE the channel, and forget it. */
static void chan_drop(ps_backend *be, ps_chan *c)
{
    const char *argv[] = {c->pattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE", c->name};
    size_t lens[] = {strlen(argv[0]), c->len};
    tg_err err;
    if (be->sub && subconn_is_up(be->sub)) subconn_send(be->sub, 2, argv, lens, &err);
    chan_unlink(be, c);
    chan_free(c);
}

/* ==== Events ==== */

/* Writes one event; a stream that cannot take it (over sse_buffer_bytes)
 * is cut off. */
static void emit(ps_stream *st, const buf *ev)
{
    if (stream_ended(st->s)) return;
    if (stream_write(st->s, ev->data, ev->len) == 0) return;
    __atomic_add_fetch(&slow_cut, 1, __ATOMIC_RELAXED);
    metrics_add(MS_SSE_DROPPED, 1);
    fprintf(stderr, "tollgate: stream cut off: its client reads too slowly "
            "(over sse_buffer_bytes unread; %llu so far)\n",
            (unsigned long long)pubsub_slow_disconnects());
    stream_end(st->s, false);
}

/* data: <head><payload>: a payload's line breaks continue the event on
 * further data: lines (SSE), so no byte of it can end the event early. */
static void event_build(buf *ev, const char *head, size_t hlen, const char *payload, size_t n)
{
    buf_reset(ev);
    buf_append(ev, "data: ", 6);
    buf_append(ev, head, hlen);
    for (size_t i = 0; i < n; i++) {
        char ch = payload[i];
        if (ch != '\n' && ch != '\r') {
            buf_putc(ev, ch);
            continue;
        }
        if (ch == '\r' && i + 1 < n && payload[i + 1] == '\n') i++;
        buf_append(ev, "\ndata: ", 7);
    }
    buf_append(ev, "\n\n", 2);
}

static void sub_confirm(ps_sub *sb)
{
    ps_stream *st = sb->st;
    buf ev;
    char count[24];
    sb->confirmed = true;
    st->confirmed++;
    int n = snprintf(count, sizeof count, ",%d", st->confirmed);
    buf_init(&ev);
    buf_puts(&ev, "data: ");
    buf_puts(&ev, st->pattern ? "psubscribe," : "subscribe,");
    buf_append(&ev, sb->shown, sb->shown_len);
    buf_append(&ev, count, (size_t)n);
    buf_append(&ev, "\n\n", 2);
    emit(st, &ev);
    buf_release(&ev);
}

/* ==== The subscriber connection ==== */

static void on_message(ps_backend *be, ps_chan *c, const char *chan, size_t clen,
                       const redisReply *payload)
{
    buf head, ev;
    const char *last = NULL;     /* the name the event in ev was built for */
    size_t last_len = 0, last_ns = 0;
    buf_init(&head);
    buf_init(&ev);
    for (int i = 0; i < c->n; i++) {
        ps_sub *sb = c->subs[i];
        ps_stream *st = sb->st;
        if (!sb->confirmed || stream_ended(st->s)) continue;
        st->messages++;
        /* Streams that asked for the same name get the same bytes: the
         * event is built once per distinct name, not once per stream. */
        if (last && last_len == sb->shown_len && last_ns == st->nslen &&
            !memcmp(last, sb->shown, last_len)) {
            emit(st, &ev);
            continue;
        }
        last = sb->shown;
        last_len = sb->shown_len;
        last_ns = st->nslen;
        buf_reset(&head);
        buf_puts(&head, c->pattern ? "pmessage," : "message,");
        buf_append(&head, sb->shown, sb->shown_len);
        buf_putc(&head, ',');
        if (c->pattern) {    /* the channel, out of the namespace */
            size_t skip = clen >= st->nslen ? st->nslen : 0;
            buf_append(&head, chan + skip, clen - skip);
            buf_putc(&head, ',');
        }
        event_build(&ev, head.data, head.len, payload->str, payload->len);
        emit(st, &ev);
    }
    (void)be;
    buf_release(&head);
    buf_release(&ev);
}

static bool elem_is(const redisReply *r, const char *word)
{
    return (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) &&
           r->len == strlen(word) && !memcmp(r->str, word, r->len);
}

/* Elements 1..n-1 are strings, the last a string (a message) or an
 * integer (a subscription count). */
static bool well_formed(const redisReply *r)
{
    for (size_t i = 1; i + 1 < r->elements; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING) return false;
    int last = r->element[r->elements - 1]->type;
    return r->element[0]->type == REDIS_REPLY_STRING &&
           (last == REDIS_REPLY_STRING || last == REDIS_REPLY_INTEGER);
}

static void sub_on_reply(void *ctx, redisReply *r)
{
    ps_backend *be = ctx;
    if (r->type == REDIS_REPLY_ERROR) {
        /* An error names no channel, and its cause (the URL's user may not
         * subscribe, say) is the connection's, not one stream's: the
         * connection is dropped, its streams end (clients resubscribe),
         * rather than leave streams waiting for a confirmation that never
         * comes. */
        fprintf(stderr, "tollgate: pub/sub: backend refused a subscription: %.*s\n",
                (int)(r->len > 200 ? 200 : r->len), r->str);
        subconn_fail(be->sub, "a subscription refused");
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || !well_formed(r)) return;
    const redisReply *k = r->element[0], *a = r->element[1];
    if (elem_is(k, "message")) {
        ps_chan *c = chan_find(be, a->str, a->len, false);
        if (c && r->element[2]->type == REDIS_REPLY_STRING) on_message(be, c, a->str, a->len, r->element[2]);
    } else if (elem_is(k, "pmessage") && r->elements == 4) {
        ps_chan *c = chan_find(be, a->str, a->len, true);
        const redisReply *ch = r->element[2];
        if (c && r->element[3]->type == REDIS_REPLY_STRING)
            on_message(be, c, ch->str, ch->len, r->element[3]);
    } else if (elem_is(k, "subscribe") || elem_is(k, "psubscribe")) {
        ps_chan *c = chan_find(be, a->str, a->len, k->str[0] == 'p');
        if (!c || c->confirmed) return;
        c->confirmed = true;
        if (c->n == 0) { /* every stream left while it was asked for */
            chan_drop(be, c);
            return;
        }
        for (int i = 0; i < c->n; i++)
            if (!c->subs[i]->confirmed) sub_confirm(c->subs[i]);
    }
}

/* The connection is lost: so is every subscription. The streams end (a
 * client resubscribes as after any disconnect). */
static void sub_on_down(void *ctx, const char *why)
{
    ps_backend *be = ctx;
    fprintf(stderr, "tollgate: pub/sub: subscriber connection lost (%s); ending its streams\n",
            why);
    for (ps_stream *st = be->streams; st; st = st->next) {
        for (int i = 0; i < st->nsubs; i++) st->subs[i].ch = NULL;
        stream_end(st->s, false);
    }
    for (size_t i = 0; i < be->nbuckets; i++) {
        for (ps_chan *c = be->buckets[i], *next; c; c = next) {
            next = c->hnext;
            chan_free(c);
        }
        be->buckets[i] = NULL;
    }
    be->nchans = 0;
}

/* ==== The monitor connection ==== */

static void mon_ok(ps_stream *st)
{
    static const buf ok = {(char *)"data: \"OK\"\n\n", 12, 0};
    st->ok_sent = true;
    emit(st, &ok);
}

static void mon_on_reply(void *ctx, redisReply *r)
{
    ps_backend *be = ctx;
    if (r->type != REDIS_REPLY_STATUS) return;
    if (!be->mon_ok) {
        be->mon_ok = true;   /* MONITOR's own +OK */
        for (ps_stream *st = be->monitors; st; st = st->next)
            if (!st->ok_sent) mon_ok(st);
        return;
    }
    buf line, ev;
    buf_init(&line);
    buf_init(&ev);
    for (ps_stream *st = be->monitors; st; st = st->next) {
        buf_reset(&line);
        if (stream_ended(st->s) ||
            !monitor_filter(st->cmds, r->str, r->len, st->db, st->prefix, st->plen,
                            st->chan_ns, &line))
            continue;
        buf_reset(&ev);
        buf_puts(&ev, "data: ");
        json_out_string(&ev, line.data, line.len);
        buf_append(&ev, "\n\n", 2);
        st->messages++;
        emit(st, &ev);
    }
    buf_release(&line);
    buf_release(&ev);
}

static void mon_on_down(void *ctx, const char *why)
{
    ps_backend *be = ctx;
    fprintf(stderr, "tollgate: monitor connection lost (%s); ending its streams\n", why);
    be->mon_ok = false;
    for (ps_stream *st = be->monitors; st; st = st->next) stream_end(st->s, false);
}

/* ==== The hub ==== */

pubsub *pubsub_new(const tg_config *cfg, int epfd)
{
    pubsub *p = xcalloc(1, sizeof *p);
    p->cfg = cfg;
    p->epfd = epfd;
    return p;
}

void pubsub_free(pubsub *p)
{
    if (!p) return;
    for (ps_backend *be = p->backends, *next; be; be = next) {
        next = be->next;
        subconn_free(be->sub);
        subconn_free(be->mon);
        for (size_t i = 0; i < be->nbuckets; i++)
            for (ps_chan *c = be->buckets[i], *cn; c; c = cn) {
                cn = c->hnext;
                chan_free(c);
            }
        free(be->buckets);
        free(be->url);
        free(be);
    }
    free(p);
}

static ps_backend *backend_of(pubsub *p, const char *url)
{
    for (ps_backend *be = p->backends; be; be = be->next)
        if (!strcmp(be->url, url)) return be;
    ps_backend *be = xcalloc(1, sizeof *be);
    be->hub = p;
    be->url = xstrdup(url);
    be->next = p->backends;
    p->backends = be;
    return be;
}

static const subconn_ops sub_ops = {sub_on_reply, sub_on_down};
static const subconn_ops mon_ops = {mon_on_reply, mon_on_down};

/* The backend's subscriber (or monitor) connection, connecting. */
static int conn_ready(pubsub *p, ps_backend *be, bool monitor, tg_err *err)
{
    subconn **c = monitor ? &be->mon : &be->sub;
    if (!*c) {
        *c = subconn_new(be->url, monitor ? "tollgate:monitor" : "tollgate:pubsub", p->epfd,
                         (int)p->cfg->redis_connect_timeout_ms,
                         (uint64_t)p->cfg->max_reply_bytes, monitor ? &mon_ops : &sub_ops, be,
                         err);
        if (!*c) return -1;
    }
    bool was_up = subconn_is_up(*c);
    if (subconn_connect(*c, err)) return -1;
    if (monitor && !was_up) {
        const char *argv[] = {"MONITOR"};
        be->mon_ok = false;
        return subconn_send(*c, 1, argv, NULL, err);
    }
    return 0;
}

uint64_t pubsub_deadline(const pubsub *p)
{
    uint64_t d = p->nstreams ? p->next_beat : UINT64_MAX;
    for (ps_backend *be = p->backends; be; be = be->next) {
        uint64_t s = be->sub ? subconn_deadline(be->sub) : UINT64_MAX;
        uint64_t m = be->mon ? subconn_deadline(be->mon) : UINT64_MAX;
        if (s < d) d = s;
        if (m < d) d = m;
    }
    return d;
}

static void beat(ps_stream *list)
{
    static const buf hb = {(char *)": keepalive\n\n", 13, 0};
    for (ps_stream *st = list; st; st = st->next)
        if (!stream_ended(st->s) && stream_buffered(st->s) == 0) emit(st, &hb);
}

void pubsub_check_timeouts(pubsub *p, uint64_t now_ms)
{
    for (ps_backend *be = p->backends; be; be = be->next) {
        if (be->sub) subconn_check_timeouts(be->sub, now_ms);
        if (be->mon) subconn_check_timeouts(be->mon, now_ms);
    }
    if (!p->nstreams || now_ms < p->next_beat) return;
    p->next_beat = now_ms + (uint64_t)p->cfg->sse_heartbeat_s * 1000;
    for (ps_backend *be = p->backends; be; be = be->next) {
        beat(be->streams);
        beat(be->monitors);
    }
}

void pubsub_flush(pubsub *p)
{
    for (ps_backend *be = p->backends; be; be = be->next) {
        if (be->sub) subconn_flush(be->sub);
        if (be->mon) subconn_flush(be->mon);
    }
}

/* ==== A stream's life ==== */

static void link_stream(ps_stream *st, ps_stream **list)
{
    st->next = *list;
    if (*list) (*list)->prev = st;
    *list = st;
    st->be->hub->nstreams++;
    metrics_add(MS_SSE_STREAMS, 1);
}

static void unlink_stream(ps_stream *st, ps_stream **list)
{
    if (st->prev) st->prev->next = st->next;
    else *list = st->next;
    if (st->next) st->next->prev = st->prev;
    st->be->hub->nstreams--;
    metrics_add(MS_SSE_STREAMS, -1);
}

/* Joins channel (or pattern) name[0..len) in Redis, subscribing it on
 * the first stream. */
static void sub_join(ps_stream *st, ps_sub *sb, const char *name, size_t len)
{
    ps_backend *be = st->be;
    ps_chan *c = chan_find(be, name, len, st->pattern);
    if (!c) {
        if (be->nchans >= be->nbuckets) chan_grow(be);
        c = xcalloc(1, sizeof *c);
        c->name = xmalloc(len + 1);
        memcpy(c->name, name, len);
        c->name[len] = '\0';
        c->len = len;
        c->pattern = st->pattern;
        ps_chan **slot = chan_slot(be, name, len, c->pattern);
        *slot = c;
        be->nchans++;
        const char *argv[] = {st->pattern ? "PSUBSCRIBE" : "SUBSCRIBE", c->name};
        size_t lens[] = {strlen(argv[0]), len};
        tg_err err;
        subconn_send(be->sub, 2, argv, lens, &err);   /* connected: cannot fail */
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4;
        c->subs = xrealloc(c->subs, (size_t)c->cap * sizeof *c->subs);
    }
    sb->ch = c;
    sb->pos = c->n;
    c->subs[c->n++] = sb;
    if (c->confirmed) sub_confirm(sb);
}

static void sub_leave(ps_backend *be, ps_sub *sb)
{
    ps_chan *c = sb->ch;
    if (!c) return;
    sb->ch = NULL;
    ps_sub *last = c->subs[--c->n];
    c->subs[sb->pos] = last;
    last->pos = sb->pos;
    if (c->n == 0 && c->confirmed) chan_drop(be, c);
}

/* The completion hook of a stream: its channels are left at once, and it
 * is metered: one command for the subscription, one per event delivered
 * (Upstash's rule), and the bytes sent. */
static void ps_done(tg_request *r, bool aborted)
{
    dp_request *d = dp_of(r);
    ps_stream *st = d->ps;
    (void)aborted;
    d->ps = NULL;
    if (st->monitor) {
        unlink_stream(st, &st->be->monitors);
        if (!st->be->monitors && st->be->mon) { /* the last one: MONITOR off */
            subconn_free(st->be->mon);
            st->be->mon = NULL;
            st->be->mon_ok = false;
        }
    } else {
        for (int i = 0; i < st->nsubs; i++) sub_leave(st->be, &st->subs[i]);
        unlink_stream(st, &st->be->streams);
    }
    r->bytes_out = stream_bytes_sent(st->s);
    uint64_t n = 1 + st->messages;
    meter_event e = {
        .tenant_id = d->tenant_id,
        .database_id = d->database_id,
        .jti = d->jti,
        .kind = METER_STREAM,
        .commands = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n,
        .outcome = METER_OK,
    };
    e.billable_commands = e.commands;
    meter_event_add_command(&e, st->monitor ? "monitor" : st->pattern ? "psubscribe"
                                                                       : "subscribe", 
                            st->monitor ? 7 : st->pattern ? 10 : 9);
    accounting_record(r, &e);
    if (d->dw->q && d->database_id)
        quota_record(d->dw->q, d->database_id, d->quota_checked ? &d->qv : NULL,
                     &(quota_usage){e.outcome, e.billable_commands, (int64_t)e.bytes_in,
                                    (int64_t)e.bytes_out, quota_now_ns()});
    quota_leave(&d->qv);
}

/* What every stream checks: the token's command rules, its database's
 * quotas (a stream holds a concurrent_requests slot until it ends).
 * 0, or -1 answered. */
static int admit_stream(tg_request *r, dp_request *d, const char *word)
{
    tg_err err;
    char *argv[] = {(char *)word};
    size_t lens[] = {strlen(word)};
    const cmd_info *info = cmd_lookup(d->binfo->cmds, 1, argv, lens);
    if ((d->cmd_allow || d->cmd_deny) &&
        policy_check_rules(info, word, lens[0], d->cmd_allow, d->cmd_deny, &err)) {
        dp_error(r, (unsigned)err.status, err.msg);
        return -1;
    }
    if (!d->dw->q) return 0;
    quota_ask ask = {
        .database_id = d->database_id, .token_id = d->jti, .token_rate = d->rate_limit,
        .commands = 1, .bytes_in = (int64_t)(r->body_seen + strlen(r->path)),
        .now_ns = quota_now_ns(),
    };
    d->quota_checked = true;
    if (quota_check(d->dw->q, &ask, &d->qv)) return 0;
    d->outcome = METER_QUOTA_REJECTED;
    dp_respond(r, (unsigned)d->qv.http_status,
               quota_gate_refusal(request_config(r), request_header(r, "Origin"), &d->qv));
    return -1;
}

static ps_stream *stream_new(tg_request *r, dp_request *d, ps_backend *be, bool monitor)
{
    ps_stream *st = arena_alloc(&r->arena, sizeof *st);
    memset(st, 0, sizeof *st);
    st->r = r;
    st->be = be;
    st->monitor = monitor;
    st->s = request_stream(r, "text/event-stream", (size_t)request_config(r)->sse_buffer_bytes,
                           NULL, NULL);
    d->ps = st;
    r->done = ps_done;
    if (!d->dw->hub->nstreams)
        d->dw->hub->next_beat = clock_mono_ms() + (uint64_t)request_config(r)->sse_heartbeat_s * 1000;
    link_stream(st, monitor ? &be->monitors : &be->streams);
    return st;
}

/* Appends name to out, with the glob characters of a namespace escaped
 * (a prefix is matched literally inside a pattern). */
static void put_literal(buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strchr("*?[]\\", s[i])) buf_putc(out, '\\');
        buf_putc(out, s[i]);
    }
}

static route_result run_subscribe(tg_request *r, bool pattern)
{
    dp_request *d = dp_of(r);
    tg_err err;
    const char *word = pattern ? "psubscribe" : "subscribe";
    /* The names: the path's segments after the route, percent-decoded. */
    const char *p = r->path + 1 + strlen(word);
    const char *names[PS_NAMES_MAX];
    size_t lens[PS_NAMES_MAX];
    int n = 0;
    while (*p == '/') {
        const char *s = ++p;
        while (*p && *p != '/') p++;
        char *dec;
        size_t len;
        if (p == s) continue;   /* a trailing or doubled slash */
        if (n == PS_NAMES_MAX) {
            dp_error(r, 400, "ERR too many channels in one subscription (at most 64)");
            return ROUTE_DONE;
        }
        if (argv_pct_decode(&r->arena, s, (size_t)(p - s), false, &dec, &len, &err)) {
            dp_error(r, (unsigned)err.status, err.msg);
            return ROUTE_DONE;
        }
        if (memchr(dec, '\n', len) || memchr(dec, '\r', len)) {
            dp_error(r, 400, "ERR a channel name may not hold a line break");
            return ROUTE_DONE;
        }
        bool seen = false;   /* a name asked twice is one subscription, as in Redis */
        for (int i = 0; i < n && !seen; i++)
            seen = lens[i] == len && !memcmp(names[i], dec, len);
        if (seen) continue;
        names[n] = dec;
        lens[n++] = len;
    }
    if (n == 0) {
        dp_error(r, 400, pattern ? "ERR wrong number of arguments for 'psubscribe' command"
                                 : "ERR wrong number of arguments for 'subscribe' command");
        return ROUTE_DONE;
    }
    if (admit_stream(r, d, word)) return ROUTE_DONE;
    ps_backend *be = backend_of(d->dw->hub, backend_url(d->be));
    if (conn_ready(d->dw->hub, be, false, &err)) {
        dp_error(r, (unsigned)err.status, err.msg);
        return ROUTE_DONE;
    }
    /* The namespace: a shared database's key prefix, else db<N>:. */
    char nsb[KEYSPACE_PREFIX_MAX];
    const char *ns = d->ks.len ? d->ks.prefix : nsb;
    size_t nslen = d->ks.len ? d->ks.len : keyspace_channel_ns(backend_db(d->be), nsb,
                                                                 sizeof nsb);
    ps_stream *st = stream_new(r, d, be, false);
    st->pattern = pattern;
    st->nslen = nslen;
    st->subs = arena_alloc(&r->arena, (size_t)n * sizeof *st->subs);
    buf full;
    buf_init(&full);
    for (int i = 0; i < n; i++) {
        ps_sub *sb = &st->subs[st->nsubs++];
        *sb = (ps_sub){.st = st, .shown = names[i], .shown_len = lens[i]};
        buf_reset(&full);
        if (pattern) put_literal(&full, ns, nslen);
        else buf_append(&full, ns, nslen);
        buf_append(&full, names[i], lens[i]);
        sub_join(st, sb, full.data, full.len);
    }
    buf_release(&full);
    return ROUTE_DONE;
}

static route_result resume_subscribe(tg_request *r)
{
    return run_subscribe(r, false);
}

static route_result resume_psubscribe(tg_request *r)
{
    return run_subscribe(r, true);
}

static route_result resume_monitor(tg_request *r)
{
    dp_request *d = dp_of(r);
    tg_err err;
    if (admit_stream(r, d, "monitor")) return ROUTE_DONE;
    ps_backend *be = backend_of(d->dw->hub, backend_url(d->be));
    if (conn_ready(d->dw->hub, be, true, &err)) {
        dp_error(r, (unsigned)err.status, err.msg);
        return ROUTE_DONE;
    }
    ps_stream *st = stream_new(r, d, be, true);
    st->db = backend_db(d->be);
    st->cmds = d->binfo->cmds;
    if (d->ks.len) {
        st->prefix = d->ks.prefix;
        st->plen = d->ks.len;
    } else {
        keyspace_channel_ns(st->db, st->chan_ns, sizeof st->chan_ns);
    }
    if (be->mon_ok) mon_ok(st);
    return ROUTE_DONE;
}

route_result ps_subscribe(tg_request *r)
{
    return dp_start(r, METER_STREAM, resume_subscribe);
}

route_result ps_psubscribe(tg_request *r)
{
    return dp_start(r, METER_STREAM, resume_psubscribe);
}

route_result ps_monitor(tg_request *r)
{
    return dp_start(r, METER_STREAM, resume_monitor);
}
