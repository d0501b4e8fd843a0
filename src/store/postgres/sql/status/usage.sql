-- Status: provider usage recorded by every run so far. No parameters.
-- Returns one row: (requests bigint, tokens bigint, cost float8).
SELECT coalesce(sum(requests), 0)::bigint,
       coalesce(sum(tokens), 0)::bigint,
       coalesce(sum(cost), 0)::float8
FROM {usage}
