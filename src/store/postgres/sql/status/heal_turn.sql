-- Heal (status.rs `heal`): take this minute's turn to audit for changes that escaped the
-- queue. Every worker of every process checks once a minute, and one audit a minute is
-- enough: the UPDATE lets one of them through, when the last turn is a minute old or more
-- (migration 6).
-- No parameters. Returns a row when this worker has the turn.
UPDATE {meta} SET healed_at = now()
WHERE healed_at IS NULL OR healed_at < now() - interval '1 minute'
RETURNING true
