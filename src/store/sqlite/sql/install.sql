-- Install: the triggers that keep vecsync_queue current as the application writes, like
-- PostgreSQL's (docs/postgres.md). They run inside the application's own statements, in
-- any connection (Python's sqlite3, the sqlite3 shell…), and SQLite has no way to catch
-- an error inside a trigger, so they only run SQL that cannot fail on a row's values:
-- they compare columns with IS NOT and upsert the id into vecsync_queue. They never render
-- text, call vecsync's own SQL functions (other connections lack them) or evaluate the
-- filter (the user's SQL, which may raise errors, e.g. json_extract on malformed JSON):
-- a queued row that does not pass the filter is dropped when it is claimed.
--
-- A statement that touches the table compiles its triggers, so install prepares one of
-- each (probe_*) before committing: a trigger that would fail is never left behind.
--
-- Placeholders: {table} the quoted source table; {table_name} its quoted name without
-- schema (triggers live in the table's schema); {id} the quoted id column; filled at
-- install time from the catalog:
--   {watched}  the columns whose update may change what is queued: the id, the template's
--              columns and the columns the filter names;
--   {changed}  "OLD.c IS NOT NEW.c OR …" over the watched columns but the id.
-- Times are Unix seconds: (julianday('now') - 2440587.5) * 86400.0.

-- name: insert_trigger
-- A new row is queued (a row already queued starts afresh).
CREATE TRIGGER vecsync_insert AFTER INSERT ON {table_name}
WHEN NEW.{id} IS NOT NULL
BEGIN
    INSERT INTO vecsync_queue (row_id, enqueued_at)
    VALUES (NEW.{id}, (julianday('now') - 2440587.5) * 86400.0)
    ON CONFLICT (row_id) DO UPDATE SET status = 'pending', enqueued_at = excluded.enqueued_at,
        attempts = 0, last_error = NULL, locked_until = NULL, failed_at = NULL;
END

-- name: update_trigger
-- An id change forgets the old id and queues the new one; a row is queued when a
-- template column or a column the filter names really changed (so a row that starts
-- passing the filter is queued; one that stops is dropped at its claim). Updates of
-- other columns, and of the embedding column (which vecsync writes), do not fire it.
CREATE TRIGGER vecsync_update AFTER UPDATE OF {watched} ON {table_name}
BEGIN
    DELETE FROM vecsync_queue WHERE OLD.{id} IS NOT NEW.{id} AND row_id = OLD.{id};
    DELETE FROM vecsync_state WHERE OLD.{id} IS NOT NEW.{id} AND row_id = OLD.{id};
    INSERT INTO vecsync_queue (row_id, enqueued_at)
    SELECT NEW.{id}, (julianday('now') - 2440587.5) * 86400.0
    WHERE NEW.{id} IS NOT NULL AND (OLD.{id} IS NOT NEW.{id} OR {changed})
    ON CONFLICT (row_id) DO UPDATE SET status = 'pending', enqueued_at = excluded.enqueued_at,
        attempts = 0, last_error = NULL, locked_until = NULL, failed_at = NULL;
END

-- name: delete_trigger
-- A deleted row is forgotten: no queue entry, no state.
CREATE TRIGGER vecsync_delete AFTER DELETE ON {table_name}
BEGIN
    DELETE FROM vecsync_queue WHERE row_id = OLD.{id};
    DELETE FROM vecsync_state WHERE row_id = OLD.{id};
END

-- name: installed
-- vecsync's triggers as SQLite stored them: (name, CREATE statement).
SELECT name, sql FROM sqlite_master
WHERE type = 'trigger' AND name IN ('vecsync_insert', 'vecsync_update', 'vecsync_delete')

-- name: drop
DROP TRIGGER IF EXISTS vecsync_insert;
DROP TRIGGER IF EXISTS vecsync_update;
DROP TRIGGER IF EXISTS vecsync_delete;

-- name: probe_insert
-- Prepared (never run): compiles the insert trigger.
INSERT INTO {table} ({id}) SELECT NULL WHERE 0

-- name: probe_update
-- Prepared (never run): compiles the update trigger.
UPDATE {table} SET {id} = {id} WHERE 0

-- name: probe_delete
-- Prepared (never run): compiles the delete trigger.
DELETE FROM {table} WHERE 0
