-- Peek (dry runs), next page: like `peek_first.sql`, for the ids after $3.
-- $1 text:   the current model id
-- $2 bigint: at most this many rows
-- $3 text:   the last id of the previous page
-- Returns (row_id text, text text) in id order.
SELECT s.{id}::text, {render}
FROM {source} AS s LEFT JOIN {state} st ON st.row_id = s.{id}
WHERE (s.{embedding} IS NULL OR st.row_id IS NULL
       OR st.text_hash <> md5({render}) OR st.model <> $1)
  AND s.{id} > $3::text::{id_type}
ORDER BY s.{id}
LIMIT $2
