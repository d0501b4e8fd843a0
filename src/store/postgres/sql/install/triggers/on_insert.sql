-- INSERT trigger function (per statement, over the inserted rows; per row on a partitioned
-- table, see create.sql): queue the rows that pass the filter (an upsert's inserted rows
-- included), then wake `vecsync work`.
-- Queueing a row that is already queued resets it: pending, no lease, no error.
--
-- It runs inside the application's INSERT and must never make it fail:
--   - SECURITY DEFINER (it runs as the role that installed vecsync, so the application's
--     roles need no right on vecsync's schema) with a fixed search_path; every object is
--     named with its schema, and the filter is checked under this search_path by `init`;
--   - the work is done under an exception handler (one subtransaction per statement): if
--     the table no longer matches the config (a column renamed, dropped or retyped) or the
--     filter fails on a row, nothing is queued and the INSERT goes on. vecsync notices
--     such drift itself (`status`, `work` say so), and `enqueue_needed` finds these rows
--     once the config is fixed. Per row, only the reads run under the handler (as in
--     on_update.sql): a read-only subtransaction gets no transaction id, so a large INSERT
--     cannot overflow the subtransaction cache.
CREATE OR REPLACE FUNCTION {schema}.on_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $vecsync_fn$
DECLARE
  new_id {queue}.row_id%TYPE;
  new_passes boolean;
BEGIN
  IF TG_LEVEL = 'ROW' THEN
    BEGIN
      new_id := NEW.{id};
      new_passes := {new_passes};
    EXCEPTION WHEN OTHERS THEN
      RETURN NULL;
    END;
    IF new_id IS NULL OR NOT new_passes THEN
      RETURN NULL;
    END IF;
    INSERT INTO {queue} AS q (row_id) VALUES (new_id)
    ON CONFLICT (row_id) DO UPDATE SET status = 'pending', enqueued_at = now(), attempts = 0,
      last_error = NULL, locked_until = NULL, failed_at = NULL;
    PERFORM pg_notify({channel}, '');
    RETURN NULL;
  END IF;
  BEGIN
    INSERT INTO {queue} AS q (row_id)
    SELECT {alias}.{id} FROM vecsync_new AS {alias}
    WHERE {alias}.{id} IS NOT NULL AND {filter}
    ON CONFLICT (row_id) DO UPDATE SET status = 'pending', enqueued_at = now(), attempts = 0,
      last_error = NULL, locked_until = NULL, failed_at = NULL;
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
