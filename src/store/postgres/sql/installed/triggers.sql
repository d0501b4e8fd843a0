-- vecsync's triggers on the source table: how many fire, how many do not (on the table or,
-- cloned, on any of its partitions), and whether every trigger function runs as its owner
-- (SECURITY DEFINER), in which case the application roles that write the table need no
-- grant on vecsync's schema. A trigger fires for the application's writes when enabled
-- as 'O' (origin, the default) or 'A' (always); 'R' fires only for replication ('ENABLE
-- REPLICA TRIGGER'), 'D' never. `CREATE OR REPLACE TRIGGER` on the table (`init`) sets
-- every clone back to 'O'.
-- $1 oid: the table; $2 text: vecsync's schema
-- Returns one row: (firing on the table bigint, not firing bigint, security_definer bool).
SELECT count(*) FILTER (WHERE t.tgrelid = $1 AND t.tgenabled IN ('O', 'A')),
       count(*) FILTER (WHERE t.tgenabled NOT IN ('O', 'A')),
       coalesce(bool_and(p.prosecdef), false)
FROM pg_trigger t
JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_namespace ns ON ns.oid = p.pronamespace
WHERE (t.tgrelid = $1 OR t.tgrelid IN (SELECT relid FROM pg_partition_tree($1::regclass)))
  AND ns.nspname = $2::text AND NOT t.tgisinternal
