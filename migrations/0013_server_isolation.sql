-- A third isolation mode, 'server': the database owns its whole backend
-- Redis (Upstash's own model, one Redis per database), so the server-wide
-- commands on its own data (FUNCTION, FLUSHALL, INFO...) are allowed to it.
-- Its data lives in logical DB 0 (db_index 0). No other database may use
-- its redis_url while it exists (tenancy_db_create checks; the index below
-- keeps two server databases off one URL even under a race).
--
-- SQLite cannot widen a CHECK constraint in place: the table is rebuilt
-- (the documented procedure; migrate_apply runs migrations with foreign
-- keys off and checks them before committing) and its indexes recreated.
-- No view or trigger reads databases.
CREATE TABLE databases_new (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    redis_url   TEXT NOT NULL,
    isolation   TEXT NOT NULL DEFAULT 'dbindex'
                CHECK (isolation IN ('dbindex', 'prefix', 'server')),
    db_index    INTEGER NOT NULL DEFAULT 0 CHECK (db_index >= 0),
    key_prefix  TEXT,
    created_at  INTEGER NOT NULL,
    deleted_at  INTEGER,
    purged_at   INTEGER,
    redis_secret TEXT,
    CHECK (isolation <> 'server' OR (db_index = 0 AND key_prefix IS NULL))
);
INSERT INTO databases_new (id, tenant_id, name, redis_url, isolation, db_index, key_prefix,
                           created_at, deleted_at, purged_at, redis_secret)
    SELECT id, tenant_id, name, redis_url, isolation, db_index, key_prefix,
           created_at, deleted_at, purged_at, redis_secret
    FROM databases;
DROP TABLE databases;
ALTER TABLE databases_new RENAME TO databases;
CREATE UNIQUE INDEX databases_tenant_name ON databases(tenant_id, name)
    WHERE deleted_at IS NULL;
-- Two live databases never share a logical DB.
CREATE UNIQUE INDEX databases_backend_slot ON databases(redis_url, db_index)
    WHERE deleted_at IS NULL AND isolation = 'dbindex';
-- A server is owned by one database at a time (until its data is purged).
CREATE UNIQUE INDEX databases_server_owner ON databases(redis_url)
    WHERE purged_at IS NULL AND isolation = 'server';
