-- The swap (switch or rollback), inside the swap's transaction: the live schema and
-- column take the other slot's names, and the other vectorizer's take the live names.
-- Catalog changes only: no row is rewritten, and indexes follow their columns.
ALTER SCHEMA {live_schema} RENAME TO {live_schema_after};
ALTER SCHEMA {other_schema} RENAME TO {live_schema};
ALTER TABLE {table} RENAME COLUMN {live_column} TO {live_column_after};
ALTER TABLE {table} RENAME COLUMN {other_column} TO {live_column};
