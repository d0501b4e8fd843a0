-- How many enabled triggers on the table call functions in vecsync's schema.
-- $1 oid: the table; $2 text: the schema
-- Returns one row: (bigint).
SELECT count(*)
FROM pg_trigger t
JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_namespace ns ON ns.oid = p.pronamespace
WHERE t.tgrelid = $1 AND ns.nspname = $2::text AND t.tgenabled <> 'D'
