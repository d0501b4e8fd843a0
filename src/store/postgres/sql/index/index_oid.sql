-- The index of that name on the table.
-- $1 oid: the table; $2 text: the index name
-- Returns (oid, regclass text).
SELECT i.indexrelid::oid, i.indexrelid::regclass::text
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = $1::oid AND ic.relname = $2::text
