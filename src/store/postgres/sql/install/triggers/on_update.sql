-- UPDATE trigger function (per row; the trigger fires only when a column other than the
-- embedding is in the SET list, so vecsync's own writes do not fire it):
--   - an id change forgets the old id (queue and state) and queues the new one;
--   - otherwise, a row whose template columns did not really change (IS DISTINCT FROM) and
--     that did not start or stop passing the filter is left alone;
--   - a row that does not pass the filter (any more) leaves the queue;
--   - anything else is queued (reset if already queued), and `vecsync work` is woken.
-- With no filter, both "passes" expressions are `true`.
CREATE OR REPLACE FUNCTION {schema}.on_update() RETURNS trigger LANGUAGE plpgsql AS $vecsync_fn$
BEGIN
  IF OLD.{id} IS DISTINCT FROM NEW.{id} THEN
    DELETE FROM {queue} WHERE row_id = OLD.{id};
    DELETE FROM {state} WHERE row_id = OLD.{id};
  ELSIF NOT ({template_changed}) THEN
    IF {old_passes} = {new_passes} THEN
      RETURN NULL;
    END IF;
  END IF;
  IF NEW.{id} IS NULL THEN
    RETURN NULL;
  END IF;
  IF NOT {new_passes} THEN
    DELETE FROM {queue} WHERE row_id = NEW.{id};
    RETURN NULL;
  END IF;
  INSERT INTO {queue} AS q (row_id) VALUES (NEW.{id})
  ON CONFLICT (row_id) DO UPDATE SET status = 'pending', enqueued_at = now(), attempts = 0,
    last_error = NULL, locked_until = NULL, failed_at = NULL;
  PERFORM pg_notify({channel}, '');
  RETURN NULL;
END
$vecsync_fn$;
