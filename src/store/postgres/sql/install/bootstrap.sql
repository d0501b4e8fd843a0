-- vecsync's schema and the table that records which migrations were applied.
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {migrations} (
    version int PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
