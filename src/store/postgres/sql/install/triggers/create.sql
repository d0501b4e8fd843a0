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
CREATE OR REPLACE TRIGGER {insert_trigger} AFTER INSERT ON {table}
  REFERENCING NEW TABLE AS vecsync_new
  FOR EACH STATEMENT EXECUTE FUNCTION {schema}.on_insert();
CREATE OR REPLACE TRIGGER {update_trigger} AFTER UPDATE ON {table}
  FOR EACH ROW
  WHEN (pg_catalog.current_setting('vecsync.writing', true) IS DISTINCT FROM {schema_name})
  EXECUTE FUNCTION {schema}.on_update();
CREATE OR REPLACE TRIGGER {delete_trigger} AFTER DELETE ON {table}
  REFERENCING OLD TABLE AS vecsync_old
  FOR EACH STATEMENT EXECUTE FUNCTION {schema}.on_delete();
CREATE OR REPLACE TRIGGER {truncate_trigger} AFTER TRUNCATE ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION {schema}.on_truncate();
