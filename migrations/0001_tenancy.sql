-- Tenants, their databases and the tokens issued for them.
-- Times are Unix seconds. Rows are soft-deleted (deleted_at) so that usage
-- and audit records keep pointing at something.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    deleted_at  INTEGER
);

-- isolation 'dbindex': the database is logical DB db_index on redis_url.
-- isolation 'prefix' (key-prefix sharing of one Redis) comes later.
CREATE TABLE databases (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    redis_url   TEXT NOT NULL,
    isolation   TEXT NOT NULL DEFAULT 'dbindex'
                CHECK (isolation IN ('dbindex', 'prefix')),
    db_index    INTEGER NOT NULL DEFAULT 0 CHECK (db_index >= 0),
    key_prefix  TEXT,
    created_at  INTEGER NOT NULL,
    deleted_at  INTEGER
);
CREATE UNIQUE INDEX databases_tenant_name ON databases(tenant_id, name)
    WHERE deleted_at IS NULL;
-- Two live databases never share a logical DB.
CREATE UNIQUE INDEX databases_backend_slot ON databases(redis_url, db_index)
    WHERE deleted_at IS NULL AND isolation = 'dbindex';

CREATE TABLE tokens (
    jti          TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    database_id  TEXT NOT NULL REFERENCES databases(id),
    scope        TEXT NOT NULL CHECK (scope IN ('rw', 'ro')),
    issued_at    INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX tokens_database ON tokens(database_id);
CREATE INDEX tokens_tenant ON tokens(tenant_id);
