-- An expression (not a statement), the `storage` placeholder of other statements: the storage
-- the rows of the table live in, as md5 of `oid:relfilenode` of the table and of every
-- partition below it. `row_counts` records it with each count (recount.sql,
-- on_truncate.sql), and `status` trusts a count only while it is unchanged. It changes when
-- rows change without any trigger of vecsync's firing: a rewrite (ALTER COLUMN ... TYPE,
-- VACUUM FULL, CLUSTER), a partition attached, detached, dropped or truncated on its own;
-- and when the table is truncated, which on_truncate.sql records. Reads the catalog only.
-- The `relation` placeholder: the table, as a regclass.
(SELECT pg_catalog.md5(pg_catalog.string_agg(c.oid::text || ':' || c.relfilenode::text, ','
                                             ORDER BY c.oid))
 FROM (SELECT t.relid FROM pg_catalog.pg_partition_tree({relation}) AS t
       UNION SELECT {relation}) AS p
 JOIN pg_catalog.pg_class AS c ON c.oid = p.relid)
