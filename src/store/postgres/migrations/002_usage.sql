-- Migration 2: provider usage, one row per run.
CREATE TABLE {usage} (
    recorded_at timestamptz NOT NULL DEFAULT now(),
    model text NOT NULL,
    requests bigint NOT NULL,
    tokens bigint NOT NULL,
    cost double precision NOT NULL
);
