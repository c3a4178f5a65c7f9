-- Quotas (issue 12): a plan's limits, per-database overrides of them, a
-- tenant's monthly budget, a token's signed rate limit.
--
-- A plan limit column is NULL for "unlimited". An override column is NULL
-- for "inherit the plan's" and -1 for "unlimited, whatever the plan says".
-- Rates are per second, bursts in commands (requests) allowed at once,
-- daily/monthly counts in billable commands (the export's commands meter),
-- sizes in bytes. billing/limits.c is the one table naming these columns.

-- The four columns 0002 reserved, under the names the CLI uses.
ALTER TABLE plans RENAME COLUMN max_request_bytes TO request_bytes;
ALTER TABLE plans RENAME COLUMN monthly_command_limit TO monthly_commands;
ALTER TABLE plans RENAME COLUMN daily_command_limit TO daily_commands;
ALTER TABLE plans RENAME COLUMN rate_limit_per_s TO commands_per_second;
ALTER TABLE plans ADD COLUMN burst INTEGER CHECK (burst IS NULL OR burst >= 0);
ALTER TABLE plans ADD COLUMN requests_per_second INTEGER
    CHECK (requests_per_second IS NULL OR requests_per_second >= 0);
ALTER TABLE plans ADD COLUMN requests_burst INTEGER
    CHECK (requests_burst IS NULL OR requests_burst >= 0);
ALTER TABLE plans ADD COLUMN monthly_bandwidth_bytes INTEGER
    CHECK (monthly_bandwidth_bytes IS NULL OR monthly_bandwidth_bytes >= 0);
ALTER TABLE plans ADD COLUMN record_bytes INTEGER
    CHECK (record_bytes IS NULL OR record_bytes >= 0);
ALTER TABLE plans ADD COLUMN response_bytes INTEGER
    CHECK (response_bytes IS NULL OR response_bytes >= 0);
ALTER TABLE plans ADD COLUMN concurrent_requests INTEGER
    CHECK (concurrent_requests IS NULL OR concurrent_requests >= 0);
ALTER TABLE plans ADD COLUMN data_bytes INTEGER
    CHECK (data_bytes IS NULL OR data_bytes >= 0);

-- One row per database with an override; a missing row inherits all.
CREATE TABLE database_limits (
    database_id              TEXT PRIMARY KEY REFERENCES databases(id),
    commands_per_second      INTEGER CHECK (commands_per_second >= -1),
    burst                    INTEGER CHECK (burst >= -1),
    requests_per_second      INTEGER CHECK (requests_per_second >= -1),
    requests_burst           INTEGER CHECK (requests_burst >= -1),
    daily_commands           INTEGER CHECK (daily_commands >= -1),
    monthly_commands         INTEGER CHECK (monthly_commands >= -1),
    monthly_bandwidth_bytes  INTEGER CHECK (monthly_bandwidth_bytes >= -1),
    request_bytes            INTEGER CHECK (request_bytes >= -1),
    record_bytes             INTEGER CHECK (record_bytes >= -1),
    response_bytes           INTEGER CHECK (response_bytes >= -1),
    concurrent_requests      INTEGER CHECK (concurrent_requests >= -1),
    data_bytes               INTEGER CHECK (data_bytes >= -1),
    updated_at               INTEGER NOT NULL
) WITHOUT ROWID;

-- Priced cost of the current period (the export's arithmetic) at which
-- billable requests are refused; NULL: no budget.
ALTER TABLE tenants ADD COLUMN monthly_budget_micros INTEGER
    CHECK (monthly_budget_micros IS NULL OR monthly_budget_micros >= 0);

-- A token's signed `rate_limit` claim (commands per second), kept with its
-- row so the claims are checked against it like the command rules.
ALTER TABLE tokens ADD COLUMN rate_limit INTEGER;
