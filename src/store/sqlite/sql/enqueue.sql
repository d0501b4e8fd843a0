-- Enqueue: find the rows that need work and are not queued, in chunks of the id order:
-- each chunk is its own short statement, so that no statement holds the write lock for
-- long on a big table (the application's writers wait for it).
--
--   from := first_id
--   while from is not NULL:  last := chunk_end(from);  chunk(from, last);  from := next_id(last)
--
-- Placeholders: {table}, {id} the quoted source table and id column; {render} the
-- template rendered for source row `s`; {needs_work} the fragment of needs_work.sql
-- (source `s`, state `st`).

-- name: first_id
-- The smallest id; NULL for an empty table.
SELECT min(s.{id}) FROM {table} AS s

-- name: next_id
-- The smallest id after :last; NULL when none follows.
SELECT min(s.{id}) FROM {table} AS s WHERE s.{id} > :last

-- name: chunk_end
-- The :chunk-th id from :from on (or the largest there is).
SELECT max(c.id) FROM (
    SELECT s.{id} AS id FROM {table} AS s WHERE s.{id} >= :from ORDER BY s.{id} LIMIT :chunk
) AS c

-- name: chunk
-- Queues the rows with an id in [:from, :last] that need work and are not queued yet.
-- Parameters: :from, :last, :now (Unix seconds), :model. Changes one row per row queued.
INSERT INTO vecsync_queue (row_id, enqueued_at)
SELECT s.{id}, :now
FROM {table} AS s
LEFT JOIN vecsync_state AS st ON st.row_id = s.{id}
WHERE s.{id} >= :from AND s.{id} <= :last AND {needs_work}
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
