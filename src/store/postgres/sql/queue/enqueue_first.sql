-- Enqueue, first chunk: queue the rows among the first $2 ids of the table that need work
-- and are not queued yet. `enqueue_after.sql` continues after the last id of this chunk.
--   chunk:  the first $2 ids in id order (keyset pagination: works for every key type a
--           btree orders, uuid and text included; rows without an id are never queued);
--   bound:  the last of them (hi);
--   queued: rows up to hi that pass the filter and need work: no vector, no state, or
--           state for another text (MD5 of the rendered template) or another model.
-- $1 text:   the current model id
-- $2 bigint: ids per chunk
-- Returns one row: (hi as text, NULL when the table is empty; rows queued).
WITH chunk AS (
    SELECT {id} AS id FROM {table}
    WHERE {id} IS NOT NULL
    ORDER BY {id} LIMIT $2
), bound AS (
    SELECT id AS hi FROM chunk ORDER BY id DESC LIMIT 1
), queued AS (
    INSERT INTO {queue} (row_id, has_vector)
    SELECT s.{id}, s.{embedding} IS NOT NULL
    FROM {source} AS s LEFT JOIN {state} st ON st.row_id = s.{id}
    WHERE s.{id} <= (SELECT hi FROM bound)
      AND (s.{embedding} IS NULL OR st.row_id IS NULL
           OR st.text_hash <> md5({render}) OR st.model <> $1)
    ON CONFLICT (row_id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT hi::text FROM bound), (SELECT count(*) FROM queued)
