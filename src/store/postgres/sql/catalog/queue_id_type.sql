-- The type vecsync's queue stores ids as (the id column's type when `init` ran).
-- $1 text: the queue table, quoted and qualified
-- Returns one row: (format_type text), or no row when the queue does not exist.
SELECT pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = pg_catalog.to_regclass($1::text) AND a.attname = 'row_id'
  AND NOT a.attisdropped
