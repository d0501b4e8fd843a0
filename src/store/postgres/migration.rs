//! Model migrations on PostgreSQL ([`crate::store::migration`]): the other vectorizer
//! lives in the schema `<schema>_next` (before the switch) or `<schema>_prev` (after it)
//! and writes the column `<embedding>_next` / `<embedding>_prev`; the swap renames both
//! schemas and both columns in one transaction, then re-creates both sets of trigger
//! functions (their bodies name the schemas) and triggers. SQL in `sql/migration/`.

use anyhow::Result;
use async_trait::async_trait;
use tokio_postgres::error::SqlState;

use super::connect::ConnectSpec;
use super::errors::{PgError, PgResultExt};
use super::pool::{Conn, Tx};
use super::PostgresStore;
use crate::config::{quote_ident, Config};
use crate::config_error;
use crate::store::migration::{
    check_add_column, check_begin, check_fence, in_phase, in_progress, slot_options, slot_schema,
    unix_now, Migrator, Model, Phase, Record, Slot, TableBusy, Uncovered,
};

/// Serializes migration steps (and `init`/`uninstall`) on one table.
const LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(hashtext($1::text))";
/// How long a step waits for the table lock before giving up: a long transaction of the
/// application must not make every query queue behind the migration's lock request.
const LOCK_TIMEOUT_SQL: &str = "SET LOCAL lock_timeout = '10s'";

impl PostgresStore {
    /// The fence: an error when this schema's vectorizer row names another model than
    /// this store's (a model migration switched since the store was opened).
    pub(super) async fn check_fence(&self, c: &mut Conn) -> Result<()> {
        let sql = self.names.vars().fill("SELECT model FROM {vectorizer}");
        let row = c.query(&sql, &[]).await?;
        check_fence(row.first().map(|r| r.get(0)), &self.options.model_id)
    }
}

/// The migration operations on one PostgreSQL table.
pub struct PgMigrator {
    /// The live vectorizer's store (for its connection pool, names and catalog checks).
    live: PostgresStore,
    config: Config,
    spec: ConnectSpec,
}

/// The HNSW index name `vecsync index` gives `column` of `table` (`schema.table` or not).
fn hnsw_index_name(table: &str, column: &str) -> String {
    super::index::hnsw_index_name(table.rsplit('.').next().unwrap_or_default(), column)
}

/// A lock timeout of a migration step becomes [`TableBusy`].
fn busy<T>(table: &str, result: Result<T>) -> Result<T> {
    result.map_err(|e| {
        let timeout = e.chain().any(|c| {
            c.downcast_ref::<PgError>()
                .is_some_and(|p| p.error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE))
        });
        if timeout {
            anyhow::Error::new(TableBusy {
                table: table.to_string(),
            })
        } else {
            e
        }
    })
}

impl PgMigrator {
    pub async fn connect(url: &str, config: &Config) -> Result<PgMigrator> {
        let live = PostgresStore::connect(
            url,
            &config.schema,
            &config.source,
            slot_options(config, &config.embedder.model_id()),
        )
        .await?;
        Ok(PgMigrator {
            live,
            config: config.clone(),
            spec: ConnectSpec::parse("database_url", url)?,
        })
    }

    /// A store for `slot`'s names, schema and column (not connected): its SQL and its
    /// trigger DDL.
    fn slot_store(&self, slot: Slot) -> Result<PostgresStore> {
        let mut source = self.config.source.clone();
        source.embedding_column = slot.column(&source.embedding_column);
        PostgresStore::new(
            self.spec.clone(),
            &slot_schema(&self.config, slot)?,
            &source,
            slot_options(&self.config, &self.config.embedder.model_id()),
        )
    }

    fn column(&self, slot: Slot) -> String {
        slot.column(&self.config.source.embedding_column)
    }

    /// The record, read in `tx` and locked (`FOR UPDATE`) so that concurrent steps wait.
    async fn locked_record(&self, tx: &Tx<'_>) -> Result<Option<Record>> {
        tx.execute(LOCK_TIMEOUT_SQL, &[]).await.pg()?;
        tx.execute(LOCK_SQL, &[&format!("vecsync:{}", self.live.names.schema)])
            .await
            .pg()?;
        let sql = self.live.names.vars().fill(&format!(
            "{} FOR UPDATE",
            include_str!("sql/migration/record.sql")
        ));
        let rows = tx.query(&sql, &[]).await.pg()?;
        rows.first().map(record_from_row).transpose()
    }

