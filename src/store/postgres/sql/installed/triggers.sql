-- vecsync's triggers on the source table: how many are enabled, how many disabled, and
-- whether every trigger function runs as its owner (SECURITY DEFINER), in which case the
-- application roles that write the table need no grant on vecsync's schema.
-- $1 oid: the table; $2 text: vecsync's schema
-- Returns one row: (enabled bigint, disabled bigint, security_definer bool).
SELECT count(*) FILTER (WHERE t.tgenabled <> 'D'),
       count(*) FILTER (WHERE t.tgenabled = 'D'),
       coalesce(bool_and(p.prosecdef), false)
FROM pg_trigger t
JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_namespace ns ON ns.oid = p.pronamespace
WHERE t.tgrelid = $1 AND ns.nspname = $2::text AND NOT t.tgisinternal
