-- The source table: its oid, kind ('r' table, 'p' partitioned table, ...), schema and name.
-- $1 text: the quoted table name, as in the config (`"jobs"` or `"app"."jobs"`)
-- Returns no row when no such relation exists.
SELECT c.oid, c.relkind::text, n.nspname::text, c.relname::text
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass($1::text)
