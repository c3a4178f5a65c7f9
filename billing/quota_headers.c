/* quota_headers.c - the quota engine's header values (quota.h:
 * quota_headers, quota_format_i64), formatted without printf or
 * allocation: they run on every answer of a database with limits. */
#include "billing/quota.h"

#include <string.h>

#include "billing/quota_int.h"

/* Appends s to out[*n..cap) (truncating, always terminated). */
static void put_str(char *out, size_t cap, size_t *n, const char *s)
{
    while (*s && *n + 1 < cap) out[(*n)++] = *s++;
    out[*n] = '\0';
}

/* Appends v in decimal: the request path formats these on every answer,
 * so no printf and no allocation. */
static void put_i64(char *out, size_t cap, size_t *n, int64_t v)
{
    char d[24];
    int k = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do d[k++] = (char)('0' + u % 10); while ((u /= 10) && k < 23);
    if (v < 0) d[k++] = '-';
    while (k > 0 && *n + 1 < cap) out[(*n)++] = d[--k];
    out[*n] = '\0';
}

void quota_format_policy(const quota_verdict *v, char *policy, size_t pcap)
{
    size_t n = 0;
    policy[0] = '\0';
    for (int i = 0; i < v->npolicies; i++) {
        const quota_policy *p = &v->policies[i];
        put_str(policy, pcap, &n, i ? ", \"" : "\"");
        put_str(policy, pcap, &n, p->name);
        put_str(policy, pcap, &n, "\";q=");
        put_i64(policy, pcap, &n, p->quota);
        put_str(policy, pcap, &n, ";w=");
        put_i64(policy, pcap, &n, p->window_s);
        if (!strcmp(p->name, "bandwidth")) put_str(policy, pcap, &n, ";qu=\"content-bytes\"");
    }
}

const char *quota_headers(const quota_verdict *v, char *policy, size_t pcap, char *ratelimit,
                          size_t rcap)
{
    size_t m = 0;
    ratelimit[0] = '\0';
    const char *out = v->policy_hdr;
    if (!out) {
        quota_format_policy(v, policy, pcap);
        out = policy;
    }
    int t = v->tightest >= 0 ? v->tightest : (v->npolicies ? 0 : -1);
    if (t < 0) return out;
    put_str(ratelimit, rcap, &m, "\"");
    put_str(ratelimit, rcap, &m, v->policies[t].name);
    put_str(ratelimit, rcap, &m, "\";r=");
    put_i64(ratelimit, rcap, &m, v->policies[t].remaining);
    put_str(ratelimit, rcap, &m, ";t=");
    put_i64(ratelimit, rcap, &m, v->policies[t].reset_s);
    return out;
}

void quota_format_i64(int64_t v, char *out, size_t cap)
{
    size_t n = 0;
    if (cap) put_i64(out, cap, &n, v);
}
