-- Search: exact nearest neighbours by cosine similarity (SQLite has no vector index).
--
-- Placeholders: {table}, {id}, {emb} the quoted source table, id and embedding columns;
-- {filter} "(filter)" or "1"; {display_columns} ", s.<column>" for each configured
-- display column.

-- name: nearest
-- The :k rows passing the filter whose vector is closest to :query (a little-endian f32
-- BLOB), closest first. Rows with any vector count, including stale ones.
-- Returns (id, cosine similarity, display columns…).
SELECT CAST(s.{id} AS TEXT), vecsync_cosine(s.{emb}, :query) AS score{display_columns}
FROM {table} AS s
WHERE s.{emb} IS NOT NULL AND {filter}
ORDER BY score DESC
LIMIT :k
