-- Status: when the last audit ran, the model it left the queue complete for (migration
-- 4), and whether the filter depends on the row alone (migration 6). Read through to_jsonb
-- so that a schema `init` has not migrated yet reads as "never audited" instead of
-- failing. No parameters.
-- Returns at most one row: (audited_at as RFC 3339 UTC text, queue_complete_for text,
-- filter_immutable bool, NULL when not known).
SELECT to_char((to_jsonb(m) ->> 'audited_at')::timestamptz AT TIME ZONE 'UTC',
               'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       to_jsonb(m) ->> 'queue_complete_for',
       (to_jsonb(m) ->> 'filter_immutable')::boolean
FROM {meta} AS m
