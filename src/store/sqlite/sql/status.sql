-- Status: the counts `vecsync status` reports, and provider usage. SQLite has no triggers
-- yet that queue the application's changes, so nothing but a full audit is exact: every
-- status is one (`table_counts` hashes every row's text).
--
-- Placeholders: {table}, {id}, {emb} the quoted source table, id and embedding columns;
-- {render} the template rendered for source row `s`; {filter} "(filter)" or "1";
-- {needs_work} the fragment of needs_work.sql (source `s`, state `st`).

-- name: table_counts
-- One pass over the rows passing the filter; renders and hashes the text of every row
-- that has a vector. Parameters: :model.
-- Returns (total, embedded: vector of the current text and model, not queued (a queued
-- row waits for work), missing: no vector,
-- vector_without_state: a vector with no or other state, unqueued: needs work but not
-- in the queue).
SELECT
    count(*),
    coalesce(sum(s.{emb} IS NOT NULL AND st.text_hash = vecsync_md5({render})
        AND st.model = :model AND q.row_id IS NULL), 0),
    coalesce(sum(s.{emb} IS NULL), 0),
    coalesce(sum(s.{emb} IS NOT NULL AND (st.row_id IS NULL
        OR st.text_hash <> vecsync_md5({render}) OR st.model <> :model)), 0),
    coalesce(sum(q.row_id IS NULL AND ({needs_work})), 0)
FROM {table} AS s
LEFT JOIN vecsync_state AS st ON st.row_id = s.{id}
LEFT JOIN vecsync_queue AS q ON q.row_id = s.{id}
WHERE {filter}

-- name: queue_counts
-- Parameters: :now (Unix seconds).
-- Returns (pending: claimable now, leased: leased or backing off, failed).
SELECT
    coalesce(sum(status = 'pending' AND (locked_until IS NULL OR locked_until < :now)), 0),
    coalesce(sum(status = 'pending' AND locked_until >= :now), 0),
    coalesce(sum(status = 'failed'), 0)
FROM vecsync_queue

-- name: done_without_vector
-- Rows with state (vecsync embedded them) whose vector is gone.
SELECT count(*)
FROM vecsync_state AS st
JOIN {table} AS s ON s.{id} = st.row_id
WHERE s.{emb} IS NULL

-- name: recent_failures
-- The 20 most recent failures: (row id, reason, attempts).
SELECT CAST(row_id AS TEXT), coalesce(last_error, ''), attempts
FROM vecsync_queue
WHERE status = 'failed'
ORDER BY failed_at DESC
LIMIT 20

-- name: completions_per_minute
-- Rows embedded in each of the last 10 minutes: (minutes ago, count).
-- Parameters: :now (Unix seconds).
SELECT CAST((:now - embedded_at) / 60 AS INTEGER), count(*)
FROM vecsync_state
WHERE embedded_at > :now - 600
GROUP BY 1

-- name: usage_totals
-- Returns (requests, tokens, cost) over every recorded run.
SELECT coalesce(sum(requests), 0), coalesce(sum(tokens), 0), coalesce(sum(cost), 0)
FROM vecsync_usage

-- name: record_usage
-- Parameters: :now, :model, :requests, :tokens, :cost (US dollars).
INSERT INTO vecsync_usage (recorded_at, model, requests, tokens, cost)
VALUES (:now, :model, :requests, :tokens, :cost)

-- name: now_utc
-- When this status (an audit) ran: RFC 3339 UTC.
SELECT strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
