-- The first object in vecsync's schema that vecsync did not create, if any: `init` will not
-- share a schema, and `uninstall` will not drop one that holds someone else's objects.
-- $1 text: the schema
-- Returns one row: (text, e.g. 'relation settings', or NULL).
SELECT coalesce(
    (SELECT format('relation %I', c.relname)
     FROM pg_class c
     JOIN pg_namespace ns ON ns.oid = c.relnamespace
     WHERE ns.nspname = $1::text AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
       AND c.relname NOT IN ('queue', 'state', 'meta', 'migrations', 'usage',
                             'vectorizer', 'row_counts', 'completions')
     LIMIT 1),
    (SELECT format('function %I', p.proname)
     FROM pg_proc p
     JOIN pg_namespace ns ON ns.oid = p.pronamespace
     WHERE ns.nspname = $1::text
       AND p.proname NOT IN ('on_insert', 'on_update', 'on_delete', 'on_truncate')
     LIMIT 1)
)
