-- Fold: replace the rows of `row_counts` this statement sees by one row with their sum,
-- after fold_lock.sql in the same transaction.
-- Safe beside other folds and the triggers' inserts (READ COMMITTED): a row deleted by a
-- concurrent fold is skipped, so every row's value is moved exactly once. Does nothing
-- when there is at most one row.
-- No parameters.
WITH gone AS (
    DELETE FROM {row_counts}
    WHERE (SELECT count(*) > 1 FROM {row_counts})
    RETURNING total, unkeyed, base, broken
)
INSERT INTO {row_counts} (total, unkeyed, base, broken)
SELECT sum(total), sum(unkeyed), bool_or(base), bool_or(broken) FROM gone
HAVING count(*) > 0