    /// The source table's oid.
    async fn oid(&self, tx: &Tx<'_>) -> Result<u32> {
        let oid: u32 = tx
            .query_one(
                "SELECT to_regclass($1::text)::oid",
                &[&self.live.names.table],
            )
            .await
            .pg()?
            .get(0);
        Ok(oid)
    }

    /// Whether the vectorizer in `slot` covers every row (see `sql/migration/uncovered.sql`);
    /// `queued_only`: the swap's last check, with writers blocked, which reads the queue
    /// only.
    async fn uncovered_in(
        &self,
        c: &Tx<'_>,
        slot: Slot,
        model: &str,
        queued_only: bool,
    ) -> Result<Uncovered> {
        let vars = self
            .slot_store(slot)?
            .names
            .vars()
            .with("live_embedding", quote_ident(&self.column(Slot::Live)));
        let row = if queued_only {
            c.query_one(
                &vars.fill(include_str!("sql/migration/uncovered_queued.sql")),
                &[],
            )
            .await
        } else {
            c.query_one(
                &vars.fill(include_str!("sql/migration/uncovered.sql")),
                &[&model],
            )
            .await
        }
        .pg()?;
        Ok(Uncovered {
            rows: row.get::<_, i64>(0) as u64,
            pending: row.get::<_, i64>(1) as u64,
        })
    }

    /// Installs `slot`'s trigger functions and triggers (their bodies name the slot's
    /// schema, and the triggers' names and WHEN clauses too), and records them in the
    /// slot's meta row (so that `init` finds them up to date).
    async fn install_triggers(&self, tx: &Tx<'_>, slot: Slot, oid: u32) -> Result<()> {
        let store = self.slot_store(slot)?;
        let ddl = store.trigger_ddl();
        tx.batch_execute(&ddl).await.pg()?;
        let source = &store.source;
        // Same table, same filter: what `init` found about it for this schema holds.
        let filter_immutable: Option<bool> = tx
            .query_one(
                &self
                    .live
                    .names
                    .vars()
                    .fill("SELECT filter_immutable FROM {meta}"),
                &[],
            )
            .await
            .pg()?
            .get(0);
        tx.execute(
            &store
                .names
                .vars()
                .fill(include_str!("sql/install/meta_upsert.sql")),
            &[
                &source.table,
                &oid,
                &source.id_column,
                &source.embedding_column,
                &source.template,
                &source.filter,
                &crate::template::text_hash(&ddl),
                &filter_immutable,
            ],
        )
        .await
        .pg()?;
        Ok(())
    }

    /// Renames the HNSW index `vecsync index` made on column `from` (if any) after `to`.
    async fn rename_index(&self, tx: &Tx<'_>, oid: u32, from: &str, to: &str) -> Result<()> {
        let table = &self.config.source.table;
        let rows = tx
            .query(
                include_str!("sql/migration/index_named.sql"),
                &[&oid, &hnsw_index_name(table, from)],
            )
            .await
            .pg()?;
        if let Some(row) = rows.first() {
            let index: String = row.get(0);
            tx.batch_execute(&format!(
                "ALTER INDEX {index} RENAME TO {}",
                quote_ident(&hnsw_index_name(table, to))
            ))
            .await
            .pg()?;
        }
        Ok(())
    }
}

/// Writes the vectorizer row of `store`'s schema.
async fn upsert_record(
    tx: &Tx<'_>,
    store: &PostgresStore,
    slot: Slot,
    phase: Phase,
    model: &Model,
    peer: Option<&Model>,
    times: [Option<f64>; 3],
) -> Result<()> {
    tx.execute(
        &store
            .names
            .vars()
            .fill(include_str!("sql/migration/record_upsert.sql")),
        &[
            &slot.role(),
            &phase.as_str(),
            &model.id,
            &(model.dimensions as i32),
            &peer.map(|p| p.id.as_str()),
            &peer.map(|p| p.dimensions as i32),
            &times[0],
            &times[1],
            &times[2],
        ],
    )
    .await
    .pg()?;
    Ok(())
}

fn record_from_row(r: &tokio_postgres::Row) -> Result<Record> {
    let phase: String = r.get(1);
    Ok(Record {
        phase: Phase::parse(&phase)
            .ok_or_else(|| anyhow::anyhow!("unknown migration phase {phase:?}"))?,
        live_model: r.get(2),
        live_dimensions: r.get::<_, i32>(3).max(0) as usize,
        other_model: r.get(4),
        other_dimensions: r.get::<_, Option<i32>>(5).map(|d| d.max(0) as usize),
        started_at: r.get(6),
        switched_at: r.get(7),
        finished_at: r.get(8),
    })
}

