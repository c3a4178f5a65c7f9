-- Requests that never authenticated (no tenant: a bad or missing token, an
-- unknown path, /healthz, the admin API) are counted per minute and cause
-- instead of one meter_events row each: an anonymous flood costs disk in
-- minutes x causes, not in requests (issue 10, finding 7). The writer adds
-- them up per batch and upserts here in the batch's transaction; pruned
-- with the raw events (meter_retention_days). Nothing here is billed.
-- Refused 429 by a rate limit (the per-address limit of unauthenticated
-- requests); never billed.
INSERT INTO meter_outcomes (code, name) VALUES (9, 'rate_limited');

CREATE TABLE meter_anonymous (
    minute       INTEGER NOT NULL,   -- Unix time / 60
    outcome      INTEGER NOT NULL,   -- meter_outcomes
    http_status  INTEGER NOT NULL,   -- 0: unknown (rolled up before 0006)
    kind         INTEGER NOT NULL,   -- meter_kinds
    requests     INTEGER NOT NULL,
    bytes_in     INTEGER NOT NULL,
    bytes_out    INTEGER NOT NULL,
    PRIMARY KEY (minute, outcome, http_status, kind)
) WITHOUT ROWID;

-- What was stored before: the raw rows still kept, by their exact cause;
-- what only the rollups still count (raw rows pruned) as status 0.
INSERT INTO meter_anonymous (minute, outcome, http_status, kind, requests, bytes_in, bytes_out)
    SELECT time_ms / 60000, outcome, http_status, kind, count(*), sum(bytes_in), sum(bytes_out)
    FROM meter_events WHERE tenant_id = '' GROUP BY 1, 2, 3, 4;
INSERT INTO meter_anonymous (minute, outcome, http_status, kind, requests, bytes_in, bytes_out)
    SELECT ru.minute, ru.outcome, 0, 3, ru.n - coalesce(raw.n, 0),
           ru.bi - coalesce(raw.bi, 0), ru.bo - coalesce(raw.bo, 0)
    FROM (SELECT minute, outcome, sum(requests) AS n, sum(bytes_in) AS bi,
                 sum(bytes_out) AS bo
          FROM meter_rollups WHERE tenant_id = '' GROUP BY minute, outcome) AS ru
    LEFT JOIN (SELECT time_ms / 60000 AS minute, outcome, count(*) AS n,
                      sum(bytes_in) AS bi, sum(bytes_out) AS bo
               FROM meter_events WHERE tenant_id = '' GROUP BY 1, 2) AS raw
        ON raw.minute = ru.minute AND raw.outcome = ru.outcome
    WHERE ru.n > coalesce(raw.n, 0);
DELETE FROM meter_events WHERE tenant_id = '';
DELETE FROM meter_rollups WHERE tenant_id = '';
