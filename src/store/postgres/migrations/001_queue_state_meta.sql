-- Migration 1: the queue, the state and the meta row.
-- row_id has the type of the source table's id column.
CREATE TABLE {queue} (
    row_id {id_type} PRIMARY KEY,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed')),
    enqueued_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    attempts int NOT NULL DEFAULT 0,
    last_error text,
    failed_at timestamptz
);
-- Claims take the oldest pending rows without sorting the backlog.
CREATE INDEX queue_pending_idx ON {queue} (enqueued_at) WHERE status = 'pending';
CREATE INDEX queue_failed_idx ON {queue} (failed_at) WHERE status = 'failed';
CREATE TABLE {state} (
    row_id {id_type} PRIMARY KEY,
    text_hash text NOT NULL,
    model text NOT NULL,
    embedded_at timestamptz NOT NULL DEFAULT now()
);
-- Completions per minute.
CREATE INDEX state_embedded_at_idx ON {state} (embedded_at);
CREATE TABLE {meta} (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    source_table text NOT NULL,
    source_oid oid NOT NULL,
    id_column text NOT NULL,
    embedding_column text NOT NULL,
    template text NOT NULL,
    filter text,
    triggers_hash text NOT NULL,
    installed_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
