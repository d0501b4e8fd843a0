-- INSERT trigger function: count the inserted rows that pass the filter (`row_counts`,
-- migration 5), queue them (an upsert's inserted rows included, each with whether it came
-- with a vector), then wake `vecsync work`. Per statement, over the inserted rows; per
-- row on a partitioned table (see create.sql).
-- Queueing a row that is already queued resets it: pending, no lease, no error.
--
-- It runs inside the application's INSERT and must never make it fail:
--   - SECURITY DEFINER (it runs as the role that installed vecsync, so the application's
--     roles need no right on vecsync's schema) with a fixed search_path; every object is
--     named with its schema, and the filter is checked under this search_path by `init`;
--   - all of its work, writes included, runs under an exception handler (a subtransaction
--     per statement; per row on a partitioned table): if the table no longer matches the
--     config (a column renamed, dropped or retyped), the filter fails on a row, or the
--     queue write loses a deadlock against vecsync's own writes, nothing is queued or
--     counted and the INSERT goes on. The handler marks `row_counts` broken instead (with
--     the transaction's id), so `status` audits (and reports rows that need work but are
--     not queued) until an audit that saw this transaction's changes recounts;
--     `enqueue_needed` queues such rows.
CREATE OR REPLACE FUNCTION {schema}.on_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $vecsync_fn$
BEGIN
  BEGIN
    IF TG_LEVEL = 'ROW' THEN
      INSERT INTO {row_counts} (total, unkeyed)
      SELECT 1, ({alias}.{id} IS NULL)::int FROM (SELECT NEW.*) AS {alias} WHERE {filter};
      INSERT INTO {queue} AS q (row_id, has_vector)
      SELECT {alias}.{id}, {alias}.{embedding} IS NOT NULL FROM (SELECT NEW.*) AS {alias}
      WHERE {alias}.{id} IS NOT NULL AND {filter}
      ON CONFLICT (row_id) DO UPDATE SET status = 'pending', enqueued_at = now(), attempts = 0,
        last_error = NULL, locked_until = NULL, failed_at = NULL,
        has_vector = EXCLUDED.has_vector;
    ELSE
      INSERT INTO {row_counts} (total, unkeyed)
      SELECT c.n, c.unkeyed FROM (
        SELECT count(*) AS n, count(*) FILTER (WHERE {alias}.{id} IS NULL) AS unkeyed
        FROM vecsync_new AS {alias} WHERE {filter}) AS c
      WHERE c.n <> 0;
      INSERT INTO {queue} AS q (row_id, has_vector)
      SELECT {alias}.{id}, {alias}.{embedding} IS NOT NULL FROM vecsync_new AS {alias}
      WHERE {alias}.{id} IS NOT NULL AND {filter}
      ON CONFLICT (row_id) DO UPDATE SET status = 'pending', enqueued_at = now(), attempts = 0,
        last_error = NULL, locked_until = NULL, failed_at = NULL,
        has_vector = EXCLUDED.has_vector;
    END IF;
    IF FOUND THEN
      PERFORM pg_notify({channel}, '');
    END IF;
  EXCEPTION WHEN OTHERS THEN
    BEGIN
      INSERT INTO {row_counts} (broken, xid) VALUES (true, pg_catalog.pg_current_xact_id());
    EXCEPTION WHEN OTHERS THEN
      NULL;
    END;
  END;
  RETURN NULL;
END
$vecsync_fn$;
REVOKE ALL ON FUNCTION {schema}.on_insert() FROM PUBLIC;
