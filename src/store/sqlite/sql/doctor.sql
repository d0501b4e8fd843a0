-- Queue health for `vecsync doctor`: rows waiting, leased to a worker, whose lease ran out
-- without an answer (the worker stopped), failed, and the most common failure.
-- Parameters: :now (Unix seconds).
-- Returns one row: (pending, leased, expired, failed, top_error or NULL, top_error_count).
SELECT count(*) FILTER (WHERE status = 'pending'),
       count(*) FILTER (WHERE status = 'pending' AND locked_until >= :now),
       count(*) FILTER (WHERE status = 'pending' AND locked_until < :now
                          AND attempts > 0 AND last_error IS NULL),
       count(*) FILTER (WHERE status = 'failed'),
       (SELECT last_error FROM vecsync_queue WHERE status = 'failed'
        GROUP BY last_error ORDER BY count(*) DESC LIMIT 1),
       coalesce((SELECT count(*) FROM vecsync_queue WHERE status = 'failed'
                 GROUP BY last_error ORDER BY count(*) DESC LIMIT 1), 0)
FROM vecsync_queue
