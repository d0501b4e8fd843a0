-- Model migrations (`vecsync migrate`, docs/migration.md): the `vectorizer` row of one
-- namespace, the coverage check of the swap, and the DDL the migration runs.
--
-- These statements are loaded once per namespace: `vecsync_vectorizer` below becomes
-- `vecsync_next_vectorizer` for the next vectorizer, and so on.
--
-- Placeholders: {table}, {id}, {emb} the quoted source table, id and embedding columns;
-- {render} the template rendered for source row `s`; {filter} "(filter)" or "1".
-- Filled at run time: {live_emb} the live embedding column; {from}, {to}, {column}
-- quoted identifiers.

-- name: bookkeeping
-- One row once a migration has started: the model this namespace's column holds, and
-- where the migration stands. Times are Unix seconds.
CREATE TABLE IF NOT EXISTS vecsync_vectorizer (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    role TEXT NOT NULL CHECK (role IN ('live', 'next', 'prev')),
    phase TEXT NOT NULL CHECK (phase IN ('building', 'switched', 'finished')),
    model TEXT NOT NULL,
    dimensions INTEGER NOT NULL,
    peer_model TEXT,
    peer_dimensions INTEGER,
    started_at REAL NOT NULL,
    switched_at REAL,
    finished_at REAL
);

-- name: uninstall
DROP TABLE IF EXISTS vecsync_vectorizer;

-- name: exists
-- 1 when this namespace's vectorizer table exists (reading a record creates nothing).
SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'vecsync_vectorizer'

-- name: record
-- Returns at most one row: (phase, model, dimensions, peer_model, peer_dimensions,
-- started_at, switched_at, finished_at).
SELECT phase, model, dimensions, peer_model, peer_dimensions, started_at, switched_at,
       finished_at
FROM vecsync_vectorizer

-- name: fence
-- The model this namespace's column holds, once a migration started (the fence of claims,
-- writes and searches, checked inside their transaction).
SELECT model FROM vecsync_vectorizer

-- name: record_upsert
-- Parameters: :role, :phase, :model, :dimensions, :peer_model, :peer_dimensions,
-- :started_at, :switched_at, :finished_at.
INSERT INTO vecsync_vectorizer (singleton, role, phase, model, dimensions, peer_model,
    peer_dimensions, started_at, switched_at, finished_at)
VALUES (1, :role, :phase, :model, :dimensions, :peer_model, :peer_dimensions, :started_at,
    :switched_at, :finished_at)
ON CONFLICT (singleton) DO UPDATE SET
    role = excluded.role,
    phase = excluded.phase,
    model = excluded.model,
    dimensions = excluded.dimensions,
    peer_model = excluded.peer_model,
    peer_dimensions = excluded.peer_dimensions,
    started_at = excluded.started_at,
    switched_at = excluded.switched_at,
    finished_at = excluded.finished_at

-- name: record_delete
DELETE FROM vecsync_vectorizer

-- name: uncovered
-- Whether this namespace's vectorizer (column {emb}) covers the table well enough for the
-- swap to make it live. A row passing the filter with a live vector ({live_emb}) blocks
-- the swap when this vectorizer has no vector for it, failed on it (for another reason
-- than empty text), or has a vector of :model for older text that is not queued. (A
-- queued row with an older vector does not block: it is re-embedded after the swap, like
-- any changed row, and its live vector is no more current.)
-- Parameters: :model. Returns (rows that block the swap, rows pending in this queue).
SELECT
    coalesce(sum(CASE
        WHEN s.{live_emb} IS NULL THEN 0
        WHEN q.status = 'failed' AND q.last_error = 'empty text' THEN 0
        WHEN s.{emb} IS NULL OR q.status = 'failed' THEN 1
        WHEN q.row_id IS NOT NULL THEN 0
        WHEN st.row_id IS NOT NULL AND st.model = :model
            AND st.text_hash = vecsync_md5({render}) THEN 0
        ELSE 1
    END), 0),
    (SELECT count(*) FROM vecsync_queue WHERE status = 'pending')
FROM {table} AS s
LEFT JOIN vecsync_state AS st ON st.row_id = s.{id}
LEFT JOIN vecsync_queue AS q ON q.row_id = s.{id}
WHERE {filter}

-- name: indexes
-- The indexes vecsync created on this namespace's tables (SQLite keeps an index's name
-- when its table is renamed, so the swap drops and re-creates them).
SELECT name FROM sqlite_master
WHERE type = 'index' AND sql IS NOT NULL
  AND tbl_name IN ('vecsync_queue', 'vecsync_state', 'vecsync_usage', 'vecsync_vectorizer')

-- name: triggers
-- Triggers whose body uses this namespace's queue or state (SQLite rewrites trigger
-- bodies when tables are renamed, so they follow their namespace); `--abort` and
-- `--finish` drop them with the namespace, so no application write can fail on a
-- dropped table.
SELECT name FROM sqlite_master
WHERE type = 'trigger'
  AND (instr(sql, 'vecsync_queue') > 0 OR instr(sql, 'vecsync_state') > 0)

-- name: rename_table
ALTER TABLE {from} RENAME TO {to}

-- name: rename_column
ALTER TABLE {table} RENAME COLUMN {from} TO {to}

-- name: add_column
-- The next vectorizer's column (little-endian f32 BLOBs, like the live one).
ALTER TABLE {table} ADD COLUMN {column} BLOB

-- name: drop_column
ALTER TABLE {table} DROP COLUMN {column}
