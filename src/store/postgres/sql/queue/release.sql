-- Release: give leased rows back without counting an attempt (graceful shutdown). A row
-- that failed meanwhile keeps its state.
-- $1 text[]: ids of the rows to release
UPDATE {queue} SET locked_until = NULL, attempts = greatest(attempts - 1, 0)
WHERE row_id = ANY($1::text[]::{id_type}[]) AND status = 'pending'
