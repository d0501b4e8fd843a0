-- Status: whether vecsync's triggers still serve the table as configured: the hash of the
-- trigger DDL `init` installed, and how many of the four triggers are there and enabled.
-- $1 text: vecsync's schema
-- Returns one row (none before `init`): (triggers_hash text, enabled triggers bigint).
SELECT m.triggers_hash,
       (SELECT count(*)
        FROM pg_trigger t
        JOIN pg_proc p ON p.oid = t.tgfoid
        JOIN pg_namespace ns ON ns.oid = p.pronamespace
        WHERE t.tgrelid = m.source_oid AND ns.nspname = $1::text AND t.tgenabled <> 'D')
FROM {meta} m
