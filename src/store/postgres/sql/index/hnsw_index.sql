-- The HNSW index for cosine search. On a table with rows: built CONCURRENTLY, without
-- blocking writes. On a partitioned table: ON ONLY the parent (see index.rs). The operator
-- class is named with pgvector's schema, which need not be on the search_path.
-- {concurrently}: `CONCURRENTLY` or nothing; {only}: `ONLY` or nothing
CREATE INDEX {concurrently} IF NOT EXISTS {index} ON {only} {table}
USING hnsw ({embedding} {pgvector}.vector_cosine_ops)
