-- TRUNCATE trigger function: forget every queue and state row.
CREATE OR REPLACE FUNCTION {schema}.on_truncate() RETURNS trigger LANGUAGE plpgsql AS $vecsync_fn$
BEGIN
  DELETE FROM {queue};
  DELETE FROM {state};
  RETURN NULL;
END
$vecsync_fn$;
