-- Claim: lease the oldest claimable queue rows and return their text. One statement, so
-- one short transaction; no transaction stays open while the model runs.
--   picked:    the oldest pending rows whose lease is empty or expired, locked; rows other
--              workers are claiming right now are skipped (FOR UPDATE SKIP LOCKED); none
--              when the schema's vectorizer row names another model than $3 (the fence:
--              a model migration switched since this process started);
--   rendered:  each picked row's text, rendered from the source row (a row that was deleted
--              or no longer passes the filter has no source row: present = false);
--   forgotten: queue rows whose source row is gone are deleted;
--   claimed:   the rest are leased and count an attempt.
-- $1 bigint: at most this many rows
-- $2 float8: lease in seconds
-- $3 text:   the model id of this process
-- Returns (row_id text, text text) per claimed row.
WITH picked AS (
    SELECT row_id FROM {queue}
    WHERE status = 'pending' AND (locked_until IS NULL OR locked_until < now())
      AND NOT EXISTS (SELECT 1 FROM {vectorizer} WHERE model <> $3)
    ORDER BY enqueued_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), rendered AS (
    SELECT picked.row_id, s.{id} IS NOT NULL AS present, {render} AS text
    FROM picked LEFT JOIN {source} AS s ON s.{id} = picked.row_id
), forgotten AS (
    DELETE FROM {queue}
    WHERE row_id = ANY(ARRAY(SELECT row_id FROM rendered WHERE NOT present))
), claimed AS (
    UPDATE {queue} SET locked_until = now() + make_interval(secs => $2),
                       attempts = attempts + 1
    WHERE row_id = ANY(ARRAY(SELECT row_id FROM rendered WHERE present))
    RETURNING row_id
)
SELECT claimed.row_id::text, rendered.text
FROM claimed JOIN rendered ON rendered.row_id = claimed.row_id
