-- Record a full audit: now, and the model whose every row needing work is queued (NULL
-- when the audit found rows needing work outside the queue, or the triggers not current).
-- $1 text: the model id, or NULL
UPDATE {meta} SET audited_at = now(), queue_complete_for = $1
