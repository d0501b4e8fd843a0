-- TRUNCATE trigger function: forget every queue and state row. Never fails the
-- application's TRUNCATE (see on_insert.sql).
CREATE OR REPLACE FUNCTION {schema}.on_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $vecsync_fn$
BEGIN
  BEGIN
    DELETE FROM {queue};
    DELETE FROM {state};
  EXCEPTION WHEN OTHERS THEN
    NULL;
  END;
  RETURN NULL;
END
$vecsync_fn$;
REVOKE ALL ON FUNCTION {schema}.on_truncate() FROM PUBLIC;
