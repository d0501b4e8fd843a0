-- Status: the 20 most recent failures. No parameters.
-- Returns (row_id text, reason text, attempts int).
SELECT row_id::text, coalesce(last_error, ''), attempts
FROM {queue}
WHERE status = 'failed'
ORDER BY failed_at DESC NULLS LAST
LIMIT 20
