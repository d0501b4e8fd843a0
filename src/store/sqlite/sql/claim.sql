-- Claim: lease the oldest claimable queue rows and render their text. Run in one
-- IMMEDIATE transaction: lease, then fetch each leased row (forgetting the rows that were
-- deleted or no longer pass the filter).
--
-- A row whose text cannot be decoded, or on which the filter raises an error, fails
-- alone, at once (fail_row), with a reason naming the row and the column or the filter:
-- it never blocks the claim of the others.
--
-- Placeholders: {table}, {id} the quoted source table and id column; {render} the
-- template rendered for source row `s`; {filter} "(filter)" or "1".

-- name: lease
-- Leases up to :limit pending rows whose lease (or retry backoff) is over, oldest first;
-- each claim counts an attempt.
-- Parameters: :now (Unix seconds), :until (:now + lease), :limit.
-- Returns the leased row ids (as stored, so they compare with the source id).
UPDATE vecsync_queue SET locked_until = :until, attempts = attempts + 1
WHERE row_id IN (
    SELECT row_id FROM vecsync_queue
    WHERE status = 'pending' AND (locked_until IS NULL OR locked_until < :now)
    ORDER BY enqueued_at
    LIMIT :limit
)
RETURNING row_id

-- name: fetch
-- The leased row's id and text, if it still exists and passes the filter, then the
-- template's columns as stored ({template_columns}: ", s.<column>" for each), to name
-- the column when the text cannot be decoded (a BLOB, or bytes that are not UTF-8).
-- Parameters: :row_id.
SELECT CAST(s.{id} AS TEXT) AS id, {render} AS text{template_columns}
FROM {table} AS s
WHERE s.{id} = :row_id AND {filter}

-- name: forget
-- Drops a leased row that has nothing to embed (deleted, or filtered out).
-- Parameters: :row_id.
DELETE FROM vecsync_queue WHERE row_id = :row_id

-- name: fail_row
-- Marks a leased row failed (until its value is fixed or retry-failed) with the reason.
-- Parameters: :row_id, :reason, :now (Unix seconds).
UPDATE vecsync_queue SET status = 'failed', failed_at = :now, locked_until = NULL,
    last_error = :reason
WHERE row_id = :row_id
