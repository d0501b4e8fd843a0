-- What of vecsync is installed, read without failing on objects the role cannot read
-- (looked up in the catalog by name: to_regclass fails without USAGE on the schema).
-- $1 text: vecsync's schema
-- Returns one row: (schema exists, migrations exists, migrations readable, meta readable),
-- all bool; readable = USAGE on the schema and SELECT on the table.
WITH n AS (
    SELECT oid, has_schema_privilege(oid, 'USAGE') AS usage
    FROM pg_namespace WHERE nspname = $1::text
), t AS (
    SELECT c.relname, n.usage AND has_table_privilege(c.oid, 'SELECT') AS readable
    FROM pg_class c JOIN n ON c.relnamespace = n.oid
    WHERE c.relname IN ('migrations', 'meta')
)
SELECT EXISTS (SELECT 1 FROM n),
       EXISTS (SELECT 1 FROM t WHERE relname = 'migrations'),
       coalesce((SELECT readable FROM t WHERE relname = 'migrations'), false),
       coalesce((SELECT readable FROM t WHERE relname = 'meta'), false)
