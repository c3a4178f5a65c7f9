/* respond.c - see respond.h. */
#include "gateway/http/respond.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/json_out.h"

/* True when origin appears in the comma-separated allow list. */
static bool origin_listed(const char *list, const char *origin)
{
    size_t ol = strlen(origin);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',') p++;
        const char *e = p;
        while (*e && *e != ',') e++;
        const char *t = e;
        while (t > p && t[-1] == ' ') t--;
        if ((size_t)(t - p) == ol && !strncmp(p, origin, ol)) return true;
        p = e;
    }
    return false;
}

static void add_cors(struct MHD_Response *resp, const tg_config *cfg,
                     const char *origin)
{
    const char *list = cfg->cors_origins ? cfg->cors_origins : "";
    if (!origin) return; /* not a cross-origin browser request */
    if (!strcmp(list, "*")) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
    } else if (*list && origin_listed(list, origin)) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Vary", "Origin");
    } else {
        return;
    }
    MHD_add_response_header(resp, "Access-Control-Expose-Headers", "upstash-sync-token");
}

struct MHD_Response *respond_body(const tg_config *cfg, const char *origin,
                                  buf *body, const char *content_type)
{
    size_t len;
    char *data = buf_detach(body, &len);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", content_type);
    add_cors(resp, cfg, origin);
    return resp;
}

void respond_stream_headers(const tg_config *cfg, const char *origin,
                            struct MHD_Response *resp, const char *content_type)
{
    MHD_add_response_header(resp, "Content-Type", content_type);
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* nginx: pass each event on */
    add_cors(resp, cfg, origin);
}

struct MHD_Response *respond_error(const tg_config *cfg, const char *origin,
                                   const char *msg)
{
    buf b;
    buf_init(&b);
    buf_append(&b, "{\"error\":", 9);
    json_out_string(&b, msg, strlen(msg));
    buf_putc(&b, '}');
    return respond_body(cfg, origin, &b, "application/json");
}

struct MHD_Response *respond_busy(const tg_config *cfg, const char *origin,
                                  const char *msg)
{
    struct MHD_Response *resp = respond_error(cfg, origin, msg);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    return resp;
}

/* Access-Control-Request-Headers is echoed only if it is a plain list of
 * header names, so nothing a client sends can inject a header. */
static bool header_list_ok(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-_, ", *s)) return false;
    return true;
}

struct MHD_Response *respond_preflight(const tg_config *cfg, const char *origin,
                                       const char *req_headers)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    add_cors(resp, cfg, origin);
    MHD_add_response_header(resp, "Access-Control-Allow-Methods",
                            "GET, POST, PUT, HEAD, OPTIONS");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                            req_headers && *req_headers && strlen(req_headers) < 1024 &&
                                    header_list_ok(req_headers)
                                ? req_headers
                                : "Authorization, Content-Type, Upstash-Encoding, "
                                  "Upstash-Response-Format, upstash-sync-token");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "86400");
    return resp;
}
