-- Retry failed: every failed row becomes pending again with a clean slate.
-- No parameters; the row count says how many.
UPDATE {queue} SET status = 'pending', attempts = 0, last_error = NULL, failed_at = NULL,
                   locked_until = NULL, enqueued_at = now()
WHERE status = 'failed'
