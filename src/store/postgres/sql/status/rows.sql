-- Status, cheap: one pass over the rows that pass the filter, reading of each row only
-- whether its id and embedding are NULL: no text is rendered, no other table is joined.
-- It costs what a filtered `count(*)` of the table costs (a sequential scan of the heap).
-- No parameters.
-- Returns one row of bigints: (total, without a vector, without an id but with a vector).
SELECT count(*), count(*) FILTER (WHERE s.{embedding} IS NULL),
       count(*) FILTER (WHERE s.{id} IS NULL AND s.{embedding} IS NOT NULL)
FROM {source} AS s
