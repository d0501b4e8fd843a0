-- Status, cheap: the queued rows (pending or failed) that pass the filter, each looked up
-- by id: costs O(backlog), not O(table).
-- No parameters.
-- Returns one row of bigints: (queued with a vector, queued without one).
SELECT count(*) FILTER (WHERE s.{embedding} IS NOT NULL),
       count(*) FILTER (WHERE s.{embedding} IS NULL)
FROM {queue} AS q
JOIN {source} AS s ON s.{id} = q.row_id
