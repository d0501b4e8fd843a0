-- The current snapshot, for recount.sql: which transactions an audit saw.
-- No parameters.
-- Returns one row: (pg_current_snapshot() as text).
SELECT pg_current_snapshot()::text
