-- Whether source.filter is immutable: whether a row passes depends on the row alone, not
-- on the time (now()), a setting or another table (a subquery). Only then do the triggers
-- keep the count of the rows that pass (`row_counts`): a row passes or stops passing only
-- when it is written. PostgreSQL allows only an immutable condition as an index predicate:
-- this asks it, on an empty temporary table with the table's columns and name (the filter
-- may name it), in a transaction that is rolled back. The columns come from the catalog
-- (columns.sql), so no privilege on the table is needed.
CREATE TEMP TABLE {alias} ({columns});
CREATE INDEX ON pg_temp.{alias} ((true)) WHERE {filter}
