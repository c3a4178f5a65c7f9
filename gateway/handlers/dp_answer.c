/* dp_answer.c - see dp_request.h: the answer of a data-plane request,
 * encoded from its replies, and the bytes it holds meanwhile. */
#include <stdio.h>
#include <string.h>

#include "common/mem.h"
#include "gateway/handlers/dp_request.h"
#include "gateway/handlers/quota_gate.h"
#include "gateway/http/respond.h"
#include "gateway/protocol/reply.h"

/* ==== Encoding the answer ==== */


static void entry_error(const dp_request *d, buf *out, const char *msg)
{
    if (d->format == RESP_RESP2) reply_resp2_error(out, msg, strlen(msg));
    else reply_json_error(out, msg, strlen(msg));
}

/* One command's answer; c (may be NULL: not one of ours) says what
 * replaces a string reply and which key names a shared database strips. */
static void entry_reply(dp_request *d, buf *out, redisReply *rep, const dp_cmd *c)
{
    if (d->ks.len) keyspace_unprefix(&d->ks, c ? c->reply_fix : CMD_REPLY_PLAIN, rep);
    if (rep->type == REDIS_REPLY_ERROR) d->outcome = METER_REDIS_ERROR;
    redisReply swapped;
    if (c && c->override && rep->type == REDIS_REPLY_STRING) {
        swapped = *rep;
        swapped.str = (char *)c->override;
        swapped.len = strlen(c->override);
        rep = &swapped;
    }
    if (d->format == RESP_RESP2) reply_resp2(out, rep);
    else reply_json_entry(out, rep, d->format == RESP_JSON_BASE64);
}

/* Pipeline: one entry per command, refusals and replies in order. */
static void encode_pipeline(dp_request *d, buf *out)
{
    bool json = d->format != RESP_RESP2;
    if (json) buf_putc(out, '[');
    for (int i = 0; i < d->cmds.n; i++) {
        const dp_cmd *c = &d->per[i];
        if (json && i) buf_putc(out, ',');
        if (c->refused) entry_error(d, out, c->refused);
        else entry_reply(d, out, d->replies[c->sent], c);
    }
    if (json) buf_putc(out, ']');
}

/* A transaction Redis discarded as a whole: name the command that caused
 * it. Returns the HTTP status. */
static unsigned encode_discarded(dp_request *d, buf *out, redisReply *exec)
{
    d->outcome = METER_REDIS_ERROR;
    redisReply *why = NULL;
    for (int i = 1; i <= d->nsent && !why; i++)
        if (d->replies[i]->type == REDIS_REPLY_ERROR) why = d->replies[i];
    if (d->ks.len) {
        keyspace_unprefix(&d->ks, CMD_REPLY_PLAIN, exec);
        if (why) keyspace_unprefix(&d->ks, CMD_REPLY_PLAIN, why);
    }
    if (d->format != RESP_RESP2) {
        char msg[512];
        snprintf(msg, sizeof msg, "%.*s%s%.*s", (int)exec->len, exec->str,
                 why ? " Cause: " : "", why ? (int)why->len : 0, why ? why->str : "");
        reply_json_error(out, msg, strlen(msg));
    } else {
        reply_resp2(out, exec);
    }
    return 400;
}

/* A transaction: every command was sent, in order (a refusal refuses the
 * whole request), so command i's reply is EXEC's element i. */
static unsigned encode_transaction(dp_request *d, buf *out)
{
    bool json = d->format != RESP_RESP2;
    redisReply *exec = d->replies[d->nsent + 1];
    if (exec->type == REDIS_REPLY_ERROR) return encode_discarded(d, out, exec);
    if (exec->type != REDIS_REPLY_ARRAY) {
        entry_error(d, out, "ERR transaction aborted");
        return 400;
    }
    if (!json) {
        for (size_t i = 0; d->ks.len && i < exec->elements && (int)i < d->nsent; i++)
            keyspace_unprefix(&d->ks, d->per[i].reply_fix, exec->element[i]);
        reply_resp2(out, exec);
        return 200;
    }
    buf_putc(out, '[');
    for (size_t i = 0; i < exec->elements; i++) {
        if (i) buf_putc(out, ',');
        entry_reply(d, out, exec->element[i], (int)i < d->nsent ? &d->per[i] : NULL);
    }
    buf_putc(out, ']');
    return 200;
}

/* Returns the HTTP status. */
static unsigned encode_answer(dp_request *d, buf *out)
{
    if (d->kind == METER_PIPELINE) {
        encode_pipeline(d, out);
        return 200;
    }
    if (d->kind == METER_MULTI_EXEC) return encode_transaction(d, out);
    redisReply *rep = d->replies[0];
    entry_reply(d, out, rep, &d->per[0]);
    return rep->type == REDIS_REPLY_ERROR ? 400 : 200;
}

/* ==== Memory of a request ==== */

/* A reply byte's worst JSON expansion: a control byte becomes \u00XX. */
#define JSON_WORST_FACTOR 6
/* What a command in flight holds beside its body (which the HTTP layer
 * counts): its argument vector and strings in the arena, its RESP form in
 * the backend's output buffer, its dp_cmd and backend_cmd, a reply object
 * and its slot. Measured: a 20,000 INCR pipeline (262 KB of body) adds
 * about 5 MB of RSS while in flight. */
#define CMD_INFLIGHT_BYTES 220
#define ARG_INFLIGHT_BYTES 24

