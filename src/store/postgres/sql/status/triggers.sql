-- Status: whether vecsync's triggers still serve the table as configured: the hash of the
-- trigger DDL `init` installed, how many of the four triggers are on the table and fire
-- for the application's writes (enabled 'O' or 'A', see installed/triggers.sql), and the
-- clones on its partitions that do not.
-- $1 text: vecsync's schema
-- Returns one row (none before `init`): (triggers_hash text, firing triggers bigint,
-- partitions' triggers that do not fire: text, `partition.trigger, ...`, or NULL).
SELECT m.triggers_hash,
       (SELECT count(*)
        FROM pg_trigger t
        JOIN pg_proc p ON p.oid = t.tgfoid
        JOIN pg_namespace ns ON ns.oid = p.pronamespace
        WHERE t.tgrelid = m.source_oid AND ns.nspname = $1::text
          AND t.tgenabled IN ('O', 'A')),
       (SELECT string_agg(t.tgrelid::regclass::text || '.' || t.tgname, ', '
                          ORDER BY t.tgrelid::regclass::text, t.tgname)
        FROM pg_trigger t
        JOIN pg_proc p ON p.oid = t.tgfoid
        JOIN pg_namespace ns ON ns.oid = p.pronamespace
        WHERE t.tgrelid IN (SELECT relid FROM pg_partition_tree(m.source_oid::regclass))
          AND t.tgrelid <> m.source_oid AND ns.nspname = $1::text
          AND t.tgenabled NOT IN ('O', 'A'))
FROM {meta} m
