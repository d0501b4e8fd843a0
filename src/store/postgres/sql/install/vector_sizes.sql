-- The distinct sizes of the vectors in the embedding column (at most two), to explain why
-- an HNSW index cannot be built on an untyped `vector` column.
-- Returns (dimensions int) rows.
SELECT DISTINCT vector_dims(s.{embedding}) FROM {table} AS s
WHERE s.{embedding} IS NOT NULL
LIMIT 2
