-- Status: when the last audit ran, and the model it left the queue complete for
-- (migration 4). Read through to_jsonb so that a schema `init` has not migrated yet reads
-- as "never audited" instead of failing. No parameters.
-- Returns at most one row: (audited_at as RFC 3339 UTC text, queue_complete_for text).
SELECT to_char((to_jsonb(m) ->> 'audited_at')::timestamptz AT TIME ZONE 'UTC',
               'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       to_jsonb(m) ->> 'queue_complete_for'
FROM {meta} AS m