/// The other model of a migration in progress.
fn other_model(record: &Record) -> Result<Model> {
    record
        .other()
        .ok_or_else(|| config_error!(setting = "migrate", "no model migration is in progress"))
}

#[async_trait]
impl Migrator for PgMigrator {
    async fn record(&self) -> Result<Option<Record>> {
        let sql = self
            .live
            .names
            .vars()
            .fill(include_str!("sql/migration/record.sql"));
        let c = self.live.pool.get().await?;
        // Unnamed, like every statement (a transaction-mode pooler shares server sessions).
        match c.client.query_typed(&sql, &[]).await {
            Ok(rows) => rows.first().map(record_from_row).transpose(),
            // Not installed (or installed by a vecsync without migrations): no record.
            // A role that may not read it: none either; every command that depends on it
            // (work, status, search) checks that privilege next and names the GRANT.
            Err(e)
                if e.code() == Some(&SqlState::UNDEFINED_TABLE)
                    || e.code() == Some(&SqlState::INVALID_SCHEMA_NAME)
                    || e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) =>
            {
                Ok(None)
            }
            Err(e) => Err(e).pg(),
        }
    }

    async fn column_type(&self, column: &str) -> Result<Option<String>> {
        let mut c = self.live.pool.get().await?;
        let table = self.live.inspect(&mut c).await?;
        Ok(table.column(column).map(|c| c.display_type.clone()))
    }

    async fn add_column_sql(&self, dimensions: usize) -> Result<String> {
        let mut c = self.live.pool.get().await?;
        let table = self.live.inspect(&mut c).await?;
        let vector_type = format!("{}.vector", table.pgvector);
        Ok(self
            .live
            .names
            .vars()
            .with("column", quote_ident(&self.column(Slot::Next)))
            .with("vector_type", vector_type)
            .with("dimensions", dimensions.to_string())
            .fill(include_str!("sql/migration/add_column.sql")))
    }

    fn switch_sql(&self) -> Vec<String> {
        let table = &self.live.names.table;
        let [live, next, prev] =
            [Slot::Live, Slot::Next, Slot::Prev].map(|s| quote_ident(&self.column(s)));
        vec![
            format!("ALTER TABLE {table} RENAME COLUMN {live} TO {prev}"),
            format!("ALTER TABLE {table} RENAME COLUMN {next} TO {live}"),
        ]
    }

    fn finish_sql(&self) -> Vec<String> {
        vec![format!(
            "ALTER TABLE {} DROP COLUMN {}",
            self.live.names.table,
            quote_ident(&self.column(Slot::Prev))
        )]
    }

    async fn begin(&self, live: &Model, next: &Model, add_column: bool) -> Result<()> {
        busy(
            &self.config.source.table,
            self.begin_tx(live, next, add_column).await,
        )
    }

    async fn record_other(&self) -> Result<()> {
        let mut c = self.live.pool.get().await?;
        let tx = c.transaction().await.pg()?;
        let (record, slot) = in_progress(self.locked_record(&tx).await?)?;
        upsert_record(
            &tx,
            &self.slot_store(slot)?,
            slot,
            record.phase,
            &other_model(&record)?,
            Some(&record.live()),
            [Some(record.started_at), record.switched_at, None],
        )
        .await?;
        tx.commit().await.pg()?;
        Ok(())
    }

    async fn swap(&self, from: Phase) -> Result<std::result::Result<Phase, Uncovered>> {
        busy(&self.config.source.table, self.swap_tx(from).await)
    }

    async fn drop_other(&self, from: Phase) -> Result<()> {
        busy(&self.config.source.table, self.drop_other_tx(from).await)
    }

    async fn index_other(&self) -> Result<Option<String>> {
        let Some(sql) = self.index_sql().await? else {
            return Ok(None);
        };
        let (_, slot) = in_progress(self.record().await?)?;
        self.slot_store(slot)?.create_hnsw_index().await?;
        Ok(Some(sql))
    }

    async fn index_sql(&self) -> Result<Option<String>> {
        let mut c = self.live.pool.get().await?;
        let table = self.live.inspect(&mut c).await?;
        let indexed: bool = c
            .query_one(
                include_str!("sql/migration/has_hnsw.sql"),
                &[&table.oid, &self.column(Slot::Live)],
            )
            .await?
            .get(0);
        if !indexed {
            return Ok(None);
        }
        let slot = match self.record().await? {
            Some(r) => r.phase.other_slot().unwrap_or(Slot::Next),
            None => Slot::Next,
        };
        let column = self.column(slot);
        Ok(Some(
            self.live
                .names
                .vars()
                .with(
                    "index",
                    quote_ident(&hnsw_index_name(&self.config.source.table, &column)),
                )
                .with("embedding", quote_ident(&column))
                .with("pgvector", table.pgvector)
                // As shown to the user; on a partitioned table `vecsync index` builds one
                // per partition (`create_hnsw_index`).
                .with("concurrently", "CONCURRENTLY")
                .with("only", "")
                .fill(include_str!("sql/index/hnsw_index.sql")),
        ))
    }
}

