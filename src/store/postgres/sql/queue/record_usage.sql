-- Record usage: one row per run with what the provider was asked for.
-- $1 text: model id; $2 bigint: requests; $3 bigint: tokens; $4 float8: cost in US dollars
INSERT INTO {usage} (model, requests, tokens, cost) VALUES ($1, $2, $3, $4)
