-- Where pgvector is installed: its schema, quoted (Supabase puts it in `extensions`, often
-- not on the role's search_path). No row when pgvector is not installed.
SELECT quote_ident(n.nspname)
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'vector'
