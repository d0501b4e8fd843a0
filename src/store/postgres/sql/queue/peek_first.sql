-- Peek (dry runs): the first rows that need work, with their text, without claiming them.
-- A row needs work when it passes the filter and has no vector, no state, or state for
-- another text (MD5 of the rendered template) or another model.
-- $1 text:   the current model id
-- $2 bigint: at most this many rows
-- Returns (row_id text, text text) in id order.
SELECT s.{id}::text, {render}
FROM {source} AS s LEFT JOIN {state} st ON st.row_id = s.{id}
WHERE (s.{embedding} IS NULL OR st.row_id IS NULL
       OR st.text_hash <> md5({render}) OR st.model <> $1)
ORDER BY s.{id}
LIMIT $2
