-- Roles that may write the source table but could not run vecsync's triggers. The trigger
-- functions (unless SECURITY DEFINER) run as the role whose INSERT, UPDATE, DELETE or
-- TRUNCATE fired them, and they write vecsync's queue and state: a writer without USAGE on
-- vecsync's schema and the rights on those tables would see its own writes fail.
-- Superusers and the built-in pg_* roles are left out.
-- $1 oid: the source table; $2 text: vecsync's schema
-- Returns (role text) rows, at most 20; none when vecsync's queue or state is missing.
WITH t AS (
    SELECT n.oid AS nsp,
           (SELECT c.oid FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'queue')
               AS queue,
           (SELECT c.oid FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'state')
               AS state
    FROM pg_namespace n WHERE n.nspname = $2::text
)
SELECT r.rolname::text
FROM pg_roles r, t
WHERE t.queue IS NOT NULL AND t.state IS NOT NULL
  AND NOT r.rolsuper AND r.rolname !~ '^pg_'
  AND has_table_privilege(r.oid, $1::oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
  AND NOT (has_schema_privilege(r.oid, t.nsp, 'USAGE')
           AND has_table_privilege(r.oid, t.queue, 'SELECT')
           AND has_table_privilege(r.oid, t.queue, 'INSERT')
           AND has_table_privilege(r.oid, t.queue, 'UPDATE')
           AND has_table_privilege(r.oid, t.queue, 'DELETE')
           AND has_table_privilege(r.oid, t.state, 'SELECT')
           AND has_table_privilege(r.oid, t.state, 'DELETE'))
ORDER BY 1
LIMIT 20
