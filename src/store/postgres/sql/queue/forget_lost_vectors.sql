-- Reconcile, first step: forget state that claims a vector the table does not have (the
-- row is gone, or its vector was set to NULL behind vecsync's back), so that the row is
-- seen as needing work again.
-- No parameters; the row count says how many.
DELETE FROM {state} AS st
WHERE NOT EXISTS (
    SELECT 1 FROM {table} AS s WHERE s.{id} = st.row_id AND s.{embedding} IS NOT NULL
)
