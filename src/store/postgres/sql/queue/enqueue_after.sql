-- Enqueue, next chunk: like `enqueue_first.sql`, for the $2 ids after $3.
-- $1 text:   the current model id
-- $2 bigint: ids per chunk
-- $3 text:   the last id of the previous chunk
-- Returns one row: (hi as text, NULL past the end of the table; rows queued).
WITH chunk AS (
    SELECT {id} AS id FROM {table}
    WHERE {id} > $3::text::{id_type}
    ORDER BY {id} LIMIT $2
), bound AS (
    SELECT id AS hi FROM chunk ORDER BY id DESC LIMIT 1
), queued AS (
    INSERT INTO {queue} (row_id, has_vector)
    SELECT s.{id}, s.{embedding} IS NOT NULL
    FROM {source} AS s LEFT JOIN {state} st ON st.row_id = s.{id}
    WHERE s.{id} > $3::text::{id_type} AND s.{id} <= (SELECT hi FROM bound)
      AND (s.{embedding} IS NULL OR st.row_id IS NULL
           OR st.text_hash <> md5({render}) OR st.model <> $1)
    ON CONFLICT (row_id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT hi::text FROM bound), (SELECT count(*) FROM queued)
