-- Status, full audit: one pass over the source; every row falls in one category, counted.
-- The MD5 of a row's text is computed only for rows that have a vector and state for the
-- current model.
-- $1 text: the current model id
-- Returns (has_vector, has_state, current, queued, unkeyed, count) per category;
-- `current` means a vector for the row's current text and model (a queued row is still not
-- "embedded": it waits for work); `unkeyed`: the row has no id (it can never be queued).
SELECT s.{embedding} IS NOT NULL AS has_vector,
       st.row_id IS NOT NULL AS has_state,
       (s.{embedding} IS NOT NULL AND st.row_id IS NOT NULL AND st.model = $1
           AND st.text_hash = md5({render})) AS current,
       q.row_id IS NOT NULL AS queued,
       s.{id} IS NULL AS unkeyed,
       count(*)
FROM {source} AS s
LEFT JOIN {state} st ON st.row_id = s.{id}
LEFT JOIN {queue} q ON q.row_id = s.{id}
GROUP BY 1, 2, 3, 4, 5
