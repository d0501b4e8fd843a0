-- What this schema is installed for; one row.
-- $1 text: source.table; $2 oid: its oid; $3 text: source.id_column;
-- $4 text: source.embedding_column; $5 text: source.template; $6 text: source.filter (NULL
-- for none); $7 text: MD5 of the trigger DDL that was installed; $8 bool: whether the
-- filter depends on the row alone (catalog/filter_immutable.sql; NULL: not known)
-- `init` runs this only when something was not current (triggers missing, disabled or for
-- another config, a migration pending): changes may have gone unqueued, so `status` may
-- no longer trust the queue until the next audit (queue_complete_for, migration 4).
INSERT INTO {meta} (source_table, source_oid, id_column, embedding_column, template, filter,
                    triggers_hash, filter_immutable)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (singleton) DO UPDATE SET
    source_table = EXCLUDED.source_table,
    source_oid = EXCLUDED.source_oid,
    id_column = EXCLUDED.id_column,
    embedding_column = EXCLUDED.embedding_column,
    template = EXCLUDED.template,
    filter = EXCLUDED.filter,
    triggers_hash = EXCLUDED.triggers_hash,
    filter_immutable = EXCLUDED.filter_immutable,
    queue_complete_for = NULL,
    updated_at = now()
