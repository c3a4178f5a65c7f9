-- Tenant tokens (role tenant, the dashboard API) as issued: a token is
-- honoured only while its jti is here, unrevoked, and its tenant lives, so
-- one leaked token can be revoked without rotating admin_jwt_secret (which
-- would end every tenant's and admin's token). Kept after expiry for the
-- record; the token itself is never stored.
CREATE TABLE tenant_tokens (
    jti         TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX tenant_tokens_tenant ON tenant_tokens(tenant_id);
