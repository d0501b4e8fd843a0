-- DELETE trigger function: forget the deleted rows' queue and state rows, and count
-- those that passed the filter out of `row_counts` (migration 5). Per statement,
-- over the deleted rows; per row on a partitioned table (see create.sql). Never fails the
-- application's DELETE (see on_insert.sql): if the id column is gone, the state rows stay
-- behind until `vecsync reconcile` forgets them.
CREATE OR REPLACE FUNCTION {schema}.on_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $vecsync_fn$
BEGIN
  BEGIN
    IF TG_LEVEL = 'ROW' THEN
      INSERT INTO {row_counts} (total, unkeyed)
      SELECT -1, -({alias}.{id} IS NULL)::int FROM (SELECT OLD.*) AS {alias} WHERE {filter};
      DELETE FROM {queue} WHERE row_id = OLD.{id};
      DELETE FROM {state} WHERE row_id = OLD.{id};
    ELSE
      INSERT INTO {row_counts} (total, unkeyed)
      SELECT -c.n, -c.unkeyed FROM (
        SELECT count(*) AS n, count(*) FILTER (WHERE {alias}.{id} IS NULL) AS unkeyed
        FROM vecsync_old AS {alias} WHERE {filter}) AS c
      WHERE c.n <> 0;
      DELETE FROM {queue} AS q USING vecsync_old AS o WHERE q.row_id = o.{id};
      DELETE FROM {state} AS st USING vecsync_old AS o WHERE st.row_id = o.{id};
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
REVOKE ALL ON FUNCTION {schema}.on_delete() FROM PUBLIC;
