/* meter.c - see meter.h. */
#include "meter.h"

#include <stdatomic.h>

static _Atomic uint64_t m_requests, m_commands, m_billable, m_in, m_out, m_errors;

void meter_record(const meter_event *e)
{
    atomic_fetch_add_explicit(&m_requests, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m_commands, e->commands, memory_order_relaxed);
    atomic_fetch_add_explicit(&m_billable, e->billable_commands, memory_order_relaxed);
    atomic_fetch_add_explicit(&m_in, e->bytes_in, memory_order_relaxed);
    atomic_fetch_add_explicit(&m_out, e->bytes_out, memory_order_relaxed);
    if (e->outcome != METER_OK)
        atomic_fetch_add_explicit(&m_errors, 1, memory_order_relaxed);
}

void meter_snapshot(meter_totals *out)
{
    out->requests = atomic_load(&m_requests);
    out->commands = atomic_load(&m_commands);
    out->billable_commands = atomic_load(&m_billable);
    out->bytes_in = atomic_load(&m_in);
    out->bytes_out = atomic_load(&m_out);
    out->errors = atomic_load(&m_errors);
}
