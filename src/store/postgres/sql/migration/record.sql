-- The schema's model migration row (`vecsync migrate`), if any. No parameters.
-- Returns at most one row: (role, phase, model, dimensions int, peer_model, peer_dimensions
-- int, started_at, switched_at, finished_at: Unix seconds as float8).
SELECT role, phase, model, dimensions, peer_model, peer_dimensions,
       extract(epoch FROM started_at)::float8,
       extract(epoch FROM switched_at)::float8,
       extract(epoch FROM finished_at)::float8
FROM {vectorizer}
