/* accounting.c - see accounting.h. */
#include "gateway/handlers/accounting.h"

#include <string.h>

#include "gateway/handlers/observe.h"

static meter_outcome outcome_of(unsigned status)
{
    if (status == 401) return METER_AUTH_FAILURE;
    if (status == 403) return METER_FORBIDDEN;
    if (status == 429) return METER_RATE_LIMITED;
    if (status >= 500) return METER_BACKEND_UNAVAILABLE;
    if (status >= 400) return METER_BAD_REQUEST;
    return METER_OK;
}

void accounting_record(const tg_request *r, meter_event *e)
{
    e->time_ms = r->start_ms;
    e->bytes_in = r->body_seen + strlen(r->path);
    e->bytes_out = r->bytes_out;
    e->http_status = r->status ? (int)r->status : 499;
    if (e->outcome == METER_OK && r->status) e->outcome = outcome_of(r->status);
    e->id = r->id;   /* the event's id is the request's (X-Request-Id) */
    observe_request(r, e);
    meter_record(e);
}

void accounting_done(tg_request *r, bool aborted)
{
    (void)aborted;
    if (!r->status) return;
    meter_event e = {.kind = METER_OTHER};
    accounting_record(r, &e);
}
