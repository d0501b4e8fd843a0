-- Whether source.filter works the way the triggers evaluate it: with their fixed
-- search_path (run inside a transaction after SET LOCAL search_path = pg_catalog, pg_temp),
-- over the table's rows under the table's own name. Planned, never run.
SELECT 1 FROM {qualified_table} AS {alias} WHERE {filter} LIMIT 0
