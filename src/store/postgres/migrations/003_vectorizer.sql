-- Migration 3: the model migration row (`vecsync migrate`, docs/migration.md). None until
-- a migration starts; then one row saying which model this schema's vectorizer holds
-- (`model`) and where the migration stands. Claims, writes and searches check `model`
-- against their own model in the same statement (the fence), so a process started
-- before a switch cannot write, or search with, the other model.
CREATE TABLE {vectorizer} (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    role text NOT NULL CHECK (role IN ('live', 'next', 'prev')),
    phase text NOT NULL CHECK (phase IN ('building', 'switched', 'finished')),
    model text NOT NULL,
    dimensions int NOT NULL,
    peer_model text,
    peer_dimensions int,
    started_at timestamptz NOT NULL DEFAULT now(),
    switched_at timestamptz,
    finished_at timestamptz
);
