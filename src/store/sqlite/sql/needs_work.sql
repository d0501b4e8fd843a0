-- Fragment (an expression, not a statement): true when the source row `s`, joined with
-- its state row `st`, needs an embedding: it passes the filter and has no vector, no
-- state, or state for other text or another model.
--
-- Parameters: :model  the model id recorded with each vector.
{filter} AND (s.{emb} IS NULL OR st.row_id IS NULL
    OR st.text_hash <> vecsync_md5({render}) OR st.model <> :model)
