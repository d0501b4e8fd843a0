//! Mistakes whose fix is known, caught before (or right after) the statement that would
//! fail with pgvector's terse message:
//!
//! - `vecsync index` on more than 2,000 dimensions (pgvector's HNSW limit for `vector`);
//! - `vecsync index` on a `vector` column without a dimension ("column does not have
//!   dimensions");
//! - `search` while the column holds vectors of two sizes ("different vector dimensions").

use anyhow::Result;

use super::catalog::Column;
use super::errors::PgError;
use super::pool::Conn;
use super::PostgresStore;
use crate::config_error;

/// pgvector's HNSW limit for `vector` columns (`halfvec` goes to 4,000).
pub(super) const HNSW_MAX_DIMENSIONS: i32 = 2000;
pub(super) const HNSW_MAX_HALFVEC_DIMENSIONS: i32 = 4000;

impl PostgresStore {
    /// A setup error, before `CREATE INDEX`, when HNSW cannot index the embedding column.
    pub(super) async fn check_indexable(&self, c: &mut Conn, emb: &Column) -> Result<()> {
        let (column, table) = (&emb.name, &self.source.table);
        if emb.typmod > HNSW_MAX_DIMENSIONS {
            let halfvec = if emb.typmod <= HNSW_MAX_HALFVEC_DIMENSIONS {
                format!(
                    ", or store halfvec({}) (HNSW takes up to {HNSW_MAX_HALFVEC_DIMENSIONS} halfvec dimensions; vecsync writes vector columns only, so that means indexing an expression yourself: CREATE INDEX ON {table} USING hnsw (({column}::halfvec({})) halfvec_cosine_ops))",
                    emb.typmod, emb.typmod
                )
            } else {
                String::new()
            };
            return Err(config_error!(
                setting = "index",
                "pgvector's HNSW index takes at most {HNSW_MAX_DIMENSIONS} dimensions and column {column:?} of table {table:?} is vector({}); set embedder.dimensions to {HNSW_MAX_DIMENSIONS} or fewer (then `vecsync backfill` re-embeds every row){halfvec}",
                emb.typmod
            ));
        }
        if emb.typmod <= 0 {
            let sql = self
                .names
                .vars()
                .fill(include_str!("sql/install/vector_sizes.sql"));
            let sizes: Vec<i32> = c.query(&sql, &[]).await?.iter().map(|r| r.get(0)).collect();
            // SQL to paste: the table quoted, pgvector's type with its schema.
            let pgvector = self.ready().await?.shape.pgvector.clone();
            let quoted = &self.names.table;
            let alter = |n: &str| {
                format!(
                    "ALTER TABLE {quoted} ALTER COLUMN {} TYPE {pgvector}.vector({n})",
                    crate::config::quote_ident(column)
                )
            };
            let fix = match sizes.as_slice() {
                [] => format!("{}, N = embedder.dimensions", alter("N")),
                [n] => alter(&n.to_string()),
                [a, b, ..] => format!(
                    "it holds vectors of {a} and {b} dimensions; finish re-embedding (`vecsync backfill`) first, then {}, N = embedder.dimensions",
                    alter("N")
                ),
            };
            return Err(config_error!(
                setting = "index",
                "column {column:?} of table {table:?} is a vector without a dimension, and an HNSW index needs one: {fix}"
            ));
        }
        Ok(())
    }
}

/// `search` failing on vectors of two sizes becomes a setup error saying why and what to do.
pub(super) fn search_error(error: anyhow::Error) -> anyhow::Error {
    let sizes = error.chain().find_map(|e| {
        let pg = e.downcast_ref::<PgError>()?;
        let message = pg.error.as_db_error()?.message();
        message
            .starts_with("different vector dimensions")
            .then(|| message.to_string())
    });
    match sizes {
        Some(message) => config_error!(
            setting = "search",
            "the embedding column holds vectors of another size than the query ({message}): rows embedded with an earlier model or embedder.dimensions; run `vecsync backfill` to re-embed them (`vecsync status` counts them as stale)"
        ),
        None => error,
    }
}
