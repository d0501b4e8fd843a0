-- The HNSW index for cosine search, built without blocking writes.
CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {table}
USING hnsw ({embedding} vector_cosine_ops)
