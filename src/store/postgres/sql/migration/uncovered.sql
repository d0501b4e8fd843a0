-- Whether a migration's other vectorizer (this schema, column {embedding}) covers the
-- table well enough for the swap to make it live: one pass over the rows that pass the
-- filter. A row with a live vector ({live_embedding}) blocks the swap when this
-- vectorizer has no vector for it, failed on it (for another reason than empty text),
-- or has a vector of model $1 for older text that is not queued. (A queued row with an
-- older vector does not block: it is re-embedded after the swap, like any changed row,
-- and its live vector is no more current.)
-- $1 text: the other vectorizer's model id
-- Returns one row of bigints: (rows that block the swap, rows pending in this queue).
SELECT count(*) FILTER (
           WHERE s.{live_embedding} IS NOT NULL
             AND (q.status IS DISTINCT FROM 'failed' OR q.last_error IS DISTINCT FROM 'empty text')
             AND (s.{embedding} IS NULL
                  OR q.status = 'failed'
                  OR (q.row_id IS NULL
                      AND NOT (st.row_id IS NOT NULL AND st.model = $1
                               AND st.text_hash = md5({render}))))
       ),
       (SELECT count(*) FROM {queue} WHERE status = 'pending')
FROM {source} AS s
LEFT JOIN {state} st ON st.row_id = s.{id}
LEFT JOIN {queue} q ON q.row_id = s.{id}
