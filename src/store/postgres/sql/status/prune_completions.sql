-- Fold's companion (same transaction): forget batches older than status shows.
-- No parameters.
DELETE FROM {completions} WHERE at < now() - interval '10 minutes'
