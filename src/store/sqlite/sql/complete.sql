-- Complete: write a batch's vectors and failures. Run in one IMMEDIATE transaction, per
-- row: the guarded write, then its bookkeeping. Only rows that are currently claimed
-- count (pending, with a lease: locked_until set); a report for any other row (never
-- claimed, already done, failed, or forgotten) is ignored, as in PostgreSQL.
--
-- For each vector:  if not claimed: ignore it (counted as skipped)
--                   write;  if written: record_state, dequeue
--                   else if source_exists: requeue (the text changed: embed the new text)
--                   else: dequeue, forget_state (the row was deleted)
-- For each failure: fail (claimed rows only).
--
-- Placeholders: {table}, {id}, {emb} the quoted source table, id and embedding columns;
-- {render} the template rendered for source row `s`.

-- name: claimed
-- 1 when the row is claimed: pending, with a lease (possibly expired: a late worker's
-- write is still guarded by the text hash).
-- Parameters: :row_id.
SELECT 1 FROM vecsync_queue
WHERE row_id = :row_id AND status = 'pending' AND locked_until IS NOT NULL

-- name: write
-- The guard: writes the vector only if the row's current text still hashes to the hash
-- of the text that was embedded. Changes 1 row (written) or 0 (text changed or deleted).
-- Parameters: :vector (little-endian f32 BLOB), :row_id, :hash (hex MD5).
UPDATE {table} AS s SET {emb} = :vector
WHERE s.{id} = :row_id AND vecsync_md5({render}) = :hash

-- name: record_state
-- Parameters: :row_id, :hash, :model, :now (Unix seconds).
INSERT INTO vecsync_state (row_id, text_hash, model, embedded_at)
VALUES (:row_id, :hash, :model, :now)
ON CONFLICT (row_id) DO UPDATE SET
    text_hash = excluded.text_hash,
    model = excluded.model,
    embedded_at = excluded.embedded_at

-- name: dequeue
-- Parameters: :row_id.
DELETE FROM vecsync_queue WHERE row_id = :row_id

-- name: source_exists
-- Parameters: :row_id.
SELECT 1 FROM {table} AS s WHERE s.{id} = :row_id

-- name: requeue
-- Makes the row claimable at once, as a fresh entry (a failed row stays failed).
-- Parameters: :row_id, :now.
UPDATE vecsync_queue SET locked_until = NULL, attempts = 0, enqueued_at = :now
WHERE row_id = :row_id AND status = 'pending'

-- name: forget_state
-- Parameters: :row_id.
DELETE FROM vecsync_state WHERE row_id = :row_id

-- name: fail
-- Counts a failure: a permanent one, or the last allowed attempt, marks the row 'failed'
-- (until retry-failed); otherwise the row waits out a backoff of
-- :backoff_base * 2^(attempts - 1) seconds (attempts counted from 1, at most 10),
-- capped at :backoff_cap, before it can be claimed again.
-- Parameters: :row_id, :reason, :permanent (0/1), :max_attempts, :now, :backoff_base,
-- :backoff_cap (seconds).
-- Returns the row's new status ('failed' or 'pending'); no row when it is not claimed.
UPDATE vecsync_queue SET
    status = CASE WHEN :permanent OR attempts >= :max_attempts THEN 'failed' ELSE 'pending' END,
    failed_at = CASE WHEN :permanent OR attempts >= :max_attempts THEN :now ELSE NULL END,
    locked_until = CASE WHEN :permanent OR attempts >= :max_attempts THEN NULL
        ELSE :now + min(:backoff_cap, :backoff_base * (1 << (min(max(attempts, 1), 10) - 1)))
    END,
    last_error = :reason
WHERE row_id = :row_id AND status = 'pending' AND locked_until IS NOT NULL
RETURNING status

-- name: release
-- Gives a leased row back without counting its attempt (graceful shutdown); a failed
-- row stays failed until retry-failed.
-- Parameters: :row_id.
UPDATE vecsync_queue SET locked_until = NULL, attempts = max(attempts - 1, 0)
WHERE row_id = :row_id AND status = 'pending'

-- name: retry_failed
-- Puts every failed row back in the queue as a fresh entry.
-- Parameters: :now. Changes one row per failed row.
UPDATE vecsync_queue SET status = 'pending', attempts = 0, last_error = NULL,
    failed_at = NULL, locked_until = NULL, enqueued_at = :now
WHERE status = 'failed'

-- name: reconcile_forget
-- Forgets state that claims a vector the table does not have (row deleted or vector
-- gone), so that needs_work sees those rows again.
DELETE FROM vecsync_state WHERE row_id IN (
    SELECT st.row_id FROM vecsync_state AS st
    LEFT JOIN {table} AS s ON s.{id} = st.row_id
    WHERE s.{id} IS NULL OR s.{emb} IS NULL
)
