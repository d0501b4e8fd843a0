-- DELETE trigger function: forget the deleted rows' queue and state rows. Per statement,
-- over the deleted rows; per row on a partitioned table (see create.sql). Never fails the
-- application's DELETE (see on_insert.sql): if the id column is gone, the state rows stay
-- behind until `vecsync reconcile` forgets them.
CREATE OR REPLACE FUNCTION {schema}.on_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $vecsync_fn$
BEGIN
  BEGIN
    IF TG_LEVEL = 'ROW' THEN
      DELETE FROM {queue} WHERE row_id = OLD.{id};
      DELETE FROM {state} WHERE row_id = OLD.{id};
    ELSE
      DELETE FROM {queue} AS q USING vecsync_old AS o WHERE q.row_id = o.{id};
      DELETE FROM {state} AS st USING vecsync_old AS o WHERE st.row_id = o.{id};
    END IF;
  EXCEPTION WHEN OTHERS THEN
    NULL;
  END;
  RETURN NULL;
END
$vecsync_fn$;
REVOKE ALL ON FUNCTION {schema}.on_delete() FROM PUBLIC;
