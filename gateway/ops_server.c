/* ops_server.c - see ops_server.h. */
#include "gateway/ops_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/mem.h"
#include "gateway/handlers/health.h"
#include "gateway/handlers/metrics_page.h"

struct ops_server {
    struct MHD_Daemon *d;
    int port;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, buf *body,
                             const char *type)
{
    size_t len;
    char *data = buf_detach(body, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data ? data : (char *)"",
                                                             data ? MHD_RESPMEM_MUST_FREE
                                                                  : MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    (void)upload;
    if (!*con_cls) { /* headers: wait for the (ignored) body's end */
        *con_cls = c;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    buf out;
    buf_init(&out);
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (get && !strcmp(url, "/metrics")) {
        metrics_page_render(&out);
        return reply(c, 200, &out, "text/plain; version=0.0.4; charset=utf-8");
    }
    if (get && !strcmp(url, "/healthz")) {
        buf_puts(&out, "{\"status\":\"ok\"}");
        return reply(c, 200, &out, "application/json");
    }
    if (get && !strcmp(url, "/readyz")) {
        unsigned st = health_ready_body(&out);
        return reply(c, st, &out, "application/json");
    }
    buf_puts(&out, "{\"error\":\"ERR not found\"}");
    return reply(c, 404, &out, "application/json");
}

/* "host:port" / "[v6]:port" into a socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, tg_err *err)
{
    char host[128];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s) return tg_fail(err, 400, "metrics_listen: want host:port");
    size_t hl = (size_t)(colon - s);
    if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') {
        s++;
        hl -= 2;
    }
    if (hl >= sizeof host) return tg_fail(err, 400, "metrics_listen: host too long");
    memcpy(host, s, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 0 || port > 65535)
        return tg_fail(err, 400, "metrics_listen: bad port");
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
    } else {
        return tg_fail(err, 400, "metrics_listen: host must be a numeric address");
    }
    return 0;
}

ops_server *ops_server_start(const char *listen, tg_err *err)
{
    struct sockaddr_storage ss;
    if (parse_listen(listen, &ss, err)) return NULL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    ops_server *s = xcalloc(1, sizeof *s);
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                            MHD_OPTION_END);
    if (!s->d) {
        free(s);
        tg_fail(err, 500, "metrics_listen %s: cannot listen there", listen);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : 0;
    return s;
}

int ops_server_port(const ops_server *s)
{
    return s ? s->port : 0;
}

void ops_server_stop(ops_server *s)
{
    if (!s) return;
    MHD_stop_daemon(s->d);
    free(s);
}
