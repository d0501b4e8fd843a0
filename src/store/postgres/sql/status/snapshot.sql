-- What an audit sees, for recount.sql: the current snapshot (which transactions it saw),
-- and the table's storage (sql/status/storage.sql).
-- No parameters.
-- Returns one row: (pg_current_snapshot() as text, storage text).
SELECT pg_current_snapshot()::text, {storage}
