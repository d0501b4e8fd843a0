//! Model migrations (`vecsync migrate`), as the stores see them: two vectorizers on one
//! table, each with its own embedding column and its own bookkeeping (queue, state,
//! usage, and a `vectorizer` row that says which model it holds).
//!
//! | slot | column | PostgreSQL schema | SQLite tables |
//! |---|---|---|---|
//! | live | `<embedding>` | `<schema>` | `vecsync_*` |
//! | next (before the switch) | `<embedding>_next` | `<schema>_next` | `vecsync_next_*` |
//! | prev (after the switch) | `<embedding>_prev` | `<schema>_prev` | `vecsync_prev_*` |
//!
//! The other vectorizer is an ordinary [`Store`] opened on its slot ([`open_other`]), so
//! the pipeline runs against it unchanged. A switch ([`Migrator::swap`]) renames both
//! columns and both namespaces in one transaction; a rollback is the same swap back.
//!
//! **Fences.** Every claim, write and search checks the model recorded in its namespace's
//! `vectorizer` row against its own model in the same statement (PostgreSQL) or
//! transaction (SQLite). A process started before a switch therefore fails with
//! [`ModelSwitched`] instead of writing, or searching with, the other model's vectors.

use std::sync::Arc;

use anyhow::Result;
use async_trait::async_trait;
use serde::Serialize;

use super::{Store, StoreOptions};
use crate::config::{validate_identifier, Config, ConfigError, StoreKind};

/// Where a migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The next model's vectors are being built beside the live ones.
    Building,
    /// The next model is live; the previous model's vectors are kept (rollback).
    Switched,
    /// The previous model's vectors are gone; the record says which model is live.
    Finished,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Building => "building",
            Phase::Switched => "switched",
            Phase::Finished => "finished",
        }
    }

    pub fn parse(s: &str) -> Option<Phase> {
        match s {
            "building" => Some(Phase::Building),
            "switched" => Some(Phase::Switched),
            "finished" => Some(Phase::Finished),
            _ => None,
        }
    }

    /// The slot of the vectorizer that is not live (none once finished).
    pub fn other_slot(self) -> Option<Slot> {
        match self {
            Phase::Building => Some(Slot::Next),
            Phase::Switched => Some(Slot::Prev),
            Phase::Finished => None,
        }
    }
}

/// Which of a migration's vectorizers a store serves: it decides the embedding column
/// and the bookkeeping namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Live,
    Next,
    Prev,
}

impl Slot {
    /// `""`, `"_next"` or `"_prev"`: appended to the embedding column and the schema.
    pub fn suffix(self) -> &'static str {
        match self {
            Slot::Live => "",
            Slot::Next => "_next",
            Slot::Prev => "_prev",
        }
    }

    /// The role recorded in the `vectorizer` row.
    pub fn role(self) -> &'static str {
        match self {
            Slot::Live => "live",
            Slot::Next => "next",
            Slot::Prev => "prev",
        }
    }

    /// The slot's embedding column, from the live one (`embedding` → `embedding_next`).
    pub fn column(self, live_column: &str) -> String {
        format!("{live_column}{}", self.suffix())
    }

    /// SQLite: the prefix of vecsync's tables in this slot.
    pub fn sqlite_prefix(self) -> String {
        format!("vecsync{}_", self.suffix())
    }
}

/// A migration as the live namespace records it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub phase: Phase,
    /// The model whose vectors are in the live column.
    pub live_model: String,
    pub live_dimensions: usize,
    /// The other vectorizer's model: the next one while building, the previous one after
    /// the switch; none once finished.
    pub other_model: Option<String>,
    pub other_dimensions: Option<usize>,
    /// Unix seconds.
    pub started_at: f64,
    pub switched_at: Option<f64>,
    pub finished_at: Option<f64>,
}

/// A model and its dimensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub id: String,
    pub dimensions: usize,
}

/// Whether the vectorizer that a swap would make live covers the table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Uncovered {
    /// Rows that block the swap: they have a live vector, and the other vectorizer has no
    /// vector for them, failed on them (for another reason than empty text), or has a
    /// vector for older text that is not queued. A queued row with an older vector does
    /// not block: it is re-embedded after the swap like any changed row.
    pub rows: u64,
    /// Rows waiting in the other vectorizer's queue (they do not block by themselves).
    pub pending: u64,
}

impl Uncovered {
    pub fn is_covered(&self) -> bool {
        self.rows == 0
    }
}

/// The migration operations on one table. Each is one transaction; each reads the record
/// inside it, so two `vecsync migrate` processes cannot interleave their steps.
#[async_trait]
pub trait Migrator: Send + Sync {
    /// The record of the live namespace; `None` when no migration ever started (or
    /// vecsync is not installed).
    async fn record(&self) -> Result<Option<Record>>;

    /// The declared type of `column` of the source table, if it has that column.
    async fn column_type(&self, column: &str) -> Result<Option<String>>;

    /// The statement that adds the next vectorizer's column for `dimensions`.
    async fn add_column_sql(&self, dimensions: usize) -> Result<String>;

