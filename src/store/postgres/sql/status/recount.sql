-- Recount: replace `row_counts` by one counted row (`base`), clearing `broken`. Run in a
-- REPEATABLE READ transaction, right after an audit that left every row needing work
-- queued: the count and the rows it replaces are then from one snapshot, and a fold that
-- moved some of those rows meanwhile makes this fail (serialization failure) instead of
-- counting its rows twice. Costs a filtered `count(*)` of the table.
-- No parameters.
WITH counted AS (
    SELECT count(*) AS n, count(*) FILTER (WHERE s.{id} IS NULL) AS unkeyed
    FROM {source} AS s
), replaced AS (
    DELETE FROM {row_counts}
)
INSERT INTO {row_counts} (total, unkeyed, base)
SELECT n, unkeyed, true FROM counted
