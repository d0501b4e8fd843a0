-- Who is asking, and the source table's resolved name, for messages and GRANT statements.
-- $1 oid: the table
-- Returns one row: (schema text, table text, current_user text, current_database text,
-- pgvector's schema text or NULL).
SELECT n.nspname::text, c.relname::text, current_user::text, current_database()::text,
       (SELECT vn.nspname::text FROM pg_extension e
        JOIN pg_namespace vn ON vn.oid = e.extnamespace WHERE e.extname = 'vector')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = $1
