-- Every trigger, on any table, that calls a function in vecsync's schema (uninstall).
-- $1 text: the schema
-- Returns (trigger name, table as quoted regclass text).
SELECT t.tgname::text, t.tgrelid::regclass::text
FROM pg_trigger t
JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_namespace ns ON ns.oid = p.pronamespace
WHERE ns.nspname = $1::text AND NOT t.tgisinternal
