-- vecsync's trigger functions and triggers as they were before they were made safe for every
-- application write (the split commit, 631ea49): invoker rights, no exception handler,
-- typed comparisons, `UPDATE OF <every column but the embedding>`. Filled in for the table
-- `previous` of benches/triggers.rs (default template, no filter), which installs them over
-- a current `init` to compare the two side by side.
CREATE OR REPLACE FUNCTION vecsync_previous.on_insert() RETURNS trigger LANGUAGE plpgsql AS $vecsync_fn$
BEGIN
  INSERT INTO vecsync_previous.queue AS q (row_id)
  SELECT previous.id FROM vecsync_new AS previous
  WHERE previous.id IS NOT NULL AND true
  ON CONFLICT (row_id) DO UPDATE SET status = 'pending', enqueued_at = now(), attempts = 0,
    last_error = NULL, locked_until = NULL, failed_at = NULL;
  IF FOUND THEN
    PERFORM pg_notify('vecsync_previous_work', '');
  END IF;
  RETURN NULL;
END
$vecsync_fn$;
CREATE OR REPLACE FUNCTION vecsync_previous.on_update() RETURNS trigger LANGUAGE plpgsql AS $vecsync_fn$
BEGIN
  IF OLD.id IS DISTINCT FROM NEW.id THEN
    DELETE FROM vecsync_previous.queue WHERE row_id = OLD.id;
    DELETE FROM vecsync_previous.state WHERE row_id = OLD.id;
  ELSIF NOT (OLD.title IS DISTINCT FROM NEW.title OR OLD.company IS DISTINCT FROM NEW.company OR OLD.location IS DISTINCT FROM NEW.location OR OLD.description IS DISTINCT FROM NEW.description) THEN
    IF true = true THEN
      RETURN NULL;
    END IF;
  END IF;
  IF NEW.id IS NULL THEN
    RETURN NULL;
  END IF;
  IF NOT true THEN
    DELETE FROM vecsync_previous.queue WHERE row_id = NEW.id;
    RETURN NULL;
  END IF;
  INSERT INTO vecsync_previous.queue AS q (row_id) VALUES (NEW.id)
  ON CONFLICT (row_id) DO UPDATE SET status = 'pending', enqueued_at = now(), attempts = 0,
    last_error = NULL, locked_until = NULL, failed_at = NULL;
  PERFORM pg_notify('vecsync_previous_work', '');
  RETURN NULL;
END
$vecsync_fn$;
CREATE OR REPLACE FUNCTION vecsync_previous.on_delete() RETURNS trigger LANGUAGE plpgsql AS $vecsync_fn$
BEGIN
  DELETE FROM vecsync_previous.queue q USING vecsync_old o WHERE q.row_id = o.id;
  DELETE FROM vecsync_previous.state st USING vecsync_old o WHERE st.row_id = o.id;
  RETURN NULL;
END
$vecsync_fn$;
CREATE OR REPLACE FUNCTION vecsync_previous.on_truncate() RETURNS trigger LANGUAGE plpgsql AS $vecsync_fn$
BEGIN
  DELETE FROM vecsync_previous.queue;
  DELETE FROM vecsync_previous.state;
  RETURN NULL;
END
$vecsync_fn$;
DROP TRIGGER IF EXISTS vecsync_previous_insert ON previous;
CREATE TRIGGER vecsync_previous_insert AFTER INSERT ON previous
  REFERENCING NEW TABLE AS vecsync_new
  FOR EACH STATEMENT EXECUTE FUNCTION vecsync_previous.on_insert();
DROP TRIGGER IF EXISTS vecsync_previous_update ON previous;
CREATE TRIGGER vecsync_previous_update AFTER UPDATE OF id, title, company, location, employment_type, salary, description, is_active ON previous
  FOR EACH ROW EXECUTE FUNCTION vecsync_previous.on_update();
DROP TRIGGER IF EXISTS vecsync_previous_delete ON previous;
CREATE TRIGGER vecsync_previous_delete AFTER DELETE ON previous
  REFERENCING OLD TABLE AS vecsync_old
  FOR EACH STATEMENT EXECUTE FUNCTION vecsync_previous.on_delete();
DROP TRIGGER IF EXISTS vecsync_previous_truncate ON previous;
CREATE TRIGGER vecsync_previous_truncate AFTER TRUNCATE ON previous
  FOR EACH STATEMENT EXECUTE FUNCTION vecsync_previous.on_truncate();
