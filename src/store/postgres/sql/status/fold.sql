-- Fold: replace the rows of `row_counts` this statement sees by one row with their sum,
-- after fold_lock.sql in the same transaction.
-- Safe beside other folds and the triggers' inserts (READ COMMITTED): a row deleted by a
-- concurrent fold is skipped, so every row's value is moved exactly once. Does nothing
-- when there is at most one row. Broken marks stay as they are: a recount clears each one
-- only if its audit saw that transaction (recount.sql).
-- No parameters.
WITH gone AS (
    DELETE FROM {row_counts}
    WHERE NOT broken AND (SELECT count(*) > 1 FROM {row_counts} WHERE NOT broken)
    RETURNING total, unkeyed, base, storage
)
INSERT INTO {row_counts} (total, unkeyed, base, storage)
SELECT sum(total), sum(unkeyed), bool_or(base), max(storage) FROM gone
HAVING count(*) > 0
