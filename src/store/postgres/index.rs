//! `vecsync index`: the HNSW index (cosine) on the embedding column, built without blocking
//! the application's writes.
//!
//! PostgreSQL cannot build an index `CONCURRENTLY` on a partitioned table, so there it is
//! built the way its documentation describes: an index `ON ONLY` the parent (instant, and
//! invalid until every partition has its own), then each leaf partition's index
//! `CONCURRENTLY`, attached to its parent's. Once the last one is attached, the parent's
//! index is valid and the planner uses it for the whole table.

use anyhow::Result;

use super::catalog::Table;
use super::errors::PgResultExt;
use super::pool::Conn;
use super::PostgresStore;
use crate::config::quote_ident;

impl PostgresStore {
    /// Builds the HNSW index (cosine) on the embedding column without blocking writes. An
    /// invalid index left by an interrupted build is dropped and rebuilt; an index already
    /// there is kept, so running it again finishes an interrupted build. Large tables build
    /// much faster with a bigger `maintenance_work_mem` (set it for the role or database).
    pub async fn create_hnsw_index(&self) -> Result<()> {
        let pgvector = self.ready().await?.shape.pgvector.clone();
        let mut c = self.pool.get().await?;
        let table = self.inspect(&mut c).await?;
        if let Some(emb) = table.column(&self.source.embedding_column) {
            self.check_indexable(&mut c, emb).await?;
        }
        let relname = self.source.table.rsplit('.').next().unwrap_or_default();
        let name = self.index_name(relname);
        if !table.partitioned {
            return self
                .build_index(&mut c, table.oid, &self.names.table, &name, &pgvector, true)
                .await;
        }
        self.build_partitioned_index(&mut c, &table, &name, &pgvector)
            .await
    }

    /// `<table>_<embedding>_hnsw`, cut to PostgreSQL's 63 bytes.
    fn index_name(&self, relname: &str) -> String {
        hnsw_index_name(relname, &self.source.embedding_column)
    }

    /// The parent's index `ON ONLY`, then every partition's (parents before their own
    /// partitions), each attached to its parent's index unless one already is.
    async fn build_partitioned_index(
        &self,
        c: &mut Conn,
        table: &Table,
        name: &str,
        pgvector: &str,
    ) -> Result<()> {
        self.build_index(c, table.oid, &table.qualified, name, pgvector, false)
            .await?;
        // (table or partition oid, its index in the tree)
        let mut indexes = vec![(table.oid, self.index_of(c, table.oid, name).await?)];
        let partitions = c
            .query(include_str!("sql/index/partitions.sql"), &[&table.oid])
            .await?;
        for p in &partitions {
            let (oid, parent, qualified, relname, leaf): (u32, u32, String, String, bool) =
                (p.get(0), p.get(1), p.get(2), p.get(3), p.get(4));
            let parent_index = indexes
                .iter()
                .find(|(t, _)| *t == parent)
                .map(|(_, i)| i.clone())
                .expect("pg_partition_tree lists parents first");
            let attached = c
                .query(
                    include_str!("sql/index/attached.sql"),
                    &[&parent_index.0, &oid],
                )
                .await?
                .first()
                .map(|r| (r.get(0), r.get(1)));
            let index = match attached {
                Some(index) => index,
                None => {
                    let name = self.index_name(&relname);
                    self.build_index(c, oid, &qualified, &name, pgvector, leaf)
                        .await?;
                    let index = self.index_of(c, oid, &name).await?;
                    let attach = self
                        .names
                        .vars()
                        .with("parent_index", parent_index.1)
                        .with("index", index.1.clone())
                        .fill(include_str!("sql/index/attach.sql"));
                    c.client.batch_execute(&attach).await.pg()?;
                    index
                }
            };
            indexes.push((oid, index));
        }
        Ok(())
    }

    /// `CREATE INDEX [CONCURRENTLY] IF NOT EXISTS name ON [ONLY] table`: concurrently on a
    /// table with rows of its own, `ON ONLY` on a partitioned one (which has none). An
    /// invalid index of that name, left by an interrupted build, is dropped first.
    async fn build_index(
        &self,
        c: &mut Conn,
        oid: u32,
        table: &str,
        name: &str,
        pgvector: &str,
        concurrently: bool,
    ) -> Result<()> {
        let invalid = c
            .query(include_str!("sql/index/invalid_index.sql"), &[&oid, &name])
            .await?;
        if let Some(row) = invalid.first() {
            let qualified: String = row.get(0);
            tracing::warn!("dropping the invalid index {qualified} left by an interrupted build");
            c.client
                .batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {qualified}"))
                .await
                .pg()?;
        }
        let (concurrently, only) = if concurrently {
            ("CONCURRENTLY", "")
        } else {
            ("", "ONLY")
        };
        let create = self
            .names
            .vars()
            .with("index", quote_ident(name))
            .with("table", table)
            .with("concurrently", concurrently)
            .with("only", only)
            .with("pgvector", pgvector)
            .fill(include_str!("sql/index/hnsw_index.sql"));
        c.client.batch_execute(&create).await.pg()?;
        Ok(())
    }

    /// The index `name` on table `oid`: its oid and its name as regclass text.
    async fn index_of(&self, c: &mut Conn, oid: u32, name: &str) -> Result<(u32, String)> {
        let row = c
            .query_one(include_str!("sql/index/index_oid.sql"), &[&oid, &name])
            .await?;
        Ok((row.get(0), row.get(1)))
    }
}

/// The name `vecsync index` gives the HNSW index of `column` on the table (or partition)
/// `relname`: `<relname>_<column>_hnsw`, cut to PostgreSQL's 63 bytes. A model
/// migration's swap renames these indexes with their columns.
pub(super) fn hnsw_index_name(relname: &str, column: &str) -> String {
    let raw = format!("{relname}_{column}_hnsw");
    let mut end = raw.len().min(63);
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    raw[..end].to_string()
}
