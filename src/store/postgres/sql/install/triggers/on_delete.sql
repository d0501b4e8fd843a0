-- DELETE trigger function (per statement, over the deleted rows): forget their queue and
-- state rows.
CREATE OR REPLACE FUNCTION {schema}.on_delete() RETURNS trigger LANGUAGE plpgsql AS $vecsync_fn$
BEGIN
  DELETE FROM {queue} q USING vecsync_old o WHERE q.row_id = o.{id};
  DELETE FROM {state} st USING vecsync_old o WHERE st.row_id = o.{id};
  RETURN NULL;
END
$vecsync_fn$;
