-- A purge claims its database before it flushes the backend
-- (tenancy_db_purge_claim): two gateway nodes, or a node and the CLI,
-- never flush one database's slot at once, where the later flush could
-- reach a database that took the slot after the first purge freed it. A
-- claim older than ten minutes is stale (its claimer died) and may be
-- taken over.
ALTER TABLE databases ADD COLUMN purge_claimed_at INTEGER;
