-- What the schema was installed for (the row `init` writes, `install/meta_upsert.sql`).
-- Returns at most one row: (source_table, source_oid, template, filter, triggers_hash).
SELECT source_table, source_oid, template, filter, triggers_hash FROM {meta}
