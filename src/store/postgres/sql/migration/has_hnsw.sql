-- Whether a column of the table has an HNSW index (any operator class).
-- $1 oid: the table; $2 text: the column
-- Returns one row: (bool).
SELECT EXISTS (
    SELECT 1
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_am am ON am.oid = ic.relam
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = $1 AND a.attname = $2::text AND am.amname = 'hnsw'
)
