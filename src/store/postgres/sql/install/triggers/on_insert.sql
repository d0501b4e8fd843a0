-- INSERT trigger function: queue the inserted rows that pass the filter (an upsert's
-- inserted rows included), then wake `vecsync work`. Per statement, over the inserted
-- rows; per row on a partitioned table (see create.sql).
-- Queueing a row that is already queued resets it: pending, no lease, no error.
--
-- It runs inside the application's INSERT and must never make it fail:
--   - SECURITY DEFINER (it runs as the role that installed vecsync, so the application's
--     roles need no right on vecsync's schema) with a fixed search_path; every object is
--     named with its schema, and the filter is checked under this search_path by `init`;
--   - all of its work, writes included, runs under an exception handler (a subtransaction
--     per statement; per row on a partitioned table): if the table no longer matches the
--     config (a column renamed, dropped or retyped), the filter fails on a row, or the
--     queue write loses a deadlock against vecsync's own writes, nothing is queued and the
--     INSERT goes on. vecsync notices such drift itself (`status` reports rows that need
--     work but are not queued, and `enqueue_needed` queues them).
CREATE OR REPLACE FUNCTION {schema}.on_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $vecsync_fn$
BEGIN
  BEGIN
    IF TG_LEVEL = 'ROW' THEN
      INSERT INTO {queue} AS q (row_id)
      SELECT {alias}.{id} FROM (SELECT NEW.*) AS {alias}
      WHERE {alias}.{id} IS NOT NULL AND {filter}
      ON CONFLICT (row_id) DO UPDATE SET status = 'pending', enqueued_at = now(), attempts = 0,
        last_error = NULL, locked_until = NULL, failed_at = NULL;
    ELSE
      INSERT INTO {queue} AS q (row_id)
      SELECT {alias}.{id} FROM vecsync_new AS {alias}
      WHERE {alias}.{id} IS NOT NULL AND {filter}
      ON CONFLICT (row_id) DO UPDATE SET status = 'pending', enqueued_at = now(), attempts = 0,
        last_error = NULL, locked_until = NULL, failed_at = NULL;
    END IF;
    IF FOUND THEN
      PERFORM pg_notify({channel}, '');
    END IF;
  EXCEPTION WHEN OTHERS THEN
    NULL;
  END;
  RETURN NULL;
END
$vecsync_fn$;
REVOKE ALL ON FUNCTION {schema}.on_insert() FROM PUBLIC;
