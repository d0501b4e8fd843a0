-- Search: the $2 rows nearest to a query vector by cosine distance, among rows that pass
-- the filter and have a vector. pgvector's type and operator are named with its schema,
-- which need not be on the search_path (the HNSW index serves OPERATOR(schema.<=>)).
-- No rows when the schema's vectorizer row names another model than $3 (the fence: the
-- query was embedded with a model the column no longer holds); one statement, so a switch
-- cannot come between the check and the search.
-- $1 vector: the query vector
-- $2 bigint: how many rows
-- $3 text:   the model id the query was embedded with
-- Returns (row_id text, score float4 = 1 - cosine distance, display columns as JSON text).
SELECT s.{id}::text,
       (1 - (s.{embedding} OPERATOR({pgvector}.<=>) $1::{vector}))::float4,
       jsonb_build_object({display_fields})::text
FROM {source} AS s
WHERE s.{embedding} IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM {vectorizer} WHERE model <> $3)
ORDER BY s.{embedding} OPERATOR({pgvector}.<=>) $1::{vector}
LIMIT $2