/// The steps, each one transaction (the trait methods map lock timeouts to [`TableBusy`]).
impl PgMigrator {
    async fn begin_tx(&self, live: &Model, next: &Model, add_column: bool) -> Result<()> {
        let add = self.add_column_sql(next.dimensions).await?;
        let next_column = self.column(Slot::Next);
        let existing = self.column_type(&next_column).await?;
        let mut c = self.live.pool.get().await?;
        let tx = c.transaction().await.pg()?;
        if check_begin(self.locked_record(&tx).await?.as_ref(), next)? {
            return Ok(());
        }
        check_add_column(
            &self.config.source.table,
            &next_column,
            existing.as_deref(),
            add_column,
            &add,
        )?;
        tx.batch_execute(&add).await.pg()?;
        upsert_record(
            &tx,
            &self.live,
            Slot::Live,
            Phase::Building,
            live,
            Some(next),
            [Some(unix_now()), None, None],
        )
        .await?;
        tx.commit().await.pg()?;
        Ok(())
    }

    /// The full coverage check of the migration in progress (without locks).
    async fn uncovered(&self) -> Result<Uncovered> {
        let (record, slot) = in_progress(self.record().await?)?;
        let model = other_model(&record)?;
        let mut c = self.live.pool.get().await?;
        let tx = c.snapshot().await.pg()?;
        self.uncovered_in(&tx, slot, &model.id, false).await
    }

    async fn swap_tx(&self, from: Phase) -> Result<std::result::Result<Phase, Uncovered>> {
        // The full check first, without blocking anyone; with writers blocked, only what
        // came in since (the other vectorizer's queue) is checked again.
        let uncovered = self.uncovered().await?;
        if !uncovered.is_covered() {
            return Ok(Err(uncovered));
        }
        let mut c = self.live.pool.get().await?;
        let tx = c.transaction().await.pg()?;
        let (record, other_slot) = in_phase(self.locked_record(&tx).await?, from)?;
        // Writers wait from here to the commit; readers until the renames.
        tx.batch_execute(&format!(
            "LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
            self.live.names.table
        ))
        .await
        .pg()?;
        let model = other_model(&record)?;
        let uncovered = self.uncovered_in(&tx, other_slot, &model.id, true).await?;
        if !uncovered.is_covered() {
            return Ok(Err(uncovered));
        }
        // The live vectorizer takes the slot the other one leaves: next <-> prev.
        let (after_slot, phase) = match other_slot {
            Slot::Next => (Slot::Prev, Phase::Switched),
            _ => (Slot::Next, Phase::Building),
        };
        let schema = |s: Slot| slot_schema(&self.config, s).map(|n| quote_ident(&n));
        let swap = self
            .live
            .names
            .vars()
            .with("live_schema", schema(Slot::Live)?)
            .with("live_schema_after", schema(after_slot)?)
            .with("other_schema", schema(other_slot)?)
            .with("live_column", quote_ident(&self.column(Slot::Live)))
            .with("live_column_after", quote_ident(&self.column(after_slot)))
            .with("other_column", quote_ident(&self.column(other_slot)))
            .fill(include_str!("sql/migration/swap.sql"));
        tx.batch_execute(&swap).await.pg()?;
        let oid = self.oid(&tx).await?;
        self.rename_index(&tx, oid, &self.column(Slot::Live), &self.column(after_slot))
            .await?;
        self.rename_index(&tx, oid, &self.column(other_slot), &self.column(Slot::Live))
            .await?;
        for slot in [Slot::Live, after_slot] {
            super::install::drop_triggers(&tx, &slot_schema(&self.config, slot)?).await?;
        }
        for slot in [Slot::Live, after_slot] {
            self.install_triggers(&tx, slot, oid).await?;
        }
        let switched_at = (phase == Phase::Switched).then(unix_now);
        let times = [Some(record.started_at), switched_at, None];
        let old_live = record.live();
        upsert_record(
            &tx,
            &self.live,
            Slot::Live,
            phase,
            &model,
            Some(&old_live),
            times,
        )
        .await?;
        upsert_record(
            &tx,
            &self.slot_store(after_slot)?,
            after_slot,
            phase,
            &old_live,
            Some(&model),
            times,
        )
        .await?;
        tx.commit().await.pg()?;
        Ok(Ok(phase))
    }

