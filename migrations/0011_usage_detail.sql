-- Usage detail for the tenant dashboard API (issue 13): per token, latency
-- and per command name, per hour, kept forever like meter_rollups (the raw
-- events that carry the same facts are pruned after meter_retention_days).
-- The metering writer adds to them in its batch transaction, only for
-- events it actually inserted, so they count each event exactly once,
-- replayed spill files included (billing/detail.c).

-- Per database, token (jti), hour (Unix time / 3600) and outcome.
CREATE TABLE meter_token_rollups (
    database_id        TEXT NOT NULL,
    jti                TEXT NOT NULL,
    hour               INTEGER NOT NULL,
    outcome            INTEGER NOT NULL,
    tenant_id          TEXT NOT NULL,
    requests           INTEGER NOT NULL,
    commands           INTEGER NOT NULL,
    billable_commands  INTEGER NOT NULL,
    bytes_in           INTEGER NOT NULL,
    bytes_out          INTEGER NOT NULL,
    PRIMARY KEY (database_id, hour, jti, outcome)
) WITHOUT ROWID;

-- Backend latency (backend_us of requests that sent commands) per database,
-- hour and log-scale bucket: bucket b < 4 holds b us; above, four buckets
-- per power of two (each at most 25% wide, billing/detail.h). max_us is the
-- largest latency seen in the row.
CREATE TABLE meter_latency (
    database_id  TEXT NOT NULL,
    hour         INTEGER NOT NULL,
    bucket       INTEGER NOT NULL,
    requests     INTEGER NOT NULL,
    max_us       INTEGER NOT NULL,
    PRIMARY KEY (database_id, hour, bucket)
) WITHOUT ROWID;

-- Commands per database, hour and name (upper case), from each event's
-- command-name summary; names past its METER_NAMES distinct ones count as
-- '(other)'.
CREATE TABLE meter_command_rollups (
    database_id  TEXT NOT NULL,
    hour         INTEGER NOT NULL,
    name         TEXT NOT NULL,
    commands     INTEGER NOT NULL,
    PRIMARY KEY (database_id, hour, name)
) WITHOUT ROWID;

-- The raw events still kept give the per-token figures of the recent past.
INSERT INTO meter_token_rollups (database_id, jti, hour, outcome, tenant_id, requests,
                                 commands, billable_commands, bytes_in, bytes_out)
    SELECT database_id, jti, time_ms / 3600000, outcome, max(tenant_id), count(*),
           sum(commands), sum(billable_commands), sum(bytes_in), sum(bytes_out)
    FROM meter_events GROUP BY database_id, time_ms / 3600000, jti, outcome;
