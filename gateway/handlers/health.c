/* health.c - see health.h. */
#include "gateway/handlers/health.h"

#include <pthread.h>
#include <string.h>

#include "common/json_out.h"
#include "gateway/http/request.h"
#include "gateway/http/respond.h"

#define REASONS_MAX 1024

static pthread_mutex_t ready_mu = PTHREAD_MUTEX_INITIALIZER;
static bool published;
static int nreasons;
static size_t reasons_len;
static char reasons[REASONS_MAX];

route_result health_live(tg_request *r)
{
    buf out;
    buf_init(&out);
    buf_puts(&out, "{\"status\":\"ok\"}");
    request_respond(r, 200, respond_body(request_config(r), request_header(r, "Origin"), &out,
                                         "application/json"));
    return ROUTE_DONE;
}

void health_publish(const char *why, size_t len, int n)
{
    pthread_mutex_lock(&ready_mu);
    if (len > REASONS_MAX) len = REASONS_MAX;
    memcpy(reasons, why, len);
    reasons_len = len;
    nreasons = n;
    published = true;
    pthread_mutex_unlock(&ready_mu);
}

void health_reset(void)
{
    pthread_mutex_lock(&ready_mu);
    published = false;
    pthread_mutex_unlock(&ready_mu);
}

unsigned health_ready_body(buf *out)
{
    pthread_mutex_lock(&ready_mu);
    unsigned status = published && nreasons == 0 ? 200 : 503;
    if (status == 200) {
        buf_puts(out, "{\"status\":\"ready\"}");
    } else {
        buf_puts(out, "{\"status\":\"not ready\",\"reasons\":[");
        if (!published) {
            buf_puts(out, "\"starting\"");
        } else {
            const char *p = reasons, *end = reasons + reasons_len;
            for (int i = 0; i < nreasons && p < end; i++) {
                size_t l = strnlen(p, (size_t)(end - p));
                if (i) buf_putc(out, ',');
                json_out_string(out, p, l);
                p += l + 1;
            }
        }
        buf_puts(out, "]}");
    }
    pthread_mutex_unlock(&ready_mu);
    return status;
}

route_result health_ready(tg_request *r)
{
    buf out;
    buf_init(&out);
    unsigned status = health_ready_body(&out);
    request_respond(r, status, respond_body(request_config(r), request_header(r, "Origin"), &out,
                                            "application/json"));
    return ROUTE_DONE;
}