    /// What the switch runs on the source table (shown by dry runs).
    fn switch_sql(&self) -> Vec<String>;

    /// What `--finish` runs on the source table (shown by dry runs).
    fn finish_sql(&self) -> Vec<String>;

    /// Starts a migration from `live` to `next`: adds the next column (only when
    /// `add_column`; refuses otherwise) and records the start in the live namespace, in
    /// one transaction. Continuing a migration to the same model is a no-op.
    async fn begin(&self, live: &Model, next: &Model, add_column: bool) -> Result<()>;

    /// Writes the other vectorizer's `vectorizer` row (after its store was prepared), so
    /// that its own fence knows its model.
    async fn record_other(&self) -> Result<()>;

    /// The switch (`from` building → switched) or the rollback (`from` switched →
    /// building): renames both columns and both namespaces in one transaction, after
    /// checking, with writers blocked, that the other vectorizer covers the table
    /// ([`Uncovered`]). `Ok(Err(_))` when it does not; an error when the migration is not
    /// in phase `from`. Returns the new phase.
    async fn swap(&self, from: Phase) -> Result<std::result::Result<Phase, Uncovered>>;

    /// Drops the other vectorizer, its column and its bookkeeping, in one transaction:
    /// `--abort` (`from` building; the record is removed) or `--finish` (`from` switched;
    /// the record says finished). An error when the migration is not in phase `from`.
    async fn drop_other(&self, from: Phase) -> Result<()>;

    /// PostgreSQL: when the live column has an HNSW index, builds one on the other
    /// vectorizer's column (`CREATE INDEX CONCURRENTLY`, writers are not blocked; an
    /// interrupted build is redone) and returns its statement. SQLite: nothing to do.
    async fn index_other(&self) -> Result<Option<String>>;

    /// The index statement [`Migrator::index_other`] would run (dry runs).
    async fn index_sql(&self) -> Result<Option<String>>;
}

/// The error of a claim, write or search made by a process started before a switch: it
/// is a [`ConfigError`] (the run stops at once, exit 2) whose context is this type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSwitched {
    /// The model the namespace holds now.
    pub recorded: String,
    /// The model this process runs with.
    pub running: String,
}

impl std::fmt::Display for ModelSwitched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`vecsync migrate` switched models while this process ran: this column now holds {:?} vectors, not {:?}; run the command again",
            self.recorded, self.running
        )
    }
}

/// A migration step could not lock the table within its lock timeout: a transaction of
/// the application holds it. Waiting longer would queue every query behind the step's lock
/// request, so the step gives up; `vecsync migrate` tries the switch again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableBusy {
    pub table: String,
}

impl std::fmt::Display for TableBusy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "table {:?} stayed locked by another transaction for 10 s; run the command again",
            self.table
        )
    }
}

impl std::error::Error for TableBusy {}

/// `Ok` when `recorded` (the namespace's `vectorizer.model`, if any) is `running`.
pub fn check_fence(recorded: Option<String>, running: &str) -> Result<()> {
    match recorded {
        Some(recorded) if recorded != running => {
            let switched = ModelSwitched {
                recorded,
                running: running.to_string(),
            };
            Err(anyhow::Error::new(ConfigError::new("", switched.to_string())).context(switched))
        }
        _ => Ok(()),
    }
}

/// What `begin` does given the record it found: `Ok(true)` when a migration to `next` is
/// already in progress (nothing to do), `Ok(false)` to start one, or why not.
pub(crate) fn check_begin(record: Option<&Record>, next: &Model) -> Result<bool> {
    match record {
        Some(r) if r.phase == Phase::Building => {
            if r.other_model.as_deref() == Some(next.id.as_str()) {
                Ok(true)
            } else {
                Err(crate::config_error!(
                    setting = "next_embedder.model",
                    "a migration to {:?} is in progress; finish it or run `vecsync migrate --abort` first",
                    r.other_model.as_deref().unwrap_or_default()
                ))
            }
        }
        Some(r) if r.phase == Phase::Switched => Err(crate::config_error!(
            setting = "migrate",
            "{:?} was switched live and {:?} is kept for a rollback; run `vecsync migrate --finish` (or --rollback) first",
            r.live_model,
            r.other_model.as_deref().unwrap_or_default()
        )),
        _ => Ok(false),
    }
}

/// The checks `begin` makes on the next column before adding it.
pub(crate) fn check_add_column(
    table: &str,
    column: &str,
    existing_type: Option<&str>,
    add_column: bool,
    ddl: &str,
) -> Result<()> {
    if let Some(ty) = existing_type {
        return Err(crate::config_error!(
            setting = "migrate",
            "table {table:?} already has a column {column:?} ({ty}) that vecsync did not add; rename or drop it"
        ));
    }
    if !add_column {
        return Err(crate::config_error!(
            setting = "migrate",
            "this adds column {column:?} to table {table:?} ({ddl}); rerun with --add-column"
        ));
    }
    Ok(())
}

