/* quota_gate.c - see quota_gate.h. */
#include "gateway/handlers/quota_gate.h"

#include <stdio.h>
#include <string.h>

#include "common/json_out.h"
#include "common/metrics.h"
#include "gateway/http/respond.h"

void quota_gate_headers(const quota_verdict *v, struct MHD_Response *resp)
{
    if (v->npolicies <= 0) return;
    char policy[QUOTA_HEADER_MAX], now[QUOTA_HEADER_MAX], n[24];
    const char *pol = quota_headers(v, policy, sizeof policy, now, sizeof now);
    if (pol[0]) MHD_add_response_header(resp, "RateLimit-Policy", pol);
    if (now[0]) MHD_add_response_header(resp, "RateLimit", now);
    if (v->tightest < 0 || v->tightest >= v->npolicies) return;
    const quota_policy *p = &v->policies[v->tightest];
    quota_format_i64(p->quota, n, sizeof n);
    MHD_add_response_header(resp, "X-RateLimit-Limit", n);
    quota_format_i64(p->remaining > 0 ? p->remaining : 0, n, sizeof n);
    MHD_add_response_header(resp, "X-RateLimit-Remaining", n);
    quota_format_i64(p->reset_s, n, sizeof n);
    MHD_add_response_header(resp, "X-RateLimit-Reset", n);
}

struct MHD_Response *quota_gate_refusal(const tg_config *cfg, const char *origin,
                                        const quota_verdict *v)
{
    metrics_add(MS_QUOTA_REJECTIONS +
                    ((unsigned)v->refused < METRICS_QUOTA_KINDS ? (unsigned)v->refused : 0), 1);
    buf b;
    buf_init(&b);
    buf_puts(&b, "{\"error\":");
    json_out_string(&b, v->error, strlen(v->error));
    buf_puts(&b, ",\"limit\":");
    const char *name = quota_kind_name(v->refused);
    json_out_string(&b, name, strlen(name));
    buf_putc(&b, '}');
    struct MHD_Response *resp = respond_body(cfg, origin, &b, "application/json");
    if (v->retry_after_s > 0) {
        char n[24];
        snprintf(n, sizeof n, "%lld", (long long)v->retry_after_s);
        MHD_add_response_header(resp, "Retry-After", n);
    }
    quota_gate_headers(v, resp);
    return resp;
}
