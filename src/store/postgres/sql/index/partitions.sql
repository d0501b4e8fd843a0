-- Every partition of a partitioned table, at any depth, parents before their own
-- partitions.
-- $1 oid: the partitioned table
-- Returns (oid, parent oid, "schema"."name" text, name text, is_leaf bool) rows.
SELECT t.relid::oid, t.parentrelid::oid, pg_catalog.format('%I.%I', n.nspname, c.relname),
       c.relname::text, t.isleaf
FROM pg_catalog.pg_partition_tree($1::oid::regclass) AS t
JOIN pg_catalog.pg_class c ON c.oid = t.relid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE t.level > 0
ORDER BY t.level, c.relname
