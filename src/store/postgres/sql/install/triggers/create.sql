-- The four triggers on the source table.
--
-- None names a column (no `UPDATE OF` list, no column in a WHEN clause): a trigger that
-- depends on a column makes the application's own `ALTER TABLE ... DROP COLUMN` and
-- `ALTER COLUMN ... TYPE` of that column fail. The UPDATE trigger fires for every UPDATE
-- except vecsync's own embedding writes: complete.sql sets `vecsync.writing` to the
-- schema's name for its transaction.
--
-- CREATE OR REPLACE, not DROP + CREATE: a role that is not the table's owner may create
-- (and replace) triggers with the TRIGGER privilege, but only the owner may drop them.
--
-- INSERT, UPDATE and DELETE are handled per statement (over the transition tables: one
-- queue write and one subtransaction per statement, however many rows), except on a
-- partitioned table, where they are row triggers:
--   - row triggers are cloned to every partition (also to partitions attached later), so
--     they also fire for rows written to a partition directly, which the parent's statement
--     triggers never see;
--   - an UPDATE that moves a row to another partition is run as a DELETE and an INSERT:
--     PostgreSQL fires the row-level AFTER DELETE and AFTER INSERT triggers for it, not the
--     UPDATE trigger, and no statement-level INSERT/DELETE trigger.
-- The table's kind is read here, at install time: it never changes for a table (and meta
-- records the table's oid).
DO $vecsync_do$
BEGIN
  IF (SELECT c.relkind FROM pg_catalog.pg_class c
      WHERE c.oid = pg_catalog.to_regclass({table_name})) = 'p' THEN
    CREATE OR REPLACE TRIGGER {insert_trigger} AFTER INSERT ON {table}
      FOR EACH ROW EXECUTE FUNCTION {schema}.on_insert();
    CREATE OR REPLACE TRIGGER {update_trigger} AFTER UPDATE ON {table}
      FOR EACH ROW
      WHEN (pg_catalog.current_setting('vecsync.writing', true) IS DISTINCT FROM {schema_name})
      EXECUTE FUNCTION {schema}.on_update();
    CREATE OR REPLACE TRIGGER {delete_trigger} AFTER DELETE ON {table}
      FOR EACH ROW EXECUTE FUNCTION {schema}.on_delete();
  ELSE
    CREATE OR REPLACE TRIGGER {insert_trigger} AFTER INSERT ON {table}
      REFERENCING NEW TABLE AS vecsync_new
      FOR EACH STATEMENT EXECUTE FUNCTION {schema}.on_insert();
    CREATE OR REPLACE TRIGGER {update_trigger} AFTER UPDATE ON {table}
      REFERENCING OLD TABLE AS vecsync_old NEW TABLE AS vecsync_new
      FOR EACH STATEMENT
      WHEN (pg_catalog.current_setting('vecsync.writing', true) IS DISTINCT FROM {schema_name})
      EXECUTE FUNCTION {schema}.on_update();
    CREATE OR REPLACE TRIGGER {delete_trigger} AFTER DELETE ON {table}
      REFERENCING OLD TABLE AS vecsync_old
      FOR EACH STATEMENT EXECUTE FUNCTION {schema}.on_delete();
  END IF;
END
$vecsync_do$;
CREATE OR REPLACE TRIGGER {truncate_trigger} AFTER TRUNCATE ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION {schema}.on_truncate();
