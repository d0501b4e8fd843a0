//! The embedded default store: a SQLite file.
//!
//! Vectors are little-endian f32 BLOBs (sqlite-vec's layout). vecsync's bookkeeping lives
//! in `vecsync_queue` and `vecsync_state` beside the user's table, and triggers on the
//! table keep the queue current as any connection writes (like PostgreSQL's): inserts,
//! updates of the template's (or the filter's) columns, deletes. `vecsync work` wakes up
//! when another connection commits ([`watch`]). `enqueue_needed` catches up with what
//! changed while the triggers were not installed.
//!
//! rusqlite is synchronous, so every call runs on the blocking pool with the one
//! connection (SQLite has a single writer anyway).
//!
//! One file per concern: [`setup`] (checks and vecsync's tables), [`install`] (the
//! triggers), [`queue`] (enqueue, claim, complete), [`status`], [`search`], [`watch`],
//! [`migration`] (`vecsync migrate`); their SQL is in `sql/*.sql` ([`statements`]), and
//! [`functions`] holds the SQL functions registered on vecsync's connection.

pub mod doctor;
mod functions;
mod install;
mod migration;
mod queue;
mod search;
mod setup;
mod statements;
mod status;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags};

pub use functions::{blob_to_vector, vector_to_blob};
pub use migration::{read_record, SqliteMigrator};
use statements::Statements;

use super::*;
use crate::config::SourceConfig;
use crate::config_error;

/// The kind of a SQLite error, for [`super::error_kind`] (`None`: not SQLite's). A busy or
/// locked database (after the 30 s busy timeout) and I/O trouble are retried; a file that
/// cannot be opened or written is a setup problem.
pub(super) fn error_kind(e: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
    use rusqlite::ErrorCode as C;
    let e = e.downcast_ref::<rusqlite::Error>()?;
    Some(match e.sqlite_error_code() {
        Some(C::DatabaseBusy | C::DatabaseLocked | C::SystemIoFailure) => ErrorKind::Unavailable,
        Some(
            C::ReadOnly
            | C::CannotOpen
            | C::PermissionDenied
            | C::AuthorizationForStatementDenied
            | C::NotADatabase,
        ) => ErrorKind::Setup,
        Some(C::ConstraintViolation) => ErrorKind::RowRejected,
        _ => ErrorKind::Failed,
    })
}

pub struct SqliteStore {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
    /// Started by the first `wait_for_work`.
    watcher: OnceLock<watch::Watcher>,
    sql: Arc<Statements>,
    source: SourceConfig,
    options: StoreOptions,
}

