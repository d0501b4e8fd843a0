-- An expression (not a statement), the `storage` placeholder of other statements: what
-- the table's rows are stored as and read through, hashed (md5 of sorted parts):
--   - the table and every table below it (partitions and inheritance children, at any
--     depth): its oid, its file (relfilenode) and its catalog row's version (xmin);
--   - the table's columns and column defaults (generation expressions): each catalog row's
--     version.
-- `row_counts` records it with each count (recount.sql, on_truncate.sql), and `status`
-- trusts a count only while it is unchanged. It changes whenever rows can change without
-- a trigger of vecsync's firing: a rewrite (ALTER COLUMN ... TYPE, VACUUM FULL, CLUSTER),
-- a column dropped, added, renamed or retyped without a rewrite, a generation expression
-- changed, a partition attached, detached (and changed meanwhile), dropped or truncated on
-- its own; also with benign changes (GRANT, ALTER TABLE of a setting): one audit each.
-- VACUUM and ANALYZE update catalog rows in place, which keeps their version.
-- Reads the catalog only. The `relation` placeholder: the table, as a regclass.
(SELECT pg_catalog.md5(pg_catalog.string_agg(part, ',' ORDER BY part))
 FROM (
    SELECT 'r' || c.oid || ':' || c.relfilenode || ':' || c.xmin AS part
    FROM pg_catalog.pg_class AS c
    WHERE c.oid IN (
        WITH RECURSIVE tree (oid) AS (
            SELECT {relation}::oid
            UNION
            SELECT i.inhrelid FROM pg_catalog.pg_inherits AS i JOIN tree ON i.inhparent = tree.oid
        )
        SELECT oid FROM tree)
    UNION ALL
    SELECT 'a' || a.attnum || ':' || a.xmin
    FROM pg_catalog.pg_attribute AS a
    WHERE a.attrelid = {relation} AND a.attnum > 0
    UNION ALL
    SELECT 'd' || d.adnum || ':' || d.xmin
    FROM pg_catalog.pg_attrdef AS d
    WHERE d.adrelid = {relation}
 ) AS parts)
