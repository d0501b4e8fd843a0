-- Status: the queue by state. No parameters.
-- Returns one row of bigints: (pending and claimable, leased or backing off, failed).
SELECT count(*) FILTER (WHERE status = 'pending'
                          AND (locked_until IS NULL OR locked_until < now())),
       count(*) FILTER (WHERE status = 'pending' AND locked_until >= now()),
       count(*) FILTER (WHERE status = 'failed')
FROM {queue}
