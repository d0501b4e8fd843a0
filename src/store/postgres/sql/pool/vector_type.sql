-- pgvector's `vector` type and its array type, wherever the extension lives (Supabase keeps
-- it in `extensions`). Statements declare the types of their parameters (no server-side
-- prepare), and these two have no fixed OID.
-- Returns (oid oid, array oid, schema text); no row when pgvector is not installed.
SELECT t.oid, t.typarray, n.nspname::text
FROM pg_extension e
JOIN pg_type t ON t.typnamespace = e.extnamespace AND t.typname = 'vector'
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE e.extname = 'vector'
