-- Complete: write a batch of vectors and record a batch of failures. One statement, so
-- one round trip and one transaction (data-modifying CTEs).
--   writing:           marks this transaction's updates of the source table as vecsync's
--                      own: the UPDATE trigger's WHEN clause skips them (create.sql);
--   fence:             false when the schema's vectorizer row names another model than $4
--                      (a model migration switched since this process started): then
--                      nothing at all is written or recorded;
--   incoming:          the vectors, with the hash of the text each was made from, of rows
--                      still claimed (pending, leased even if the lease ran out): a vector
--                      for any other row (requeued by a trigger since the claim, done,
--                      failed, never claimed) is ignored and counted as not written;
--   written:           the guarded write: a vector is written only where the row's current
--                      text still hashes to what was embedded (not for changed or deleted
--                      rows); `current`: the row's text after the write still does (a BEFORE
--                      UPDATE trigger of the table's may change it in this very UPDATE, which
--                      vecsync's own UPDATE trigger skips);
--   state_upserted:    state for exactly the written rows (the hash their vector is for);
--   logged:            one row for the batch in `completions` (completions per minute: the
--                      current ones);
--   written_dequeued:  the current ones' queue rows are done;
--   rewritten:         the others stay queued for their new text, attempts kept: a trigger
--                      that changes the text on every write ends 'failed' at $8 attempts,
--                      with a reason, instead of embedding forever;
--   not_written:       the rest, and whether their source row still exists;
--   requeued_changed:  a row whose vector was not written (its text changed since the claim
--                      with no trigger requeueing it, or a BEFORE UPDATE trigger skipped the
--                      write) stays queued, attempts kept, so that one the write never takes
--                      ends 'failed' at $8 attempts with a reason instead of being claimed
--                      forever (a change the trigger queues resets the attempts itself);
--   dequeued_deleted,
--   forgotten_deleted: a deleted row leaves no queue or state row behind;
--   failures:          the failed rows;
--   failures_recorded: a failure counts only on a row still leased (a row a trigger requeued
--                      since the claim is left alone); permanent failures, and rows that
--                      reached $8 attempts, become 'failed'; others are retried after
--                      1, 2, 4 ... seconds, at most 300.
-- $1 text[]:   ids of the embedded rows ($2 and $3 in the same order)
-- $2 vector[]: their vectors
-- $3 text[]:   MD5 (hex) of the text each vector was made from
-- $4 text:     the model id recorded in state
-- $5 text[]:   ids of the failed rows ($6 and $7 in the same order)
-- $6 text[]:   why each failed
-- $7 bool[]:   whether each failure is permanent
-- $8 int:      max attempts
-- Returns one row: (written and current, vectors sent, now failed, retrying: bigint;
-- fenced: bool).
WITH writing AS (
    SELECT set_config('vecsync.writing', {schema_name}, true)
), fence AS (
    SELECT NOT EXISTS (SELECT 1 FROM {vectorizer} WHERE model <> $4) AS ok
), incoming AS (
    SELECT x.id::{id_type} AS id, x.vec, x.hash
    FROM writing, unnest($1::text[], $2::{vector}[], $3::text[]) AS x(id, vec, hash)
    JOIN {queue} AS q ON q.row_id = x.id::{id_type}
    WHERE (SELECT ok FROM fence) AND q.status = 'pending' AND q.locked_until IS NOT NULL
), written AS (
    UPDATE {table} AS s SET {embedding} = incoming.vec
    FROM incoming
    WHERE s.{id} = incoming.id AND md5({render}) = incoming.hash
    RETURNING s.{id} AS id, incoming.hash, md5({render}) = incoming.hash AS current
), state_upserted AS (
    INSERT INTO {state} (row_id, text_hash, model, embedded_at)
    SELECT id, hash, $4, now() FROM written
    ON CONFLICT (row_id) DO UPDATE SET text_hash = EXCLUDED.text_hash,
        model = EXCLUDED.model, embedded_at = EXCLUDED.embedded_at
), logged AS (
    INSERT INTO {completions} (rows)
    SELECT count(*) FROM written WHERE current HAVING count(*) > 0
), written_dequeued AS (
    DELETE FROM {queue} WHERE row_id = ANY(ARRAY(SELECT id FROM written WHERE current))
), rewritten AS (
    UPDATE {queue} SET locked_until = NULL, enqueued_at = now(), has_vector = true,
        status = CASE WHEN attempts >= $8 THEN 'failed' ELSE 'pending' END,
        failed_at = CASE WHEN attempts >= $8 THEN now() END,
        last_error = CASE WHEN attempts >= $8 THEN
            'its text changes whenever its vector is written (a BEFORE UPDATE trigger on the table?): the vector is for the text before'
        END
    WHERE row_id = ANY(ARRAY(SELECT id FROM written WHERE NOT current))
    RETURNING status
), not_written AS (
    SELECT incoming.id,
           EXISTS (SELECT 1 FROM {table} AS s WHERE s.{id} = incoming.id) AS present
    FROM incoming
    WHERE NOT EXISTS (SELECT 1 FROM written WHERE written.id = incoming.id)
), requeued_changed AS (
    UPDATE {queue} SET locked_until = NULL, enqueued_at = now(),
        status = CASE WHEN attempts >= $8 THEN 'failed' ELSE 'pending' END,
        failed_at = CASE WHEN attempts >= $8 THEN now() END,
        last_error = CASE WHEN attempts >= $8 THEN
            'its vector was never written: its text changed while it was embedded, or a BEFORE UPDATE trigger on the table skipped the write'
        END
    WHERE row_id = ANY(ARRAY(SELECT id FROM not_written WHERE present))
      AND status = 'pending'
    RETURNING status
), dequeued_deleted AS (
    DELETE FROM {queue}
    WHERE row_id = ANY(ARRAY(SELECT id FROM not_written WHERE NOT present))
), forgotten_deleted AS (
    DELETE FROM {state}
    WHERE row_id = ANY(ARRAY(SELECT id FROM not_written WHERE NOT present))
), failures AS (
    SELECT x.id::{id_type} AS id, x.reason, x.permanent
    FROM unnest($5::text[], $6::text[], $7::bool[]) AS x(id, reason, permanent)
    WHERE (SELECT ok FROM fence)
), failures_recorded AS (
    UPDATE {queue} AS q SET
        status = CASE WHEN f.permanent OR q.attempts >= $8 THEN 'failed' ELSE 'pending' END,
        failed_at = CASE WHEN f.permanent OR q.attempts >= $8 THEN now() END,
        locked_until = CASE WHEN f.permanent OR q.attempts >= $8 THEN NULL
            ELSE now() + make_interval(
                secs => least(300, power(2, least(greatest(q.attempts, 1), 10) - 1)))
            END,
        last_error = f.reason
    FROM failures AS f
    WHERE q.row_id = f.id AND q.locked_until IS NOT NULL
    RETURNING q.status
)
SELECT (SELECT count(*) FROM written WHERE current),
       cardinality($1::text[])::bigint,
       (SELECT count(*) FROM failures_recorded WHERE status = 'failed')
           + (SELECT count(*) FROM rewritten WHERE status = 'failed')
           + (SELECT count(*) FROM requeued_changed WHERE status = 'failed'),
       (SELECT count(*) FROM failures_recorded WHERE status = 'pending'),
       NOT (SELECT ok FROM fence)
