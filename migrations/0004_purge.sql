-- A deleted database's data is removed from its backend (purged_at) before
-- its logical DB may hold another database. Databases deleted before this
-- column existed keep their slot until `tollgate db delete` is run on them
-- again, which purges them.
ALTER TABLE databases ADD COLUMN purged_at INTEGER;
