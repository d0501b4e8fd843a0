-- Queue health: rows waiting, leased to a worker, whose lease ran out without an answer
-- (the worker stopped: killed, out of memory...), failed, and the most common failure.
-- Returns one row: (pending bigint, leased bigint, expired bigint, failed bigint,
-- top_error text or NULL, top_error_count bigint).
SELECT count(*) FILTER (WHERE status = 'pending'),
       count(*) FILTER (WHERE status = 'pending' AND locked_until >= now()),
       count(*) FILTER (WHERE status = 'pending' AND locked_until < now()
                          AND attempts > 0 AND last_error IS NULL),
       count(*) FILTER (WHERE status = 'failed'),
       (SELECT last_error FROM {queue} WHERE status = 'failed'
        GROUP BY last_error ORDER BY count(*) DESC LIMIT 1),
       coalesce((SELECT count(*) FROM {queue} WHERE status = 'failed'
                 GROUP BY last_error ORDER BY count(*) DESC LIMIT 1), 0)
FROM {queue}
