-- UPDATE trigger function (the trigger's WHEN clause skips vecsync's own embedding
-- writes, see create.sql). Per statement, over the old and new rows paired by id; per row
-- on a partitioned table (see create.sql). Rows entering or leaving the filter change
-- `row_counts` (migration 5). For each updated row:
--   - an id change forgets the old id (queue and state) and treats the new one as new;
--   - a row that does not pass the filter (any more) leaves the queue;
--   - a row whose template columns did not change as text, whose vector was neither set
--     nor cleared, and that passed the filter before is left alone;
--   - anything else is queued (reset if already queued, with whether it has a vector),
--     and `vecsync work` is woken.
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
      IF old_passes <> new_passes OR (old_id IS NULL) <> (new_id IS NULL) THEN
        INSERT INTO {row_counts} (total, unkeyed)
        VALUES (new_passes::int - old_passes::int,
                (new_passes AND new_id IS NULL)::int - (old_passes AND old_id IS NULL)::int);
      END IF;
      IF old_id IS DISTINCT FROM new_id THEN
        DELETE FROM {queue} WHERE row_id = old_id;
        DELETE FROM {state} WHERE row_id = old_id;
      ELSIF NOT ({template_changed}) AND old_passes = new_passes
            AND (OLD.{embedding} IS NULL) = (NEW.{embedding} IS NULL) THEN
        RETURN NULL;
      END IF;
      IF new_id IS NULL THEN
        RETURN NULL;
      END IF;
      IF NOT new_passes THEN
        DELETE FROM {queue} WHERE row_id = new_id;
        RETURN NULL;
      END IF;
      INSERT INTO {queue} AS q (row_id, has_vector) VALUES (new_id, NEW.{embedding} IS NOT NULL)
      ON CONFLICT (row_id) DO UPDATE SET status = 'pending', enqueued_at = now(), attempts = 0,
        last_error = NULL, locked_until = NULL, failed_at = NULL,
        has_vector = EXCLUDED.has_vector;
      PERFORM pg_notify({channel}, '');
      RETURN NULL;
    END IF;

    INSERT INTO {row_counts} (total, unkeyed)
    SELECT n.n - o.n, n.unkeyed - o.unkeyed
    FROM (SELECT count(*) AS n, count(*) FILTER (WHERE {alias}.{id} IS NULL) AS unkeyed
          FROM vecsync_new AS {alias} WHERE {filter}) AS n,
         (SELECT count(*) AS n, count(*) FILTER (WHERE {alias}.{id} IS NULL) AS unkeyed
          FROM vecsync_old AS {alias} WHERE {filter}) AS o
    WHERE n.n <> o.n OR n.unkeyed <> o.unkeyed;
    -- Ids that are gone (the id column changed): forget them.
    DELETE FROM {queue} WHERE row_id IN (
      SELECT o.{id} FROM vecsync_old AS o EXCEPT SELECT n.{id} FROM vecsync_new AS n);
    DELETE FROM {state} WHERE row_id IN (
      SELECT o.{id} FROM vecsync_old AS o EXCEPT SELECT n.{id} FROM vecsync_new AS n);
    -- Rows that do not pass the filter (any more) leave the queue.
    DELETE FROM {queue} WHERE row_id IN (
      SELECT {alias}.{id} FROM vecsync_new AS {alias} WHERE NOT coalesce({filter}, false));
    -- The rest is queued, except rows whose text did not change, whose vector was neither
    -- set nor cleared, and that passed before.
    INSERT INTO {queue} AS q (row_id, has_vector)
    SELECT todo.id, todo.has_vector FROM (
      SELECT {alias}.{id} AS id, {alias}.{embedding} IS NOT NULL AS has_vector
      FROM vecsync_new AS {alias}
      WHERE {alias}.{id} IS NOT NULL AND {filter}
        AND {alias}.{id} NOT IN (
          SELECT n.{id} FROM vecsync_new AS n JOIN vecsync_old AS o ON o.{id} = n.{id}
          WHERE NOT ({template_changed_pairs})
            AND (n.{embedding} IS NULL) = (o.{embedding} IS NULL)
          INTERSECT
          SELECT {alias}.{id} FROM vecsync_old AS {alias} WHERE {filter}
        )
    ) AS todo
    ON CONFLICT (row_id) DO UPDATE SET status = 'pending', enqueued_at = now(), attempts = 0,
      last_error = NULL, locked_until = NULL, failed_at = NULL,
      has_vector = EXCLUDED.has_vector;
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
REVOKE ALL ON FUNCTION {schema}.on_update() FROM PUBLIC;
