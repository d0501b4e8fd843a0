-- UPDATE trigger function (the trigger's WHEN clause skips vecsync's own embedding
-- writes, see create.sql). Per statement, over the old and new rows paired by id; per row
-- on a partitioned table (see create.sql). For each updated row:
--   - an id change forgets the old id (queue and state) and treats the new one as new;
--   - a row that does not pass the filter (any more) leaves the queue;
--   - a row whose template columns did not change as text and that passed the filter
--     before is left alone;
--   - anything else is queued (reset if already queued), and `vecsync work` is woken.
-- With no filter, `{filter}` is `true`. Template columns are compared as text, which every
-- type has.
--
-- It runs inside the application's UPDATE and must never make it fail (see on_insert.sql):
-- everything, writes included, runs under an exception handler, one subtransaction per
-- statement (per row on a partitioned table), so that a renamed, dropped or retyped
-- column, a failing filter or a deadlock against vecsync's own writes leaves the rows
-- unqueued (vecsync notices: see on_insert.sql) and the UPDATE goes on.
CREATE OR REPLACE FUNCTION {schema}.on_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $vecsync_fn$
DECLARE
  old_id {queue}.row_id%TYPE;
  new_id {queue}.row_id%TYPE;
  old_passes boolean;
  new_passes boolean;
BEGIN
  BEGIN
    IF TG_LEVEL = 'ROW' THEN
      old_id := OLD.{id};
      new_id := NEW.{id};
      old_passes := {old_passes};
      new_passes := {new_passes};
      IF old_id IS DISTINCT FROM new_id THEN
        DELETE FROM {queue} WHERE row_id = old_id;
        DELETE FROM {state} WHERE row_id = old_id;
      ELSIF NOT ({template_changed}) AND old_passes = new_passes THEN
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
    END IF;

    -- Ids that are gone (the id column changed): forget them.
    DELETE FROM {queue} WHERE row_id IN (
      SELECT o.{id} FROM vecsync_old AS o EXCEPT SELECT n.{id} FROM vecsync_new AS n);
    DELETE FROM {state} WHERE row_id IN (
      SELECT o.{id} FROM vecsync_old AS o EXCEPT SELECT n.{id} FROM vecsync_new AS n);
    -- Rows that do not pass the filter (any more) leave the queue.
    DELETE FROM {queue} WHERE row_id IN (
      SELECT {alias}.{id} FROM vecsync_new AS {alias} WHERE NOT coalesce({filter}, false));
    -- The rest is queued, except rows whose text did not change and that passed before.
    INSERT INTO {queue} AS q (row_id)
    SELECT todo.id FROM (
      SELECT {alias}.{id} AS id FROM vecsync_new AS {alias}
      WHERE {alias}.{id} IS NOT NULL AND {filter}
      EXCEPT (
        SELECT n.{id} FROM vecsync_new AS n JOIN vecsync_old AS o ON o.{id} = n.{id}
        WHERE NOT ({template_changed_pairs})
        INTERSECT
        SELECT {alias}.{id} FROM vecsync_old AS {alias} WHERE {filter}
      )
    ) AS todo
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
REVOKE ALL ON FUNCTION {schema}.on_update() FROM PUBLIC;
