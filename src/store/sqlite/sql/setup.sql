-- Setup: checks of the source table and vecsync's own tables beside it.
--
-- Placeholders: {table} the quoted source table; {table_schema} its quoted schema
-- ("main" unless the config names one); {id}, {emb} quoted id and embedding columns; {filter} "(filter)" or "1".

-- name: table_exists
-- 1 when the source table (or a view of that name) exists, else 0.
-- Parameters: :name  the table name without schema, as written in the config.
SELECT count(*) > 0 FROM {table_schema}.sqlite_master
WHERE type IN ('table', 'view') AND name = :name

-- name: columns
-- The source table's columns: (name, declared type) in table order.
-- Parameters: :name  the table name without schema; :schema  "main" or the configured one.
SELECT name, type FROM pragma_table_info(:name, :schema)

-- name: filter_probe
-- Prepared (never run) to check that the configured filter is valid SQL for this table.
SELECT 1 FROM {table} AS s WHERE {filter} LIMIT 0

-- name: wrong_dimensions
-- A row whose vector (for the current model) has another length than the model makes.
-- Parameters: :bytes  dimensions * 4; :model  the model id.
-- Returns (row id as text, vector length in bytes), at most one row.
SELECT CAST(s.{id} AS TEXT), length(s.{emb})
FROM {table} AS s
JOIN vecsync_state AS st ON st.row_id = s.{id}
WHERE s.{emb} IS NOT NULL AND length(s.{emb}) <> :bytes AND st.model = :model
LIMIT 1

-- name: installed
-- 1 when vecsync's tables (below) all exist in the main database, else 0.
SELECT count(*) = 3 FROM sqlite_master
WHERE type = 'table' AND name IN ('vecsync_queue', 'vecsync_state', 'vecsync_usage')

-- name: bookkeeping
-- vecsync's tables (idempotent). {id_type} is the source id column's declared type
-- (filled in at prepare time from the catalog), so joins compare like with like.
--
-- vecsync_queue: rows that need work. status 'pending' or 'failed'; times are Unix
-- seconds (REAL); locked_until is the lease (or the retry backoff) of a pending row.
-- vecsync_state: per embedded row, the MD5 of the text embedded and the model id.
-- vecsync_usage: provider requests, tokens and cost recorded by runs.
CREATE TABLE IF NOT EXISTS vecsync_queue (
    row_id {id_type} PRIMARY KEY,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed')),
    enqueued_at REAL NOT NULL,
    locked_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    failed_at REAL
);
CREATE INDEX IF NOT EXISTS vecsync_queue_claim ON vecsync_queue (status, enqueued_at);
CREATE TABLE IF NOT EXISTS vecsync_state (
    row_id {id_type} PRIMARY KEY,
    text_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    embedded_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS vecsync_state_embedded_at ON vecsync_state (embedded_at);
CREATE TABLE IF NOT EXISTS vecsync_usage (
    recorded_at REAL NOT NULL,
    model TEXT NOT NULL,
    requests INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    cost REAL NOT NULL
);

-- name: uninstall
-- Removes vecsync's tables and nothing else.
DROP TABLE IF EXISTS vecsync_queue;
DROP TABLE IF EXISTS vecsync_state;
DROP TABLE IF EXISTS vecsync_usage;
