-- Status: rows embedded in each of the last 10 minutes. No parameters.
-- Returns (minutes ago int, 0 = this minute; rows bigint).
SELECT floor(extract(epoch FROM now() - embedded_at) / 60)::int, count(*)
FROM {state}
WHERE embedded_at > now() - interval '10 minutes'
GROUP BY 1
