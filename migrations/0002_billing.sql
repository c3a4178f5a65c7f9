-- Metering and billing: raw usage events, per-minute rollups, plans and
-- prices, plan assignments, closed billing periods.
--
-- Money is integer micro-units of the plan's currency (1 USD = 1000000).
-- A price is `*_price_micros` per `*_price_per` units of the meter, so
-- $0.20 per 100,000 commands is (200000, 100000) and $0.03 per GB is
-- (30000, 1000000000): no floating point anywhere.

-- Outcome codes as written by billing/meter.h (meter_outcome).
CREATE TABLE meter_outcomes (
    code  INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);
INSERT INTO meter_outcomes (code, name) VALUES
    (0, 'ok'), (1, 'redis_error'), (2, 'bad_request'), (3, 'auth_failure'),
    (4, 'forbidden'), (5, 'backend_unavailable'), (6, 'quota_rejected'),
    (7, 'metering_backlog');

CREATE TABLE meter_kinds (
    code  INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);
INSERT INTO meter_kinds (code, name) VALUES
    (0, 'single'), (1, 'pipeline'), (2, 'multi_exec'), (3, 'other'), (4, 'stream');

-- One row per data-plane request. id is time-ordered and unique
-- ((ms since 2025-01-01) << 22 | node << 16 | sequence, see meter.h) and is
-- the request's id; replays insert with OR IGNORE on it. Pruned after
-- meter_retention_days by id range (no secondary index needed).
-- tenant_id/database_id/jti are '' when the request never authenticated.
CREATE TABLE meter_events (
    id                 INTEGER PRIMARY KEY,
    time_ms            INTEGER NOT NULL,
    tenant_id          TEXT NOT NULL,
    database_id        TEXT NOT NULL,
    jti                TEXT NOT NULL,
    kind               INTEGER NOT NULL,
    commands           INTEGER NOT NULL,
    billable_commands  INTEGER NOT NULL,
    command_names      TEXT NOT NULL,
    bytes_in           INTEGER NOT NULL,
    bytes_out          INTEGER NOT NULL,
    http_status        INTEGER NOT NULL,
    outcome            INTEGER NOT NULL,
    backend_us         INTEGER NOT NULL
);

-- Per tenant, database, minute and outcome, kept forever. bill_period
-- ('YYYY-MM') is the period the usage is billed in: the minute's own month,
-- or, for events that arrive after that month was closed, the next open
-- month (an adjustment). Updated in the writer's batch transaction, only
-- for events actually inserted.
CREATE TABLE meter_rollups (
    tenant_id          TEXT NOT NULL,
    database_id        TEXT NOT NULL,
    minute             INTEGER NOT NULL,   -- Unix time / 60
    outcome            INTEGER NOT NULL,
    bill_period        TEXT NOT NULL,
    requests           INTEGER NOT NULL,
    commands           INTEGER NOT NULL,   -- all commands sent to Redis
    billable_commands  INTEGER NOT NULL,   -- minus free housekeeping (PING...)
    bytes_in           INTEGER NOT NULL,
    bytes_out          INTEGER NOT NULL,
    errors             INTEGER NOT NULL,   -- requests whose outcome is not ok
    PRIMARY KEY (tenant_id, database_id, minute, outcome, bill_period)
) WITHOUT ROWID;
CREATE INDEX meter_rollups_period ON meter_rollups(bill_period);

-- Spill files replayed into meter_events, and how far: a file is replayed
-- exactly once even if the process dies between commit and unlink.
CREATE TABLE meter_spill_replays (
    file_id   TEXT PRIMARY KEY,
    offset    INTEGER NOT NULL,
    done_at   INTEGER NOT NULL
);

-- Plans: prices and the quotas a later issue enforces (NULL: no limit).
CREATE TABLE plans (
    id                        TEXT PRIMARY KEY,
    name                      TEXT NOT NULL,
    is_default                INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    currency                  TEXT NOT NULL DEFAULT 'USD',
    command_price_micros      INTEGER NOT NULL CHECK (command_price_micros >= 0),
    command_price_per         INTEGER NOT NULL CHECK (command_price_per > 0),
    included_commands         INTEGER NOT NULL DEFAULT 0,   -- per month
    request_price_micros      INTEGER NOT NULL DEFAULT 0,
    request_price_per         INTEGER NOT NULL DEFAULT 1 CHECK (request_price_per > 0),
    bandwidth_price_micros    INTEGER NOT NULL,             -- bytes in + out
    bandwidth_price_per       INTEGER NOT NULL CHECK (bandwidth_price_per > 0),
    included_bandwidth_bytes  INTEGER NOT NULL DEFAULT 0,   -- per month
    storage_price_micros      INTEGER NOT NULL,             -- per GB-month
    storage_price_per         INTEGER NOT NULL CHECK (storage_price_per > 0),
    max_request_bytes         INTEGER,
    monthly_command_limit     INTEGER,
    daily_command_limit       INTEGER,
    rate_limit_per_s          INTEGER,
    created_at                INTEGER NOT NULL
);
CREATE UNIQUE INDEX plans_one_default ON plans(is_default) WHERE is_default = 1;

-- Upstash's public prices: $0.20 per 100,000 commands, storage
-- $0.25/GB-month, bandwidth 200 GB free then $0.03/GB; 500,000 commands a
-- month included (Upstash's free-tier allowance); 10 MB requests.
INSERT INTO plans (id, name, is_default, currency,
    command_price_micros, command_price_per, included_commands,
    bandwidth_price_micros, bandwidth_price_per, included_bandwidth_bytes,
    storage_price_micros, storage_price_per, max_request_bytes, created_at)
VALUES ('payg', 'Pay as you go', 1, 'USD',
    200000, 100000, 500000,
    30000, 1000000000, 200000000000,
    250000, 1000000000, 10485760, 0);

-- The pricing rule of which outcomes bill their commands. Only commands
-- sent to Redis are ever counted; by default they bill unless the backend
-- failed (a refused entry of a pipeline marks the request bad_request or
-- forbidden while its other commands did reach Redis).
CREATE TABLE plan_billable_outcomes (
    plan_id  TEXT NOT NULL REFERENCES plans(id),
    outcome  INTEGER NOT NULL REFERENCES meter_outcomes(code),
    PRIMARY KEY (plan_id, outcome)
) WITHOUT ROWID;
INSERT INTO plan_billable_outcomes (plan_id, outcome) VALUES
    ('payg', 0), ('payg', 1), ('payg', 2), ('payg', 4);

-- A tenant's plan from effective_from (Unix seconds) until its next row;
-- a tenant without rows is on the default plan.
CREATE TABLE plan_assignments (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    plan_id         TEXT NOT NULL REFERENCES plans(id),
    effective_from  INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, effective_from)
) WITHOUT ROWID;

-- Closed periods and the exports frozen when they were closed.
CREATE TABLE usage_periods (
    period     TEXT PRIMARY KEY,      -- 'YYYY-MM'
    closed_at  INTEGER NOT NULL,
    csv        BLOB NOT NULL,
    json       BLOB NOT NULL
);
