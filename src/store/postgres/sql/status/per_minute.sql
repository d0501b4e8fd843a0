-- Status: vectors written per minute over the last 10 minutes, from the batches logged
-- in `completions` (complete.sql): O(batches), not O(rows). No parameters.
-- Returns (minutes ago int, rows bigint) for the minutes with completions.
SELECT floor(extract(epoch FROM now() - at) / 60)::int, sum(rows)::bigint
FROM {completions}
WHERE at > now() - interval '10 minutes'
GROUP BY 1
