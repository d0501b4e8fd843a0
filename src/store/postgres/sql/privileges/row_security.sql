-- Whether row-level security hides rows of the source table from the current role.
-- RLS applies unless row_security_active() says otherwise (RLS off, table owner without
-- FORCE ROW LEVEL SECURITY, superuser, BYPASSRLS). When it applies, the role sees every row
-- only if a permissive policy for it (or PUBLIC) with USING (true) covers the command, and
-- no restrictive policy for it narrows that.
-- $1 oid: the table; $2 bool: vecsync also UPDATEs (backfill, work), not only reads
-- Returns one row: (active bool, hides bool, policies bigint: policies that apply to the role).
WITH p AS (
    SELECT p.polcmd, p.polpermissive,
           coalesce(pg_get_expr(p.polqual, p.polrelid) = 'true', p.polqual IS NULL) AS all_rows,
           coalesce(pg_get_expr(p.polwithcheck, p.polrelid) = 'true', p.polwithcheck IS NULL)
               AS all_checks
    FROM pg_policy p
    WHERE p.polrelid = $1
      AND (0::oid = ANY (p.polroles)
           OR EXISTS (SELECT 1 FROM unnest(p.polroles) AS r(oid)
                      WHERE pg_has_role(current_user, r.oid, 'MEMBER')))
)
SELECT row_security_active($1),
       row_security_active($1) AND (
           NOT EXISTS (SELECT 1 FROM p WHERE polpermissive AND polcmd IN ('r', '*') AND all_rows)
           OR ($2 AND NOT EXISTS (SELECT 1 FROM p WHERE polpermissive AND polcmd IN ('w', '*')
                                                 AND all_rows AND all_checks))
           OR EXISTS (SELECT 1 FROM p WHERE NOT polpermissive
                                        AND (polcmd IN ('r', '*') OR ($2 AND polcmd = 'w'))
                                        AND NOT (all_rows AND all_checks))
       ),
       (SELECT count(*) FROM p)
