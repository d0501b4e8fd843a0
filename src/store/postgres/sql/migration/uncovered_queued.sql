-- The swap's last check, with writers blocked: what came in since `uncovered.sql` passed.
-- Every write to the table since then went through this vectorizer's triggers into its
-- queue, so only queued rows are read: those with a live vector ({live_embedding}) that
-- failed here (for another reason than empty text), or that are pending with no vector
-- of this vectorizer ({embedding}) yet.
-- No parameters. Returns one row of bigints: (rows that block the swap, pending rows).
SELECT count(*) FILTER (
           WHERE s.{live_embedding} IS NOT NULL
             AND ((q.status = 'failed' AND q.last_error IS DISTINCT FROM 'empty text')
                  OR (q.status = 'pending' AND s.{embedding} IS NULL))
       ),
       count(*) FILTER (WHERE q.status = 'pending')
FROM {queue} q
LEFT JOIN {table} AS s ON s.{id} = q.row_id
