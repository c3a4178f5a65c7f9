/* health.c - see health.h. */
#include "gateway/handlers/health.h"

#include "gateway/http/request.h"
#include "gateway/http/respond.h"

route_result health_live(tg_request *r)
{
    buf out;
    buf_init(&out);
    buf_puts(&out, "{\"status\":\"ok\"}");
    request_respond(r, 200, respond_body(request_config(r), request_header(r, "Origin"), &out,
                                         "application/json"));
    return ROUTE_DONE;
}
