-- Writes the schema's model migration row.
-- $1 text: role ('live', 'next', 'prev'); $2 text: phase ('building', 'switched',
-- 'finished'); $3 text: the model this schema's column holds; $4 int: its dimensions;
-- $5 text: the other vectorizer's model (NULL once finished); $6 int: its dimensions;
-- $7, $8, $9 float8: started_at, switched_at, finished_at in Unix seconds (NULL: none)
INSERT INTO {vectorizer} (role, phase, model, dimensions, peer_model, peer_dimensions,
                          started_at, switched_at, finished_at)
VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7), to_timestamp($8), to_timestamp($9))
ON CONFLICT (singleton) DO UPDATE SET
    role = EXCLUDED.role,
    phase = EXCLUDED.phase,
    model = EXCLUDED.model,
    dimensions = EXCLUDED.dimensions,
    peer_model = EXCLUDED.peer_model,
    peer_dimensions = EXCLUDED.peer_dimensions,
    started_at = EXCLUDED.started_at,
    switched_at = EXCLUDED.switched_at,
    finished_at = EXCLUDED.finished_at