/// The slot of the other vectorizer of a migration in progress, or an error.
pub(crate) fn in_progress(record: Option<Record>) -> Result<(Record, Slot)> {
    record
        .and_then(|r| r.phase.other_slot().map(|s| (r, s)))
        .ok_or_else(|| {
            crate::config_error!(setting = "migrate", "no model migration is in progress")
        })
}

/// Like [`in_progress`], and the migration must be in phase `from`.
pub(crate) fn in_phase(record: Option<Record>, from: Phase) -> Result<(Record, Slot)> {
    let (record, slot) = in_progress(record)?;
    if record.phase != from {
        return Err(crate::config_error!(
            setting = "migrate",
            "the migration is {}, not {} (another `vecsync migrate` ran meanwhile?); see `vecsync status`",
            record.phase.as_str(),
            from.as_str()
        ));
    }
    Ok((record, slot))
}

impl Record {
    /// The model in the live column.
    pub fn live(&self) -> Model {
        Model {
            id: self.live_model.clone(),
            dimensions: self.live_dimensions,
        }
    }

    /// The other vectorizer's model (none once finished).
    pub fn other(&self) -> Option<Model> {
        Some(Model {
            id: self.other_model.clone()?,
            dimensions: self.other_dimensions?,
        })
    }
}

/// Unix seconds now: the clock of the migration record's times.
pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The store options of a vectorizer of `model_id`.
pub fn slot_options(config: &Config, model_id: &str) -> StoreOptions {
    StoreOptions {
        model_id: model_id.to_string(),
        max_attempts: config.worker.max_attempts,
        listen_url: config.listen_url.clone(),
    }
}

/// `config.source` with the slot's embedding column.
fn slot_source(config: &Config, slot: Slot) -> Result<crate::config::SourceConfig> {
    let mut source = config.source.clone();
    source.embedding_column = slot.column(&source.embedding_column);
    validate_identifier("source.embedding_column", &source.embedding_column)?;
    Ok(source)
}

/// PostgreSQL: the slot's schema.
pub fn slot_schema(config: &Config, slot: Slot) -> Result<String> {
    let schema = format!("{}{}", config.schema, slot.suffix());
    validate_identifier("schema", &schema)?;
    Ok(schema)
}

/// Opens the store of a migration's other vectorizer (`slot` is next or prev) for the
/// model `model_id`. `config` is the live config.
pub async fn open_other(config: &Config, slot: Slot, model_id: &str) -> Result<Arc<dyn Store>> {
    let source = slot_source(config, slot)?;
    let options = slot_options(config, model_id);
    match config.store_kind() {
        Some(StoreKind::Sqlite(path)) => Ok(Arc::new(super::sqlite::SqliteStore::open_in(
            &path,
            &source,
            options,
            &slot.sqlite_prefix(),
        )?)),
        Some(StoreKind::Postgres(url)) => Ok(Arc::new(
            super::postgres::PostgresStore::connect(
                &url,
                &slot_schema(config, slot)?,
                &source,
                options,
            )
            .await?,
        )),
        None => Err(crate::config_error!(
            setting = "database_url",
            "unsupported URL"
        )),
    }
}

/// The migration operations for the table of `config` (the live config).
pub async fn open_migrator(config: &Config) -> Result<Box<dyn Migrator>> {
    match config.store_kind() {
        Some(StoreKind::Sqlite(path)) => Ok(Box::new(super::sqlite::SqliteMigrator::open(
            &path, config,
        )?)),
        Some(StoreKind::Postgres(url)) => Ok(Box::new(
            super::postgres::PgMigrator::connect(&url, config).await?,
        )),
        None => Err(crate::config_error!(
            setting = "database_url",
            "unsupported URL"
        )),
    }
}

/// The migration record of the database `config` names, without creating anything: no
/// SQLite file, no vecsync schema, or no record yet is `None`.
pub async fn read_record(config: &Config) -> Result<Option<Record>> {
    match config.store_kind() {
        Some(StoreKind::Sqlite(path)) => super::sqlite::read_record(&path),
        Some(StoreKind::Postgres(_)) => open_migrator(config).await?.record().await,
        None => Err(crate::config_error!(
            setting = "database_url",
            "unsupported URL"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fence_error_is_a_config_error_with_context() {
        assert!(check_fence(None, "a").is_ok());
        assert!(check_fence(Some("a".into()), "a").is_ok());
        let e = check_fence(Some("b".into()), "a").unwrap_err();
        assert!(e.downcast_ref::<ConfigError>().is_some());
        assert_eq!(
            e.downcast_ref::<ModelSwitched>()
                .map(|m| m.recorded.as_str()),
            Some("b")
        );
    }

    #[test]
    fn slots_name_columns_and_namespaces() {
        assert_eq!(Slot::Next.column("embedding"), "embedding_next");
        assert_eq!(Slot::Prev.sqlite_prefix(), "vecsync_prev_");
        assert_eq!(Slot::Live.sqlite_prefix(), "vecsync_");
        assert_eq!(Phase::Switched.other_slot(), Some(Slot::Prev));
        assert_eq!(Phase::parse("building"), Some(Phase::Building));
    }
}
