-- Enqueue: find the rows that need work and are not queued.
--
-- Placeholders: {table}, {id} the quoted source table and id column; {render} the
-- template rendered for source row `s`; {needs_work} the fragment of needs_work.sql
-- (source `s`, state `st`).

-- name: needed
-- Queues every row that needs work and is not queued yet.
-- Parameters: :now (Unix seconds), :model.
INSERT INTO vecsync_queue (row_id, enqueued_at)
SELECT s.{id}, :now
FROM {table} AS s
LEFT JOIN vecsync_state AS st ON st.row_id = s.{id}
WHERE {needs_work}
ON CONFLICT (row_id) DO NOTHING

-- name: peek
-- Rows that need work, without claiming them (dry runs): up to :limit rows with an id
-- after :after (NULL: from the start), in id order, with their rendered text.
-- Parameters: :model, :after, :limit.
SELECT CAST(s.{id} AS TEXT) AS id, {render} AS text
FROM {table} AS s
LEFT JOIN vecsync_state AS st ON st.row_id = s.{id}
WHERE {needs_work} AND (:after IS NULL OR s.{id} > :after)
ORDER BY s.{id}
LIMIT :limit

-- name: peek_fresh
-- Like peek, before vecsync's tables exist (a dry run creates nothing): every row that
-- passes the filter needs work.
-- Parameters: :after, :limit.
SELECT CAST(s.{id} AS TEXT) AS id, {render} AS text
FROM {table} AS s
WHERE {filter} AND (:after IS NULL OR s.{id} > :after)
ORDER BY s.{id}
LIMIT :limit
