-- The index of a partition already attached to its parent's index, if any.
-- $1 oid: the parent's index; $2 oid: the partition
-- Returns (oid, regclass text) of that index, or no row.
SELECT i.indexrelid::oid, i.indexrelid::regclass::text
FROM pg_catalog.pg_inherits h
JOIN pg_catalog.pg_index i ON i.indexrelid = h.inhrelid
WHERE h.inhparent = $1::oid AND i.indrelid = $2::oid
