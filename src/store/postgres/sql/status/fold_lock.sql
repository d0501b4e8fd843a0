-- Fold, first statement of its transaction: wait for a TRUNCATE of the table, whose
-- trigger resets `row_counts` under the same lock (on_truncate.sql): a fold running beside
-- it could otherwise bring back a sum of rows the reset removed.
-- No parameters.
SELECT pg_advisory_xact_lock(hashtextextended({schema_name} || '.row_counts', 0))
