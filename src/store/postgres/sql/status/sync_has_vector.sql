-- Before a recount: set `queue.has_vector` from the table where it is wrong (a trigger
-- that could not do its work leaves it so; the recount clears the mark that says so).
-- Costs O(backlog) lookups by id.
-- No parameters.
UPDATE {queue} AS q SET has_vector = (s.{embedding} IS NOT NULL)
FROM {table} AS s
WHERE s.{id} = q.row_id AND q.has_vector <> (s.{embedding} IS NOT NULL)
