-- The source table's columns in order.
-- $1 oid: the table
-- Returns (name, format_type with modifier e.g. vector(384), pg_type.typname, typmod,
-- virtual: a virtual generated column, PostgreSQL 18).
SELECT a.attname::text,
       format_type(a.atttypid, a.atttypmod),
       t.typname::text,
       a.atttypmod,
       a.attgenerated = 'v'
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
