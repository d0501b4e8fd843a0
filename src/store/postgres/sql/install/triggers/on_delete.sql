-- DELETE trigger function (per statement, over the deleted rows; per row on a partitioned
-- table, see create.sql): forget their queue and state rows. Never fails the application's DELETE (see on_insert.sql): if the id column
-- is gone, the state rows stay behind until `vecsync reconcile` forgets them.
CREATE OR REPLACE FUNCTION {schema}.on_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $vecsync_fn$
DECLARE
  old_id {queue}.row_id%TYPE;
BEGIN
  IF TG_LEVEL = 'ROW' THEN
    BEGIN
      old_id := OLD.{id};
    EXCEPTION WHEN OTHERS THEN
      RETURN NULL;
    END;
    DELETE FROM {queue} WHERE row_id = old_id;
    DELETE FROM {state} WHERE row_id = old_id;
    RETURN NULL;
  END IF;
  BEGIN
    DELETE FROM {queue} AS q USING vecsync_old AS o WHERE q.row_id = o.{id};
    DELETE FROM {state} AS st USING vecsync_old AS o WHERE st.row_id = o.{id};
  EXCEPTION WHEN OTHERS THEN
    NULL;
  END;
  RETURN NULL;
END
$vecsync_fn$;
REVOKE ALL ON FUNCTION {schema}.on_delete() FROM PUBLIC;
