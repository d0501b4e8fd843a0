-- The four triggers on the source table. The UPDATE trigger is declared UPDATE OF every
-- column except the embedding column.
DROP TRIGGER IF EXISTS {insert_trigger} ON {table};
CREATE TRIGGER {insert_trigger} AFTER INSERT ON {table}
  REFERENCING NEW TABLE AS vecsync_new
  FOR EACH STATEMENT EXECUTE FUNCTION {schema}.on_insert();
DROP TRIGGER IF EXISTS {update_trigger} ON {table};
CREATE TRIGGER {update_trigger} AFTER UPDATE OF {watched} ON {table}
  FOR EACH ROW EXECUTE FUNCTION {schema}.on_update();
DROP TRIGGER IF EXISTS {delete_trigger} ON {table};
CREATE TRIGGER {delete_trigger} AFTER DELETE ON {table}
  REFERENCING OLD TABLE AS vecsync_old
  FOR EACH STATEMENT EXECUTE FUNCTION {schema}.on_delete();
DROP TRIGGER IF EXISTS {truncate_trigger} ON {table};
CREATE TRIGGER {truncate_trigger} AFTER TRUNCATE ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION {schema}.on_truncate();
