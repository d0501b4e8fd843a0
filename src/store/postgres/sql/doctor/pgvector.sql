-- pgvector: its version and the schema it was created in, if installed.
-- Returns at most one row: (version text, schema text).
SELECT e.extversion::text, n.nspname::text
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'vector'
