-- A backend's password is no longer kept in clear in databases.redis_url
-- (issue 10, finding 10): redis_url holds the URL with the password shown
-- as *** (so equal servers still compare equal), and redis_secret the
-- password sealed under acl_secret (AES-256-GCM, common/seal.h). Rows
-- written before keep their URL until `tollgate serve` (or `db create`)
-- seals them at start (tenancy_seal_plain_urls).
ALTER TABLE databases ADD COLUMN redis_secret TEXT;
