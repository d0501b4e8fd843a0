-- Whether a column identifies rows: a unique, non-partial index on that column alone.
-- $1 oid: the table; $2 text: the column
-- Returns one row: (bool).
SELECT EXISTS (
    SELECT 1
    FROM pg_index i
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL
      AND i.indnkeyatts = 1 AND a.attname = $2::text
)
