-- TRUNCATE trigger function: forget every queue and state row. Never fails the
-- application's TRUNCATE (see on_insert.sql). The table is empty now, so `row_counts`
-- becomes one counted row of 0, for the table's new storage (TRUNCATE gives the table and
-- its partitions new files: sql/status/storage.sql), under the lock folds take
-- (fold_lock.sql): a fold running beside this could otherwise bring back a sum of rows
-- removed here.
CREATE OR REPLACE FUNCTION {schema}.on_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $vecsync_fn$
BEGIN
  BEGIN
    DELETE FROM {queue};
    DELETE FROM {state};
    PERFORM pg_advisory_xact_lock(hashtextextended({schema_name} || '.row_counts', 0));
    DELETE FROM {row_counts};
    INSERT INTO {row_counts} (total, unkeyed, base, storage) VALUES (0, 0, true, {storage});
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
REVOKE ALL ON FUNCTION {schema}.on_truncate() FROM PUBLIC;
