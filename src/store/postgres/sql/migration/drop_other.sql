-- `--abort` / `--finish`, inside their transaction (after the other vectorizer's triggers
-- were dropped): its schema, then its column. Dropping a column only changes the catalog;
-- the space comes back as rows are rewritten (or VACUUM FULL).
DROP SCHEMA IF EXISTS {other_schema} CASCADE;
ALTER TABLE {table} DROP COLUMN IF EXISTS {other_column};
