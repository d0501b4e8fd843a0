//! Stores: where the user's rows, their vectors and vecsync's bookkeeping live.
//!
//! One [`Store`] trait, one conformance suite (`tests/store_conformance.rs`) run against
//! every implementation. The model every store follows:
//!
//! - The source table is the user's. vecsync only ever `UPDATE`s its embedding column;
//!   it never inserts or deletes source rows.
//! - A **queue** (`vecsync_queue` / `<schema>.queue`) holds rows that need work, with a
//!   lease (`locked_until`), an attempt counter and the last error. Finished rows leave
//!   the queue; rows that failed `max_attempts` times (or permanently, e.g. empty text)
//!   stay in it with status `failed` until `retry-failed`.
//! - **State** (`vecsync_state` / `<schema>.state`) records, per embedded row, the MD5 of
//!   the text that was embedded and the model id. A row needs work when it has no vector,
//!   or its current text's hash or the model differs from the state.
//! - **Triggers** on the source table (installed by [`Store::init`]) queue inserted rows
//!   and rows whose template columns changed or that started to pass the filter, and
//!   forget deleted rows, inside the application's own writes.
//! - [`Store::complete`] writes vectors, state and queue changes in one transaction, and
//!   only for rows whose current text still hashes to what was embedded: a vector is never
//!   written for text that has since changed, nor for a deleted row.

pub mod migration;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use async_trait::async_trait;
use serde::Serialize;

use crate::config::{Config, SourceConfig, StoreKind};
use crate::template::Template;

/// Source row ids travel as text; each store casts them back to the column's type.
pub type RowId = String;

/// A row claimed for embedding, with its text rendered from the template by the database.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedRow {
    pub id: RowId,
    pub text: String,
}

/// A vector to write, with the hash of the text it was made from (the write guard).
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub id: RowId,
    pub text_hash: String,
    pub vector: Arc<Vec<f32>>,
}

/// A row that could not be embedded this time.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub id: RowId,
    /// One line for `status`, naming the cause (never a secret).
    pub reason: String,
    pub kind: FailureKind,
}

/// Why a row failed, which decides what happens to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The row renders to no text (every template column empty): nothing to embed.
    Empty,
    /// The embedder refuses this row's text alone (the rest of its batch was embedded).
    Rejected,
    /// A stored value of this row cannot be read as text.
    Undecodable,
    /// The embedder or its answer failed for the whole batch (rate limit, outage, a
    /// malformed answer): worth another attempt later.
    Transient,
}

impl FailureKind {
    /// Permanent failures are marked `failed` at once (no attempt can succeed until the
    /// row changes or `retry-failed`); transient ones count an attempt and are retried
    /// until `max_attempts`.
    pub fn is_permanent(self) -> bool {
        !matches!(self, FailureKind::Transient)
    }
}

/// What [`Store::complete`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WriteOutcome {
    /// Vectors written (and marked done).
    pub written: u64,
    /// Vectors not written because the row's text changed or the row was deleted after it
    /// was claimed, or because the row is no longer claimed. A changed row stays queued
    /// for its new text.
    pub skipped: u64,
    /// Rows now in the `failed` state.
    pub failed: u64,
    /// Rows that failed this attempt and will be retried.
    pub retrying: u64,
}

impl std::ops::AddAssign for WriteOutcome {
    fn add_assign(&mut self, o: WriteOutcome) {
        self.written += o.written;
        self.skipped += o.skipped;
        self.failed += o.failed;
        self.retrying += o.retrying;
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FailedRow {
    pub id: RowId,
    pub reason: String,
    pub attempts: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueueCounts {
    /// Waiting to be claimed.
    pub pending: u64,
    /// Claimed by a worker whose lease has not expired, or waiting out a retry backoff.
    pub leased: u64,
    pub failed: u64,
}

/// Disagreements between the source table, the state and the queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// State says embedded, but the embedding column is NULL (the original system's
    /// 3,721 silent losses).
    pub done_without_vector: u64,
    /// A vector with no state, or state for another text/model.
    pub vector_without_state: u64,
    /// Rows that need work but are not in the queue (nothing would ever embed them).
    pub unqueued: u64,
    /// Why changes to the table may not be queued: vecsync's triggers are missing, disabled
    /// or were installed for another config. One line each, with the fix; empty when all is
    /// well (and always with SQLite, which has no triggers).
    pub triggers: Vec<String>,
}

/// The truth about one table. JSON keys are a public contract (`status --json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Status {
    /// Rows passing the filter.
    pub total: u64,
    /// Rows with a vector for their current text and the current model.
    pub embedded: u64,
    /// Rows with a vector for older text or another model.
    pub stale: u64,
    /// Rows without a vector.
    pub missing: u64,
    /// Rows in the failed state.
    pub failed: u64,
    /// embedded / total (1.0 for an empty table).
    pub coverage: f64,
    pub model: String,
    /// The most recent failures with their reasons (at most 20).
    pub failures: Vec<FailedRow>,
    pub queue: QueueCounts,
    pub drift: Drift,
    /// Rows embedded in each of the last 10 minutes, oldest first.
    pub completions_per_minute: Vec<u64>,
    /// Average rows embedded per minute over those 10 minutes.
    pub throughput_per_minute: f64,
    /// Seconds until the queue is empty at that rate (None when nothing is moving).
    pub eta_seconds: Option<f64>,
    /// Provider usage recorded by every run so far (all models).
    pub usage: UsageTotals,
    /// Whether these counts come from a full audit (every row's text hashed and compared
    /// with its state). Otherwise (PostgreSQL) they come from the counts the triggers keep
    /// and the queue, exact as long as every change went through vecsync's triggers since
    /// the last audit; then `drift.done_without_vector`, `drift.vector_without_state` and
    /// `drift.unqueued` (but for rows without an id) are 0 (only an audit can see them).
    pub audited: bool,
    /// When the last full audit ran (`status --audit`, `reconcile`, or the scan `work`
    /// starts with), RFC 3339 UTC; None if never.
    pub last_audit: Option<String>,
}

/// Provider usage, as recorded by runs ([`Store::record_usage`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UsageTotals {
    pub requests: u64,
    pub tokens: u64,
    /// US dollars, for providers with a known price.
    pub cost: f64,
}

