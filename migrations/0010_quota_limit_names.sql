-- Which limit refused a request (issue 12: "rejections are metered with
-- outcome quota_rejected and the limit's name"). The name is stored as a
-- small code (billing/quota.h quota_kind) named by meter_quota_limits, the
-- way outcomes are; 0 is "no limit refused it". Rejections are also summed
-- per minute and limit in meter_rejections, kept like the rollups, so the
-- usage export shows them per limit after the raw events are pruned.

CREATE TABLE meter_quota_limits (
    code  INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);
INSERT INTO meter_quota_limits (code, name) VALUES
    (1, 'commands_per_second'), (2, 'requests_per_second'), (3, 'token_rate_limit'),
    (4, 'daily_commands'), (5, 'monthly_commands'), (6, 'monthly_bandwidth_bytes'),
    (7, 'monthly_budget_micros'), (8, 'request_bytes'), (9, 'record_bytes'),
    (10, 'response_bytes'), (11, 'concurrent_requests'), (12, 'data_bytes');

-- A constant default: SQLite adds the column without rewriting the table.
ALTER TABLE meter_raw ADD COLUMN quota_limit INTEGER NOT NULL DEFAULT 0;

-- Requests refused by a limit (outcome quota_rejected, or a response_bytes
-- refusal after its commands ran), per tenant, database, minute, limit and
-- the period they are billed in (as meter_rollups). quota_limit 0: refused
-- before this migration, limit unknown.
CREATE TABLE meter_rejections (
    tenant_id    TEXT NOT NULL,
    database_id  TEXT NOT NULL,
    minute       INTEGER NOT NULL,   -- Unix time / 60
    quota_limit  INTEGER NOT NULL,   -- meter_quota_limits; 0 unknown
    bill_period  TEXT NOT NULL,
    requests     INTEGER NOT NULL,
    bytes_in     INTEGER NOT NULL,
    bytes_out    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, database_id, minute, quota_limit, bill_period)
) WITHOUT ROWID;
CREATE INDEX meter_rejections_period ON meter_rejections(bill_period);

INSERT INTO meter_rejections (tenant_id, database_id, minute, quota_limit, bill_period,
                              requests, bytes_in, bytes_out)
    SELECT tenant_id, database_id, minute, 0, bill_period, requests, bytes_in, bytes_out
    FROM meter_rollups WHERE outcome = 6 AND tenant_id <> '';

-- The view gains the limit's name (NULL: none); its delete trigger goes
-- with it and comes back.
DROP VIEW meter_events;
CREATE VIEW meter_events AS
    SELECT r.id AS id, ((r.id >> 22) + 1735689600000) - r.time_lag AS time_ms,
           p.tenant_id AS tenant_id, p.database_id AS database_id, p.jti AS jti,
           r.kind AS kind, r.commands AS commands, r.billable_commands AS billable_commands,
           c.names AS command_names, r.bytes_in AS bytes_in, r.bytes_out AS bytes_out,
           r.http_status AS http_status, r.outcome AS outcome, r.backend_us AS backend_us,
           l.name AS quota_limit
    FROM meter_raw r
    JOIN meter_principals p ON p.id = r.principal
    JOIN meter_command_sets c ON c.id = r.command_set
    LEFT JOIN meter_quota_limits l ON l.code = r.quota_limit;

CREATE TRIGGER meter_events_delete INSTEAD OF DELETE ON meter_events
BEGIN
    DELETE FROM meter_raw WHERE id = OLD.id;
END;
