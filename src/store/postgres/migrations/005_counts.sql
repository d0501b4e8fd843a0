-- Migration 5: what lets `status` count without reading the source table, or every
-- vector written in the last 10 minutes.
--   queue.has_vector: whether the row had a vector when it was (last) queued. The triggers
--                     queue a row again when the application sets or clears its vector, so
--                     `status` counts the rows missing a vector (queued, no vector) and the
--                     stale ones (queued, with a vector) from the queue alone;
--   row_counts:       the number of rows that pass the filter, as append-only changes: the
--                     triggers add one row per application statement that changes it
--                     (never one shared counter row: updating it would serialize the
--                     application's concurrent writes), `status` sums them, and folding
--                     (fold.sql) replaces many rows by their sum. `base` marks the sum as
--                     a count (recount.sql), not only changes to one; `unkeyed` counts
--                     those rows without an id (never queued, so never embedded); `broken` marks a
--                     trigger that could not do its work (the rows it saw may be unqueued
--                     and uncounted): then `status` audits until an audit that saw that
--                     transaction's changes (`xid`) recounts.
ALTER TABLE {queue} ADD COLUMN has_vector boolean NOT NULL DEFAULT false;
UPDATE {queue} AS q SET has_vector = true
FROM {table} AS s
WHERE s.{id} = q.row_id AND s.{embedding} IS NOT NULL;
CREATE TABLE {row_counts} (
    total bigint NOT NULL DEFAULT 0,
    unkeyed bigint NOT NULL DEFAULT 0,
    base boolean NOT NULL DEFAULT false,
    broken boolean NOT NULL DEFAULT false,
    xid xid8
);
-- completions: one row per written batch (complete.sql), for the completions per minute
-- `status` shows: at most 10 minutes of batches, not of rows (workers prune it as they
-- fold row_counts).
CREATE TABLE {completions} (
    at timestamptz NOT NULL DEFAULT now(),
    rows int NOT NULL
);
-- The index that served completions per minute from `state`: no longer read, and every
-- vector written updated it.
DROP INDEX IF EXISTS {schema}.state_embedded_at_idx;
-- A role granted the queue gets what `status` (SELECT) and `work` (SELECT, INSERT, DELETE:
-- folds, recounts, logs and prunes completions) need of row_counts and completions, and a
-- worker what it needs to record its audits in meta (docs/postgres.md, "Privileges"), so
-- an upgrade asks for no new GRANT.
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
    EXECUTE pg_catalog.format('GRANT %s ON {row_counts}, {completions} TO %s',
      CASE g.privilege WHEN 'SELECT' THEN 'SELECT' ELSE 'SELECT, INSERT, DELETE' END, g.role);
    IF g.privilege = 'DELETE' THEN
      EXECUTE pg_catalog.format(
        'GRANT UPDATE (audited_at, queue_complete_for) ON {meta} TO %s', g.role);
    END IF;
  END LOOP;
END
$vecsync_do$;
