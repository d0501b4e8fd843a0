-- INSERT trigger function (per statement, over the inserted rows): queue the rows that
-- pass the filter (an upsert's inserted rows included), then wake `vecsync work`.
-- Queueing a row that is already queued resets it: pending, no lease, no error.
CREATE OR REPLACE FUNCTION {schema}.on_insert() RETURNS trigger LANGUAGE plpgsql AS $vecsync_fn$
BEGIN
  INSERT INTO {queue} AS q (row_id)
  SELECT {alias}.{id} FROM vecsync_new AS {alias}
  WHERE {alias}.{id} IS NOT NULL AND {filter}
  ON CONFLICT (row_id) DO UPDATE SET status = 'pending', enqueued_at = now(), attempts = 0,
    last_error = NULL, locked_until = NULL, failed_at = NULL;
  IF FOUND THEN
    PERFORM pg_notify({channel}, '');
  END IF;
  RETURN NULL;
END
$vecsync_fn$;
