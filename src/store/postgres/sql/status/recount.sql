-- Recount: replace `row_counts` by one counted row (`base`), and clear the broken marks
-- of the transactions the audit saw. Run in a REPEATABLE READ transaction, right after an
-- audit that left every row needing work queued: the count and the rows it replaces are
-- then from one snapshot, and a fold that moved some of those rows meanwhile makes this
-- fail (serialization failure) instead of counting its rows twice. A mark the audit did
-- not see (its transaction committed after the audit's snapshot) stays: the rows of that
-- transaction may be unqueued. Costs a filtered `count(*)` of the table.
-- $1 text: the audit's snapshot (pg_current_snapshot() as text); $2 text: the table's
-- storage in that snapshot (snapshot.sql): if the table was rewritten since, the count is
-- recorded for the storage the audit saw, and `status` audits again.
WITH counted AS (
    SELECT count(*) AS n, count(*) FILTER (WHERE s.{id} IS NULL) AS unkeyed
    FROM {source} AS s
), replaced AS (
    DELETE FROM {row_counts}
    WHERE NOT broken OR pg_visible_in_snapshot(xid, $1::text::pg_snapshot)
)
INSERT INTO {row_counts} (total, unkeyed, base, storage)
SELECT n, unkeyed, true, $2 FROM counted
