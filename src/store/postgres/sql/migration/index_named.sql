-- The index of that name on the table, if any (the swap renames `vecsync index`'s HNSW
-- indexes with their columns).
-- $1 oid: the table; $2 text: the index name
-- Returns the index, qualified and quoted (regclass text), if any.
SELECT i.indexrelid::regclass::text
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = $1 AND ic.relname = $2::text