    async fn drop_other_tx(&self, from: Phase) -> Result<()> {
        let mut c = self.live.pool.get().await?;
        let tx = c.transaction().await.pg()?;
        let (record, slot) = in_phase(self.locked_record(&tx).await?, from)?;
        let schema = slot_schema(&self.config, slot)?;
        let foreign: Option<String> = tx
            .query_one(include_str!("sql/install/foreign_object.sql"), &[&schema])
            .await
            .pg()?
            .get(0);
        if let Some(object) = foreign {
            return Err(config_error!(
                setting = "schema",
                "{schema:?} holds {object}, which vecsync did not create; not dropping it"
            ));
        }
        super::install::drop_triggers(&tx, &schema).await?;
        tx.batch_execute(
            &self
                .live
                .names
                .vars()
                .with("other_schema", quote_ident(&schema))
                .with("other_column", quote_ident(&self.column(slot)))
                .fill(include_str!("sql/migration/drop_other.sql")),
        )
        .await
        .pg()?;
        match record.phase {
            Phase::Building => {
                tx.execute(
                    &self.live.names.vars().fill("DELETE FROM {vectorizer}"),
                    &[],
                )
                .await
                .pg()?;
            }
            _ => {
                upsert_record(
                    &tx,
                    &self.live,
                    Slot::Live,
                    Phase::Finished,
                    &record.live(),
                    None,
                    [
                        Some(record.started_at),
                        record.switched_at,
                        Some(unix_now()),
                    ],
                )
                .await?;
            }
        }
        tx.commit().await.pg()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceConfig;

    /// Every statement of `sql/migration/` fills (a placeholder without a value panics).
    #[test]
    fn every_migration_statement_is_filled() {
        let spec = ConnectSpec::parse("database_url", "postgres://u@127.0.0.1/db").unwrap();
        let source = SourceConfig {
            filter: Some("is_active".into()),
            ..SourceConfig::default()
        };
        let options = crate::store::StoreOptions {
            model_id: "m".into(),
            max_attempts: 3,
            listen_url: None,
        };
        let store = PostgresStore::new(spec, "vecsync_next", &source, options).unwrap();
        let vars = store
            .names
            .vars()
            .with("live_embedding", "\"embedding\"")
            .with("live_schema", "\"vecsync\"")
            .with("live_schema_after", "\"vecsync_prev\"")
            .with("other_schema", "\"vecsync_next\"")
            .with("live_column", "\"embedding\"")
            .with("live_column_after", "\"embedding_prev\"")
            .with("other_column", "\"embedding_next\"")
            .with("column", "\"embedding_next\"")
            .with("vector_type", "vector")
            .with("dimensions", "24");
        for sql in [
            include_str!("sql/migration/record.sql"),
            include_str!("sql/migration/record_upsert.sql"),
            include_str!("sql/migration/uncovered.sql"),
            include_str!("sql/migration/uncovered_queued.sql"),
            include_str!("sql/migration/has_hnsw.sql"),
            include_str!("sql/migration/index_named.sql"),
            include_str!("sql/migration/add_column.sql"),
            include_str!("sql/migration/swap.sql"),
            include_str!("sql/migration/drop_other.sql"),
        ] {
            let filled = vars.fill(sql);
            assert!(!filled.contains("{vectorizer}"));
        }
        assert_eq!(
            vars.fill(include_str!("sql/migration/add_column.sql"))
                .lines()
                .last(),
            Some("ALTER TABLE \"jobs\" ADD COLUMN \"embedding_next\" vector(24)")
        );
    }
}
