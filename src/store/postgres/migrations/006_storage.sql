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
--   meta.filter_immutable: whether source.filter depends on the row alone, as `init` found
--                          (sql/catalog/filter_immutable.sql). If not, rows enter and leave
--                          it without a write: `status` always audits, and workers audit
--                          once a minute. NULL (not known) counts as not.
ALTER TABLE {meta} ADD COLUMN filter_immutable boolean;
--   meta.healed_at: when a worker last took its turn to audit for changes that escaped the
--                   queue (sql/status/heal_turn.sql): one a minute across every process.
ALTER TABLE {meta} ADD COLUMN healed_at timestamptz;
-- A role granted SELECT on the queue gets SELECT on meta, which `status` reads (when the
-- last audit ran, and whether the queue can be trusted): docs/postgres.md, "Privileges",
-- asked for it only from version 5 on. A worker (DELETE on the queue) gets UPDATE of
-- healed_at, so an upgrade asks for no new GRANT.
DO $vecsync_do$
DECLARE
  g record;
BEGIN
  FOR g IN
    SELECT DISTINCT a.grantee::regrole::text AS role, a.privilege_type AS privilege
    FROM pg_catalog.pg_class c CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) AS a
    JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
    WHERE ns.nspname = {schema_name} AND c.relname = 'queue'
      AND a.grantee <> 0 AND a.grantee <> c.relowner AND a.privilege_type IN ('SELECT', 'DELETE')
  LOOP
    EXECUTE pg_catalog.format(
      CASE g.privilege WHEN 'SELECT' THEN 'GRANT SELECT ON {meta} TO %s'
                       ELSE 'GRANT UPDATE (healed_at) ON {meta} TO %s' END, g.role);
  END LOOP;
END
$vecsync_do$;
