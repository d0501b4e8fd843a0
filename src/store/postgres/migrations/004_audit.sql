-- Migration 4: what `status` needs to trust the queue instead of hashing every row.
--   audited_at:         when the last full audit ran (`status --audit`, `reconcile`, and
--                       the scan `work` starts with);
--   queue_complete_for: the model for which that audit left every row needing work in the
--                       queue (NULL when it did not, e.g. the triggers were off). While it
--                       names the current model and the triggers are current, `status`
--                       counts from the queue and one pass over the table.
ALTER TABLE {meta} ADD COLUMN audited_at timestamptz, ADD COLUMN queue_complete_for text;
