-- Status, counted: the queued rows (pending or failed) by whether they have a vector, from
-- the queue alone (`queue.has_vector`, kept by the triggers: migration 5). Costs
-- O(backlog), not O(table).
-- No parameters.
-- Returns one row of bigints: (queued with a vector, queued without one).
SELECT count(*) FILTER (WHERE has_vector), count(*) FILTER (WHERE NOT has_vector)
FROM {queue}
