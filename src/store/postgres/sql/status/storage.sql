-- An expression (not a statement), the `storage` placeholder of other statements: what
-- the table's rows are stored as and read through, hashed (md5 of sorted parts):
--   - the table and every table below it (partitions and inheritance children, at any
--     depth): oid, kind and file (relfilenode); each link to its parent, with the link's
--     catalog row version (xmin), which a DETACH and ATTACH again replaces;
--   - the table's columns: name, type, modifier, collation, whether dropped or generated,
--     and each default or generation expression (as stored: pg_get_expr would lock the
--     table).
-- `row_counts` records it with each count (recount.sql, on_truncate.sql), and `status`
-- trusts a count only while it is unchanged. It changes whenever rows can change without
-- a trigger of vecsync's firing: a rewrite (ALTER COLUMN ... TYPE, VACUUM FULL, CLUSTER),
-- a column dropped, added, renamed or retyped without a rewrite, a generation expression
-- changed, a partition attached, detached (and changed meanwhile), dropped or truncated on
-- its own. A GRANT, ANALYZE, VACUUM or a new index changes none of it.
-- Reads the catalog only. The `relation` placeholder: the table, as a regclass.
(SELECT pg_catalog.md5(pg_catalog.string_agg(part, ',' ORDER BY part))
 FROM (
    WITH RECURSIVE tree (oid, parent, link) AS (
        SELECT {relation}::oid, 0::oid, '0'::xid
        UNION
        SELECT i.inhrelid, i.inhparent, i.xmin
        FROM pg_catalog.pg_inherits AS i JOIN tree ON i.inhparent = tree.oid
    )
    SELECT 'r' || c.oid::text || ':' || c.relkind::text || ':' || c.relfilenode::text
           || ':' || t.parent::text || ':' || t.link::text AS part
    FROM tree AS t JOIN pg_catalog.pg_class AS c ON c.oid = t.oid
    UNION ALL
    SELECT 'a' || a.attnum::text || ':' || a.attname::text || ':' || a.atttypid::text
           || ':' || a.atttypmod::text || ':' || a.attcollation::text
           || ':' || a.attisdropped::text || ':' || a.attgenerated::text
    FROM pg_catalog.pg_attribute AS a
    WHERE a.attrelid = {relation} AND a.attnum > 0
    UNION ALL
    SELECT 'd' || d.adnum::text || ':' || d.adbin::text
    FROM pg_catalog.pg_attrdef AS d
    WHERE d.adrelid = {relation}
 ) AS parts)
