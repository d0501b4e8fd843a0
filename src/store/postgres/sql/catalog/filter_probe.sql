-- Whether source.filter is a valid condition on the table: planned, never run.
SELECT 1 FROM {table} WHERE {filter} LIMIT 0
