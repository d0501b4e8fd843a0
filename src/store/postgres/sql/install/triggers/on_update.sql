-- UPDATE trigger function (per row; the trigger's WHEN clause skips vecsync's own
-- embedding writes, see create.sql):
--   - an id change forgets the old id (queue and state) and queues the new one;
--   - otherwise, a row whose template columns did not change as text and that did not
--     start or stop passing the filter is left alone;
--   - a row that does not pass the filter (any more) leaves the queue;
--   - anything else is queued (reset if already queued), and `vecsync work` is woken.
-- With no filter, both "passes" expressions are `true`.
--
-- It runs inside the application's UPDATE and must never make it fail:
--   - SECURITY DEFINER with a fixed search_path, every object named with its schema (see
--     on_insert.sql); the ids are typed like the queue's row_id (%TYPE), not by name;
--   - everything that reads the row (columns by name, the filter) runs under an exception
--     handler: if the table no longer matches the config (a column renamed, dropped or
--     retyped) or the filter fails on this row, the row is left alone and the UPDATE goes
--     on; vecsync notices the drift itself. That block only reads, so its subtransaction
--     gets no transaction id: no subtransaction overflow however many rows an UPDATE
--     touches. Template columns are compared as text, which every type has.
CREATE OR REPLACE FUNCTION {schema}.on_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $vecsync_fn$
DECLARE
  old_id {queue}.row_id%TYPE;
  new_id {queue}.row_id%TYPE;
  text_changed boolean;
  old_passes boolean;
  new_passes boolean;
BEGIN
  BEGIN
    old_id := OLD.{id};
    new_id := NEW.{id};
    text_changed := {template_changed};
    old_passes := {old_passes};
    new_passes := {new_passes};
  EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
  END;
  IF old_id IS DISTINCT FROM new_id THEN
    DELETE FROM {queue} WHERE row_id = old_id;
    DELETE FROM {state} WHERE row_id = old_id;
  ELSIF NOT text_changed AND old_passes = new_passes THEN
    RETURN NULL;
  END IF;
  IF new_id IS NULL THEN
    RETURN NULL;
  END IF;
  IF NOT new_passes THEN
    DELETE FROM {queue} WHERE row_id = new_id;
    RETURN NULL;
  END IF;
  INSERT INTO {queue} AS q (row_id) VALUES (new_id)
  ON CONFLICT (row_id) DO UPDATE SET status = 'pending', enqueued_at = now(), attempts = 0,
    last_error = NULL, locked_until = NULL, failed_at = NULL;
  PERFORM pg_notify({channel}, '');
  RETURN NULL;
END
$vecsync_fn$;
REVOKE ALL ON FUNCTION {schema}.on_update() FROM PUBLIC;