impl Status {
    /// The status with its failure reasons cleaned by [`crate::redact`], to print or
    /// serve (reasons are redacted when written; this also covers older rows).
    pub fn redacted(mut self) -> Status {
        for f in &mut self.failures {
            f.reason = crate::redact::redact(&f.reason);
        }
        self
    }

    /// Fills what follows from the counts: stale, coverage, throughput and ETA.
    pub fn derive(&mut self) {
        self.stale = self.total.saturating_sub(self.embedded + self.missing);
        self.coverage = if self.total == 0 {
            1.0
        } else {
            self.embedded as f64 / self.total as f64
        };
        let minutes = self.completions_per_minute.len().max(1) as f64;
        self.throughput_per_minute =
            self.completions_per_minute.iter().sum::<u64>() as f64 / minutes;
        let left = (self.queue.pending + self.queue.leased) as f64;
        self.eta_seconds =
            (self.throughput_per_minute > 0.0).then(|| 60.0 * left / self.throughput_per_minute);
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub id: RowId,
    /// Cosine similarity, higher is closer.
    pub score: f32,
    /// The configured display columns.
    pub fields: serde_json::Map<String, serde_json::Value>,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Creates vecsync's own objects and installs the triggers that queue inserted,
    /// changed and deleted rows (idempotent; the triggers are replaced when the template
    /// or filter changed).
    async fn init(&self) -> Result<()>;

    /// Removes vecsync's objects and nothing else.
    async fn uninstall(&self) -> Result<()>;

    /// Checks the source table against the config and the embedder's dimension; errors
    /// are [`crate::config::ConfigError`]s naming the table, column or setting. Creates the
    /// bookkeeping if missing.
    async fn prepare(&self, dimensions: usize) -> Result<()>;

    /// Everything [`Store::prepare`] checks, creating and changing nothing (dry runs, which
    /// must leave the database as they found it).
    async fn verify(&self, dimensions: usize) -> Result<()>;

    /// Queues every row that needs work and is not queued yet (what the triggers missed,
    /// e.g. while they were not installed); returns how many were added. Done in chunks of
    /// 10,000 ids, each its own statement, never one giant transaction.
    async fn enqueue_needed(&self) -> Result<u64>;

    /// Rows that need work, without claiming them (dry runs): up to `limit` rows with an
    /// id after `after`, in id order. Works before `init` (then every row passing the
    /// filter needs work) and writes nothing.
    async fn peek_needed(&self, after: Option<&RowId>, limit: usize) -> Result<Vec<ClaimedRow>>;

    /// Leases up to `limit` queued rows for `lease`; each claim counts an attempt.
    async fn claim(&self, limit: usize, lease: Duration) -> Result<Vec<ClaimedRow>>;

    /// Writes vectors (guarded by their text hash), state and failures in one transaction.
    /// Only rows currently claimed count (pending with a lease, even an expired one); a
    /// vector or failure reported for any other row (never claimed, done, failed,
    /// forgotten) is ignored, and such vectors are counted as skipped.
    async fn complete(&self, done: &[Completion], failed: &[Failure]) -> Result<WriteOutcome>;

    /// Gives leased rows back without counting an attempt (graceful shutdown). Only
    /// pending rows: a failed row stays failed until [`Store::retry_failed`].
    async fn release(&self, ids: &[RowId]) -> Result<()>;

    /// Requeues failed rows; returns how many.
    async fn retry_failed(&self) -> Result<u64>;

    /// Exact counts. PostgreSQL: no row of the table is read; the counts the triggers keep
    /// and the queue, O(backlog) (see [`Status::audited`] for what this trusts; one pass
    /// over the table, the cost of a filtered `count(*)`, until the first audit recounts);
    /// falls back to [`Store::audit`] when it cannot trust them (never audited for the
    /// current model, the triggers not current, or one of them failed since the last
    /// audit). SQLite: always the audit.
    async fn status(&self) -> Result<Status>;

    /// The full audit: every row's text rendered, hashed and compared with its state,
    /// finding changes made behind vecsync's back (e.g. while its triggers were off).
    /// Records when it ran. Costs a pass over the table that renders every row.
    async fn audit(&self) -> Result<Status>;

    /// Whether the database answers (`/readyz`): one trivial round trip, no table read.
    async fn ping(&self) -> Result<()>;

    /// Top `k` rows passing the filter by cosine similarity, among every row that has a
    /// vector, stale ones included (text changed since, awaiting their new vector): the
    /// rows the application's own nearest-neighbour query over the embedding column sees.
    async fn search(&self, query: &[f32], k: usize) -> Result<Vec<SearchHit>>;

    /// Waits until new work may be available or `timeout` passes: PostgreSQL wakes on
    /// LISTEN/NOTIFY, SQLite when another connection commits (`PRAGMA data_version`,
    /// polled every 50 ms).
    async fn wait_for_work(&self, timeout: Duration) -> Result<()> {
        tokio::time::sleep(timeout).await;
        Ok(())
    }

    /// Adds provider usage (requests, tokens, cost) to the totals `status` reports.
    async fn record_usage(&self, model: &str, usage: &UsageTotals) -> Result<()>;

    /// Queues the rows found by [`Status::drift`]'s `unqueued` and clears state that
    /// claims a vector the table does not have; returns how many rows were requeued.
    async fn reconcile(&self) -> Result<u64>;
}

/// Every column of the source table the config names, each with the setting that names
/// it: the id, the embedding column, the template's columns, then the display columns
/// (a column named twice is listed twice). `prepare` checks each exists, so that an error
/// names the setting to fix.
pub fn required_columns<'a>(
    source: &'a SourceConfig,
    template: &'a Template,
) -> Vec<(&'static str, &'a str)> {
    let mut wanted = vec![
        ("source.id_column", source.id_column.as_str()),
        ("source.embedding_column", source.embedding_column.as_str()),
    ];
    wanted.extend(
        template
            .columns()
            .into_iter()
            .map(|c| ("source.template", c)),
    );
    wanted.extend(
        source
            .display_columns
            .iter()
            .map(|c| ("source.display_columns", c.as_str())),
    );
    wanted
}

