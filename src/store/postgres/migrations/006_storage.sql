-- Migration 6: what keeps the counted `status` from trusting a count its triggers could
-- not keep.
--   row_counts.storage: what the table's rows were stored as and read through when the
--                       count was made (sql/status/storage.sql; recount.sql,
--                       on_truncate.sql). What changes rows without a trigger firing (a
--                       rewrite, columns dropped, added or renamed, a partition attached,
--                       detached or truncated on its own) changes it, and `status` audits
--                       instead of counting until a recount. A count from before this
--                       migration has none: the first `status` audits.
ALTER TABLE {row_counts} ADD COLUMN storage text;
-- A role granted SELECT on the queue gets SELECT on meta, which `status` reads (when the
-- last audit ran, and whether the queue can be trusted): docs/postgres.md, "Privileges",
-- asked for it only from version 5 on.
DO $vecsync_do$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT DISTINCT a.grantee::regrole::text AS role
    FROM pg_catalog.pg_class c CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) AS a
    JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
    WHERE ns.nspname = {schema_name} AND c.relname = 'queue'
      AND a.grantee <> 0 AND a.grantee <> c.relowner AND a.privilege_type = 'SELECT'
  LOOP
    EXECUTE pg_catalog.format('GRANT SELECT ON {meta} TO %s', r.role);
  END LOOP;
END
$vecsync_do$;
