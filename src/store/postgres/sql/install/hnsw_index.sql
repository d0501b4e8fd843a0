-- The HNSW index for cosine search, built without blocking writes. The operator class is
-- named with pgvector's schema, which need not be on the search_path.
CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {table}
USING hnsw ({embedding} {pgvector}.vector_cosine_ops)
