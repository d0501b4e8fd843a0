-- Status, counted: the rows that pass the filter, summed from `row_counts` (migration 5):
-- costs O(rows of row_counts), which folding (fold.sql) keeps small, not O(table).
-- No parameters.
-- Returns one row: (total bigint; unkeyed bigint: those without an id; base bool: the sum
-- is a count, not only changes to one; broken bool: a trigger could not do its work since
-- the last recount; rows bigint; storage text: the table's storage the count was made for,
-- sql/status/storage.sql, migration 6).
SELECT coalesce(sum(total), 0)::bigint,
       coalesce(sum(unkeyed), 0)::bigint,
       coalesce(bool_or(base), false),
       coalesce(bool_or(broken), false),
       count(*),
       max(storage)
FROM {row_counts}
