-- The privileges, among those asked for, that the current role lacks. Objects are looked up
-- by name in the catalog (not with to_regclass, which fails without USAGE on their schema).
-- An object that does not exist yet (vecsync's schema, tables or columns before `init` or
-- its migrations) lacks nothing: `init` creates it, owned by the role that runs it.
-- $1 text[]: kinds: 'table', 'column', 'schema', 'database', 'table_owner', 'schema_owner',
--            'function_owner'
-- $2 text[]: the schema (of the relation or function, or the schema itself); NULL for
--            'database'
-- $3 text[]: the relation (table, column, table_owner) or function (function_owner, taking
--            no argument); else NULL
-- $4 text[]: the column ('column'), else NULL
-- $5 text[]: the privilege: SELECT, INSERT, UPDATE, DELETE, TRIGGER, USAGE, CREATE (ignored
--            for the *_owner kinds)
-- Returns (position int, 1-based; owner text: the owning role for *_owner kinds), one row
-- per privilege missing, in order.
WITH r AS (
    SELECT r.kind, r.col, r.priv, r.i, n.oid AS nsp, n.nspowner,
           (SELECT c.oid FROM pg_class c
            WHERE c.relnamespace = n.oid AND c.relname = r.name) AS rel,
           (SELECT p.oid FROM pg_proc p
            WHERE p.pronamespace = n.oid AND p.proname = r.name AND p.pronargs = 0) AS fn
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
         AS r(kind, sch, name, col, priv, i)
    LEFT JOIN pg_namespace n ON n.nspname = r.sch
)
SELECT r.i::int,
       CASE r.kind
           WHEN 'table_owner' THEN (SELECT relowner::regrole::text FROM pg_class WHERE oid = r.rel)
           WHEN 'schema_owner' THEN r.nspowner::regrole::text
           WHEN 'function_owner' THEN (SELECT proowner::regrole::text FROM pg_proc WHERE oid = r.fn)
       END
FROM r
WHERE NOT CASE r.kind
    WHEN 'table' THEN r.rel IS NULL OR has_table_privilege(r.rel, r.priv)
    WHEN 'column' THEN CASE
        WHEN NOT EXISTS (SELECT 1 FROM pg_attribute a
                         WHERE a.attrelid = r.rel AND a.attname = r.col AND NOT a.attisdropped)
        THEN true
        ELSE has_column_privilege(r.rel, r.col, r.priv) END
    WHEN 'schema' THEN r.nsp IS NULL OR has_schema_privilege(r.nsp, r.priv)
    WHEN 'database' THEN has_database_privilege(current_database(), r.priv)
    WHEN 'table_owner' THEN r.rel IS NULL
        OR pg_has_role((SELECT relowner FROM pg_class WHERE oid = r.rel), 'USAGE')
    WHEN 'schema_owner' THEN r.nsp IS NULL OR pg_has_role(r.nspowner, 'USAGE')
    WHEN 'function_owner' THEN r.fn IS NULL
        OR pg_has_role((SELECT proowner FROM pg_proc WHERE oid = r.fn), 'USAGE')
END
ORDER BY r.i
