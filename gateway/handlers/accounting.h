/*
 * accounting.h - turning a finished HTTP request into its metering record
 * (billing/meter.h), the same way for every handler.
 *
 * A handler fills what only it knows (tenant, database, token, commands,
 * outcome) into a meter_event; accounting_record adds what the HTTP layer
 * knows (time, bytes, status) and hands it to the meter. Requests whose
 * handler set no completion hook (404s, preflights, /healthz, the admin
 * API) are metered by accounting_done, the server's default hook.
 */
#ifndef TG_ACCOUNTING_H
#define TG_ACCOUNTING_H

#include <stdbool.h>

#include "billing/meter.h"
#include "gateway/http/request.h"

/* Fills e's time, bytes in/out and HTTP status from r (499 when the
 * client left before its answer), derives the outcome from the status
 * when e's is still METER_OK, and records e (meter_record). */
void accounting_record(const tg_request *r, meter_event *e);

/* The default completion hook: meters an answered request as METER_OTHER
 * with no tenant. */
void accounting_done(tg_request *r, bool aborted);

#endif