static uint64_t response_cap(const tg_config *cfg)
{
    return cfg->max_response_bytes ? (uint64_t)cfg->max_response_bytes
                                   : JSON_WORST_FACTOR * (uint64_t)cfg->max_reply_bytes;
}

/* Charges r's worker for the commands parsed and sent (issue 11 finding
 * 5), until they are answered (answer). */
void dp_charge_inflight(tg_request *r, dp_request *d)
{
    uint64_t n = 0;
    for (int i = 0; i < d->cmds.n; i++) {
        const tg_cmd *c = &d->cmds.cmds[i];
        n += CMD_INFLIGHT_BYTES + (uint64_t)c->argc * ARG_INFLIGHT_BYTES;
        for (int j = 0; j < c->argc; j++) n += 2 * (uint64_t)c->lens[j];
    }
    d->inflight_charge = n;
    request_charge(r, (int64_t)n);
}

/* At least the bytes encode_answer will write, computed without writing
 * them (reply.h's *_size): a refusal is bounded by its worst escaping, a
 * top-level array's elements may each become an entry ({"result":...}),
 * and a discarded transaction's message is at most ~520 bytes. */
static uint64_t answer_bound(const dp_request *d)
{
    bool json = d->format != RESP_RESP2, b64 = d->format == RESP_JSON_BASE64;
    uint64_t n = 2 + (uint64_t)d->cmds.n + 600;
    for (int i = 0; d->per && i < d->cmds.n; i++)
        if (d->per[i].refused) n += 16 + JSON_WORST_FACTOR * strlen(d->per[i].refused);
    for (int i = 0; d->replies && i < d->nsent + 2; i++) {
        const redisReply *rep = d->replies[i];
        if (!rep) continue;
        if (!json) {
            n += reply_resp2_size(rep);
            continue;
        }
        n += reply_json_entry_size(rep, b64);
        if (rep->type == REDIS_REPLY_ARRAY) n += 11 * (uint64_t)rep->elements;
    }
    return n;
}

/* A floor of the bytes encode_answer will write, found cheaply: its replies'
 * string bytes. */
static uint64_t answer_floor(const dp_request *d)
{
    uint64_t n = 0;
    for (int i = 0; d->replies && i < d->nsent + 2; i++)
        if (d->replies[i]) n += reply_payload_size(d->replies[i]);
    return n;
}

/* An answer too large to build or to hold now: its commands ran (they
 * bill), their replies are dropped. 0 when it may be built, after
 * charging its size; else -1, answered. */
static int hold_answer(tg_request *r, dp_request *d, uint64_t size)
{
    const tg_config *cfg = request_config(r);
    uint64_t cap = response_cap(cfg);
    char msg[256];
    if (size > cap) {
        snprintf(msg, sizeof msg, "ERR response too large: the encoded answer would be "
                 "about %llu bytes, over max_response_bytes (%llu); the commands ran",
                 (unsigned long long)size, (unsigned long long)cap);
        d->outcome = METER_SENT_UNANSWERED;
        dp_free_replies(d);
        dp_error(r, 400, msg);
        return -1;
    }
    if (!request_may_hold(r, size)) {
        snprintf(msg, sizeof msg, "ERR server busy: an answer of about %llu bytes does not "
                 "fit in this worker's max_inflight_bytes now; the commands ran; retry "
                 "later", (unsigned long long)size);
        d->outcome = METER_SENT_UNANSWERED;
        dp_free_replies(d);
        dp_respond(r, 503, respond_busy(cfg, request_header(r, "Origin"), msg));
        return -1;
    }
    request_charge(r, (int64_t)size);
    return 0;
}

void dp_answer(tg_request *r)
{
    dp_request *d = dp_of(r);
    /* Answered: what was charged for the work in flight becomes the
     * answer's charge (the replies are freed once encoded). */
    request_charge(r, -(int64_t)d->inflight_charge);
    d->inflight_charge = 0;
    /* The floor first: a reply far too large is refused unscanned. */
    uint64_t floor = answer_floor(d);
    if ((floor > response_cap(request_config(r)) || !request_may_hold(r, floor)) &&
        hold_answer(r, d, floor))
        return;
    uint64_t size = answer_bound(d);
    if (hold_answer(r, d, size)) return;
    buf out;
    buf_init(&out);
    buf_reserve_exact(&out, (size_t)size); /* one allocation, no doubling */
    unsigned status = encode_answer(d, &out);
    dp_free_replies(d);
    if (d->quota_checked && d->qv.response_bytes_max >= 0 &&
        (int64_t)out.len > d->qv.response_bytes_max) { /* the plan's response_bytes */
        quota_verdict_refuse(&d->qv, QUOTA_RESPONSE_BYTES, d->qv.response_bytes_max,
                             (int64_t)out.len);
        buf_release(&out);
        d->outcome = METER_SENT_UNANSWERED; /* the commands ran: they bill */
        dp_respond(r, (unsigned)d->qv.http_status,
                   quota_gate_refusal(request_config(r), request_header(r, "Origin"), &d->qv));
        return;
    }
    r->bytes_out = out.len;
    const char *ct = d->format == RESP_RESP2 ? "application/octet-stream"
                                              : "application/json";
    dp_respond(r, status, respond_body(request_config(r), request_header(r, "Origin"),
                                       &out, ct));
}