/// What kind of failure a store call's error is: what the pipeline retries and what the
/// CLI's exit status says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The database cannot be reached, dropped the connection, is restarting or out of
    /// connections, or the statement lost a race (serialization failure, deadlock):
    /// retried with backoff.
    Unavailable,
    /// A setup problem (a missing privilege or object, a wrong login, a bad setting):
    /// fails at once, exit status 2.
    Setup,
    /// The database refused a write because of one row's values: a CHECK, NOT NULL or
    /// other constraint, or the application's own trigger raising. The pipeline writes the
    /// batch without such rows, which fail alone with the database's reason.
    RowRejected,
    /// Anything else (a type or syntax error): fails at once, exit status 1.
    Failed,
}

/// The kind of a store error: the first cause in its chain that tells.
pub fn error_kind(e: &anyhow::Error) -> ErrorKind {
    for cause in e.chain() {
        if cause.is::<crate::config::ConfigError>() {
            return ErrorKind::Setup;
        }
        if let Some(kind) = postgres::error_kind(cause).or_else(|| sqlite::error_kind(cause)) {
            return kind;
        }
    }
    ErrorKind::Failed
}

/// What a store needs to know besides the database URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Model id recorded with each vector; a different id makes a vector stale.
    pub model_id: String,
    pub max_attempts: u32,
    /// PostgreSQL: where `work` LISTENs when `database_url` is a transaction pooler.
    pub listen_url: Option<String>,
}

impl StoreOptions {
    pub fn from_config(config: &Config) -> StoreOptions {
        migration::slot_options(config, &config.embedder.model_id())
    }
}

/// Opens the store named by `config.database_url`.
pub async fn open(config: &Config) -> Result<Arc<dyn Store>> {
    let options = StoreOptions::from_config(config);
    match config.store_kind() {
        Some(StoreKind::Sqlite(path)) => Ok(Arc::new(sqlite::SqliteStore::open(
            &path,
            &config.source,
            options,
        )?)),
        Some(StoreKind::Postgres(url)) => Ok(Arc::new(
            postgres::PostgresStore::connect(&url, &config.schema, &config.source, options).await?,
        )),
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
    fn required_columns_name_their_setting() {
        let source = SourceConfig {
            template: "{title}: {body} {title}".into(),
            display_columns: vec!["title".into()],
            ..SourceConfig::default()
        };
        let template = Template::parse(&source.template).unwrap();
        assert_eq!(
            required_columns(&source, &template),
            [
                ("source.id_column", "id"),
                ("source.embedding_column", "embedding"),
                ("source.template", "title"),
                ("source.template", "body"),
                ("source.display_columns", "title"),
            ]
        );
    }
}