/// Unix time in seconds: the clock of every time column in vecsync's SQLite tables.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl SqliteStore {
    /// Opens an existing database file (only `vecsync demo` creates one) or `:memory:`: a
    /// missing file is a setup error naming `database_url`, not a new empty database.
    pub fn open(path: &Path, source: &SourceConfig, options: StoreOptions) -> Result<SqliteStore> {
        SqliteStore::open_in(path, source, options, "vecsync_")
    }

    /// A store whose bookkeeping tables start with `prefix` (`vecsync_next_`…: a model
    /// migration's other vectorizer, see [`crate::store::migration`]).
    pub fn open_in(
        path: &Path,
        source: &SourceConfig,
        options: StoreOptions,
        prefix: &str,
    ) -> Result<SqliteStore> {
        let in_memory = path == Path::new(":memory:");
        if !in_memory && !path.is_file() {
            return Err(config_error!(
                setting = "database_url",
                "there is no SQLite database at {} (check the path; only `vecsync demo` creates one)",
                path.display()
            ));
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if in_memory {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags)
            .with_context(|| format!("cannot open SQLite database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(30))?;
        // WAL: readers (status, search) never block the writer; NORMAL sync is durable
        // across process crashes (kill -9), which is what resume relies on.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        functions::register(&conn)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            conn: Arc::new(Mutex::new(conn)),
            watcher: OnceLock::new(),
            sql: Arc::new(Statements::new_in(source, prefix)?),
            source: source.clone(),
            options,
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn with_conn<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Statements, &StoreOptions) -> Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        let sql = self.sql.clone();
        let options = self.options.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn, &sql, &options)
        })
        .await?
        .map_err(|e| self.explain(e))
    }

    /// A statement that met a missing table becomes a one-line setup error.
    fn explain(&self, e: anyhow::Error) -> anyhow::Error {
        let missing = e.chain().find_map(|c| {
            let text = c.downcast_ref::<rusqlite::Error>()?.to_string();
            text.strip_prefix("no such table: ").map(str::to_string)
        });
        let Some(table) = missing else { return e };
        let table = table.trim_start_matches("main.");
        if table.starts_with("vecsync_") {
            config_error!(
                setting = "database_url",
                "vecsync is not set up in {} (no table {table}); run `vecsync init`",
                self.path.display()
            )
        } else if table.eq_ignore_ascii_case(self.source.table.trim_start_matches("main.")) {
            config_error!(
                setting = "source.table",
                "table {:?} does not exist in {}",
                self.source.table,
                self.path.display()
            )
        } else {
            e
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn init(&self) -> Result<()> {
        let source = self.source.clone();
        self.with_conn(move |conn, sql, _| setup::init(conn, sql, &source))
            .await
    }

    async fn uninstall(&self) -> Result<()> {
        self.with_conn(|conn, sql, _| setup::uninstall(conn, sql))
            .await
    }

    async fn prepare(&self, dimensions: usize) -> Result<()> {
        let source = self.source.clone();
        self.with_conn(move |conn, sql, options| {
            setup::prepare(conn, sql, &source, options, dimensions)
        })
        .await
    }

    async fn verify(&self, dimensions: usize) -> Result<()> {
        let source = self.source.clone();
        self.with_conn(move |conn, sql, options| {
            setup::verify(conn, sql, &source, options, dimensions).map(drop)
        })
        .await
    }

    async fn enqueue_needed(&self) -> Result<u64> {
        self.with_conn(queue::enqueue_needed).await
    }

    async fn peek_needed(&self, after: Option<&RowId>, limit: usize) -> Result<Vec<ClaimedRow>> {
        let after = after.cloned();
        self.with_conn(move |conn, sql, options| {
            queue::peek_needed(conn, sql, options, after, limit)
        })
        .await
    }

    async fn claim(&self, limit: usize, lease: Duration) -> Result<Vec<ClaimedRow>> {
        self.with_conn(move |conn, sql, options| queue::claim(conn, sql, options, limit, lease))
            .await
    }

    async fn complete(&self, done: &[Completion], failed: &[Failure]) -> Result<WriteOutcome> {
        let (done, failed) = (done.to_vec(), failed.to_vec());
        self.with_conn(move |conn, sql, options| {
            queue::complete(conn, sql, options, &done, &failed)
        })
        .await
    }

    async fn release(&self, ids: &[RowId]) -> Result<()> {
        let ids = ids.to_vec();
        self.with_conn(move |conn, sql, _| queue::release(conn, sql, &ids))
            .await
    }

    async fn retry_failed(&self) -> Result<u64> {
        self.with_conn(|conn, sql, _| queue::retry_failed(conn, sql))
            .await
    }

    async fn status(&self) -> Result<Status> {
        let source = self.source.clone();
        self.with_conn(move |conn, sql, options| {
            // A table nothing ran on yet (or only a dry run): vecsync's tables are created
            // empty, so status reports every row as missing rather than failing.
            if !setup::installed(conn, sql)? {
                setup::init(conn, sql, &source)?;
            }
            status::status(conn, sql, options)
        })
        .await
    }

    /// Every SQLite status is a full audit (no triggers yet queue the app's changes).
    async fn audit(&self) -> Result<Status> {
        self.status().await
    }

    async fn ping(&self) -> Result<()> {
        self.with_conn(|conn, _, _| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    async fn search(&self, query: &[f32], k: usize) -> Result<Vec<SearchHit>> {
        let query = query.to_vec();
        let display = self.source.display_columns.clone();
        self.with_conn(move |conn, sql, options| {
            search::search(conn, sql, options, &display, &query, k)
        })
        .await
    }

    async fn record_usage(&self, model: &str, usage: &UsageTotals) -> Result<()> {
        let (model, usage) = (model.to_string(), usage.clone());
        self.with_conn(move |conn, sql, _| status::record_usage(conn, sql, &model, &usage))
            .await
    }

    async fn reconcile(&self) -> Result<u64> {
        self.with_conn(queue::reconcile).await
    }

    async fn wait_for_work(&self, timeout: Duration) -> Result<()> {
        if let Some(watcher) = self.watcher.get() {
            watcher.wait(timeout).await;
            return Ok(());
        }
        let path = self.path.clone();
        let watcher = tokio::task::spawn_blocking(move || watch::Watcher::start(&path)).await??;
        // Work queued before the watcher started would go unnoticed: look again at once.
        let _ = self.watcher.set(watcher);
        Ok(())
    }
}
