//! PostgreSQL + pgvector.
//!
//! vecsync's bookkeeping lives in its own schema (`vecsync` by default):
//!
//! - `<schema>.queue`: rows that need work, with a lease (`locked_until`), attempts and the
//!   last error; claims take the oldest pending rows with `FOR UPDATE SKIP LOCKED`, so any
//!   number of workers can share it;
//! - `<schema>.state`: per embedded row, the MD5 of the text that was embedded and the model;
//! - `<schema>.meta`: the source table (and settings) this schema was installed for;
//! - `<schema>.migrations`: versions applied;
//! - `<schema>.row_counts`: the number of rows that pass the filter, as append-only
//!   changes (`status` sums them instead of counting the table);
//! - triggers on the source table that queue new rows and rows whose template columns
//!   changed (or that started to pass the filter, or whose vector the application set or
//!   cleared), count rows in and out of the filter, and forget deleted rows, then
//!   `NOTIFY <schema>_work` so that `vecsync work` wakes up at once.
//!
//! The template is rendered by the database ([`Template::to_sql`]): the same expression
//! gives the text to embed (claim), the hash that says whether a row needs work, and the
//! write guard of [`Store::complete`], so the three cannot disagree.
//!
//! Connections come from a small pool (claims and writes of concurrent batches run in
//! parallel); a connection that broke is replaced with a log line naming the redacted URL.
//! `sslmode=disable|allow|prefer|require|verify-ca|verify-full` is honoured as libpq does,
//! with rustls. Statements are unnamed and use no session state, so vecsync also works
//! through a connection pooler in transaction mode (pgbouncer, Supabase's port 6543);
//! `work` then polls, or `LISTEN`s on `listen_url`.
//!
//! Layout: one file per concern, and the SQL in `.sql` files next to it (`sql/`,
//! `migrations/`; see [`statements`]):
//!
//! | file | concern |
//! |---|---|
//! | `errors.rs` | error text; outage, setup problem or failure ([`ErrorKind`]) |
//! | `connect.rs` | URL, `sslmode`, connection driver |
//! | `tls.rs` | TLS with libpq's `sslmode` rules (rustls) |
//! | `pool.rs` | connection pool, unnamed statements with typed parameters |
//! | `listen.rs` | `LISTEN`/`NOTIFY`, or polling through a transaction pooler |
//! | `statements.rs` | quoted identifiers, `{placeholder}` filling, vector parameters |
//! | `catalog.rs` | inspecting the source table, checking it against the config |
//! | `install.rs` | `init`, `uninstall`, migrations, triggers |
//! | `index.rs` | `vecsync index`: the HNSW index, per partition on a partitioned table |
//! | `installed.rs` | what is installed, and whether it matches the config (read-only) |
//! | `privileges.rs` | the privileges each command needs, which ones the role lacks |
//! | `row_security.rs` | whether row-level security hides rows from the role |
//! | `hints.rs` | known mistakes with known fixes (HNSW limits, vectors of two sizes) |
//! | `doctor.rs` | `vecsync doctor`: every check above as findings, read-only |
//! | `queue.rs` | enqueue, peek, claim, complete, release, retry, usage, reconcile |
//! | `status.rs`, `search.rs` | `status`, `search` |

mod catalog;
mod connect;
pub mod doctor;
mod errors;
mod hints;
mod index;
mod install;
mod installed;
mod listen;
mod migration;
mod pool;
mod privileges;
mod queue;
mod row_security;
mod search;
mod statements;
mod status;
mod tls;

use std::time::{Duration, Instant};

use anyhow::Result;
use async_trait::async_trait;
use tokio::sync::OnceCell;

use super::*;
use crate::config::SourceConfig;
use crate::config_error;
use crate::template::Template;
use catalog::Shape;
use connect::ConnectSpec;
use pool::Pool;
pub use privileges::Command;
use statements::Names;

/// The kind of a PostgreSQL error, for [`super::error_kind`] (`None`: not PostgreSQL's).
pub(super) fn error_kind(e: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
    if let Some(e) = e.downcast_ref::<errors::PgError>() {
        return Some(e.kind);
    }
    e.downcast_ref::<tokio_postgres::Error>()
        .map(errors::PgError::statement_kind)
}

pub use migration::PgMigrator;

/// Dollar-quote tag of the trigger function bodies (`sql/install/triggers/`).
const FN_TAG: &str = "$vecsync_fn$";

pub struct PostgresStore {
    pool: Pool,
    listen: listen::Listen,
    names: Names,
    source: SourceConfig,
    options: StoreOptions,
    template: Template,
    /// The table's shape and the statements built from it, on first use.
    ready: OnceCell<Ready>,
    /// When this process last folded `row_counts` (see [`PostgresStore::fold_due`]).
    last_fold: std::sync::Mutex<Option<Instant>>,
    /// When this process last checked whether the queue missed changes (see
    /// [`PostgresStore::heal_due`]).
    last_heal: std::sync::Mutex<Option<Instant>>,
}

/// What the queue, status and search need once the table has been checked against the
/// config: its shape and every statement, filled in once.
struct Ready {
    shape: Shape,
    /// MD5 of the trigger DDL this config installs (`status` compares it with meta's).
    triggers_hash: String,
    queue: queue::Statements,
    status: status::Statements,
    search: search::Statements,
}

impl PostgresStore {
    /// Connects to `url` (checking the URL and the password at once). `schema` holds
    /// vecsync's objects; it must be vecsync's own.
    pub async fn connect(
        url: &str,
        schema: &str,
        source: &SourceConfig,
        options: StoreOptions,
    ) -> Result<PostgresStore> {
        let store = PostgresStore::new(
            ConnectSpec::parse("database_url", url)?,
            schema,
            source,
            options,
        )?;
        let client = store
            .pool
            .connect_with_backoff(Duration::from_secs(3))
            .await
            .map_err(|e| config_error!(setting = "database_url", "{e:#}"))?;
        store.pool.keep(client);
        Ok(store)
    }

    /// Checks the settings and builds the store, without connecting.
    fn new(
        spec: ConnectSpec,
        schema: &str,
        source: &SourceConfig,
        options: StoreOptions,
    ) -> Result<PostgresStore> {
        crate::config::validate_identifier("schema", schema)?;
        let lower = schema.to_ascii_lowercase();
        if lower == "public" || lower == "information_schema" || lower.starts_with("pg_") {
            return Err(config_error!(
                setting = "schema",
                "{schema:?} is not vecsync's own schema; `vecsync uninstall` drops the whole schema, so choose a dedicated one (e.g. \"vecsync\")"
            ));
        }
        if let Some((table_schema, _)) = source.table.split_once('.') {
            if table_schema == schema {
                return Err(config_error!(
                    setting = "schema",
                    "{schema:?} is the schema of source.table {:?}; vecsync needs a schema of its own",
                    source.table
                ));
            }
        }
        let template = Template::parse(&source.template)
            .map_err(|e| config_error!(setting = "source.template", "{e}"))?;
        if source.filter.as_deref().is_some_and(|f| f.contains(FN_TAG)) {
            return Err(config_error!(
                setting = "source.filter",
                "must not contain {FN_TAG}"
            ));
        }
        let direct = match &options.listen_url {
            Some(url) => Some(ConnectSpec::parse("listen_url", url)?),
            None => None,
        };
        Ok(PostgresStore {
            pool: Pool::new(spec, schema),
            listen: listen::Listen::new(direct),
            names: Names::new(schema, source, &template),
            source: source.clone(),
            options,
            template,
            ready: OnceCell::new(),
            last_fold: std::sync::Mutex::new(None),
            last_heal: std::sync::Mutex::new(None),
        })
    }

    /// The table's shape and the statements, built on first use, after checking the table
    /// against the config (a column renamed or dropped since `init` is reported here).
    async fn ready(&self) -> Result<&Ready> {
        self.ready
            .get_or_try_init(|| async {
                // The catalog only: `status` must not wait for a lock on the table.
                // Commands that run the filter check it first (`init`, `prepare`).
                let mut c = self.pool.get().await?;
                let table = self.inspect(&mut c).await?;
                let shape = self.check_catalog(&mut c, &table).await?;
                Ok(self.build(shape))
            })
            .await
    }

    /// Whether a worker of this process should fold `row_counts` now: at most every 10 s.
    /// The triggers add a row to it per application statement, and `status`, which also
    /// folds, may not run for days.
    fn fold_due(&self) -> bool {
        due(&self.last_fold, Duration::from_secs(10))
    }

    /// Whether a worker of this process should check now that no change escaped the
    /// queue (`status::heal`): at once, then at most every minute.
    fn heal_due(&self) -> bool {
        due(&self.last_heal, Duration::from_secs(60))
    }

    /// An audit that queues what needs work just ran (`enqueue_needed`): the next check
    /// for changes that escaped the queue can wait its minute.
    fn healed(&self) {
        *self.last_heal.lock().unwrap() = Some(Instant::now());
    }

    fn build(&self, shape: Shape) -> Ready {
        let vars = self
            .names
            .vars()
            .with("id_type", shape.id_type.clone())
            .with("pgvector", shape.pgvector.clone())
            .with("vector", format!("{}.vector", shape.pgvector));
        Ready {
            triggers_hash: crate::template::text_hash(&self.trigger_ddl()),
            queue: queue::Statements::new(&vars),
            status: status::Statements::new(&vars),
            search: search::Statements::new(&vars),
            shape,
        }
    }
}

/// Whether `every` has passed since `last` (never set: yes), and if so sets it to now.
fn due(last: &std::sync::Mutex<Option<Instant>>, every: Duration) -> bool {
    let mut last = last.lock().unwrap();
    if last.is_some_and(|t| t.elapsed() < every) {
        return false;
    }
    *last = Some(Instant::now());
    true
}

impl PostgresStore {
    /// A permission error of `command` becomes a setup error naming the missing privilege.
    async fn denied<T>(&self, command: Command, result: Result<T>) -> Result<T> {
        match result {
            Ok(v) => Ok(v),
            Err(e) => Err(privileges::explain_denied(self, command, e).await),
        }
    }

    /// Checks the table against the config (and the embedding column against `dimensions`,
    /// when given) and the privileges `command` needs. Privileges first: a missing SELECT
    /// would otherwise fail the filter's probe as if the filter were wrong.
    async fn check_source(&self, dimensions: Option<usize>, command: Command) -> Result<u32> {
        let mut c = self.pool.get().await?;
        let table = self.inspect(&mut c).await?;
        self.check_access(&mut c, command, table.oid, &table.columns)
            .await?;
        self.check_table(&mut c, &table).await?;
        if let Some(d) = dimensions {
            self.check_dimensions(&table, d)?;
        }
        Ok(table.oid)
    }

    /// [`Store::status`] or [`Store::audit`]. The table is checked against the config
    /// first (catalog lookups only): the cheap count reads no template column, so a column
    /// renamed under a running vecsync would otherwise go unnoticed.
    async fn status_or_audit(&self, audit: bool) -> Result<Status> {
        {
            let mut c = self.pool.get().await?;
            let table = self.inspect(&mut c).await?;
            self.check_catalog(&mut c, &table).await?;
            // Never a coverage of the rows row-level security let through.
            self.refuse_hidden_rows(&mut c, table.oid, false).await?;
        }
        let r = match status::status(self, audit).await {
            Err(e) => Err(self.why_status_failed(e).await),
            ok => ok,
        };
        self.denied(Command::Status, r).await
    }

    /// `e`, or a setup error that says what to do: when vecsync's schema is older than
    /// this vecsync (its statements then fail on what is missing, e.g. "column storage
    /// does not exist"), run `init`; when the filter no longer works (a column renamed),
    /// fix `source.filter`. Checked only after a failure: the filter's check waits for
    /// any lock on the table, which `status` itself does not.
    async fn why_status_failed(&self, e: anyhow::Error) -> anyhow::Error {
        let found = async {
            let mut c = self.pool.get().await?;
            let table = self.inspect(&mut c).await?;
            let version = installed::Installed::read(self, &mut c, table.oid)
                .await?
                .version;
            if let Some(v) = version.filter(|v| *v < install::SCHEMA_VERSION) {
                return anyhow::Ok(Some(config_error!(
                    setting = "schema",
                    "{}; nothing is lost meanwhile",
                    install::upgrade_needed(&self.names.schema, v)
                )));
            }
            Ok(self.check_filter(&mut c, &table).await.err())
        };
        found.await.ok().flatten().unwrap_or(e)
    }

    /// Records in meta whether the filter depends on the row alone, where the role that
    /// installed vecsync could not ask (no TEMP privilege): otherwise `status` would audit
    /// for good. Best effort (a role that may not ask or may not write meta leaves it).
    async fn record_filter_immutable(&self) {
        let result = async {
            let mut c = self.pool.get().await?;
            let vars = self.names.vars();
            let mark = c
                .query(&vars.fill(include_str!("sql/status/audit_mark.sql")), &[])
                .await?;
            if status::recorded_filter_immutable(&mark).flatten().is_some() {
                return Ok(());
            }
            let table = self.inspect(&mut c).await?;
            if let Some(immutable) = self.filter_immutable(&mut c, &table).await? {
                let sql = vars.fill(include_str!("sql/install/filter_immutable_unknown.sql"));
                c.execute(&sql, &[&immutable]).await?;
            }
            anyhow::Ok(())
        };
        if let Err(e) = result.await {
            tracing::debug!("could not record whether the filter depends on the row alone: {e:#}");
        }
    }

    /// Whether `init` would change nothing (then it is skipped, so that a role without
    /// CREATE privileges can run `backfill` and `work` on an installation made by another).
    async fn install_is_current(&self, oid: u32) -> Result<bool> {
        let mut c = self.pool.get().await?;
        let installed = installed::Installed::read(self, &mut c, oid).await?;
        Ok(installed.is_current(oid, &self.triggers_hash()))
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn init(&self) -> Result<()> {
        let oid = self.check_source(None, Command::Init).await?;
        if self.install_is_current(oid).await? {
            self.record_filter_immutable().await;
            return Ok(());
        }
        let r = install::install(self).await;
        self.denied(Command::Init, r).await
    }

    async fn uninstall(&self) -> Result<()> {
        {
            let mut c = self.pool.get().await?;
            // The table may be gone already: uninstall must still remove the schema.
            if let Ok((table, _)) = self.validate(&mut c).await {
                self.check_access(&mut c, Command::Uninstall, table.oid, &table.columns)
                    .await?;
            }
        }
        let r = install::uninstall(self).await;
        self.denied(Command::Uninstall, r).await
    }

    async fn prepare(&self, dimensions: usize) -> Result<()> {
        self.check_source(Some(dimensions), Command::Work).await?;
        self.init().await
    }

    async fn verify(&self, dimensions: usize) -> Result<()> {
        self.check_source(Some(dimensions), Command::Status).await?;
        Ok(())
    }

    async fn enqueue_needed(&self) -> Result<u64> {
        let r = queue::enqueue_needed(self).await;
        self.denied(Command::Work, r).await
    }

    async fn peek_needed(&self, after: Option<&RowId>, limit: usize) -> Result<Vec<ClaimedRow>> {
        let r = queue::peek_needed(self, after, limit).await;
        self.denied(Command::Status, r).await
    }

    async fn claim(&self, limit: usize, lease: Duration) -> Result<Vec<ClaimedRow>> {
        let r = queue::claim(self, limit, lease).await;
        self.denied(Command::Work, r).await
    }

    async fn complete(&self, done: &[Completion], failed: &[Failure]) -> Result<WriteOutcome> {
        let r = queue::complete(self, done, failed).await;
        self.denied(Command::Work, r).await
    }

    async fn release(&self, ids: &[RowId]) -> Result<()> {
        let r = queue::release(self, ids).await;
        self.denied(Command::Work, r).await
    }

    async fn retry_failed(&self) -> Result<u64> {
        let r = queue::retry_failed(self).await;
        self.denied(Command::Work, r).await
    }

    async fn record_usage(&self, model: &str, usage: &UsageTotals) -> Result<()> {
        let r = queue::record_usage(self, model, usage).await;
        self.denied(Command::Work, r).await
    }

    async fn status(&self) -> Result<Status> {
        self.status_or_audit(false).await
    }

    async fn audit(&self) -> Result<Status> {
        self.status_or_audit(true).await
    }

    async fn ping(&self) -> Result<()> {
        let mut c = self.pool.get().await?;
        c.query_one("SELECT 1", &[]).await?;
        Ok(())
    }

    async fn search(&self, query: &[f32], k: usize) -> Result<Vec<SearchHit>> {
        let r = search::search(self, query, k)
            .await
            .map_err(hints::search_error);
        self.denied(Command::Search, r).await
    }

    async fn wait_for_work(&self, timeout: Duration) -> Result<()> {
        listen::wait_for_work(self, timeout).await
    }

    async fn reconcile(&self) -> Result<u64> {
        let r = queue::reconcile(self).await;
        self.denied(Command::Work, r).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every statement fills (no placeholder without a value), with and without a filter.
    #[test]
    fn every_statement_is_filled() {
        for filter in [None, Some("is_active AND title <> '{x}'".to_string())] {
            let source = SourceConfig {
                filter,
                display_columns: vec!["title".into()],
                ..SourceConfig::default()
            };
            let options = StoreOptions {
                model_id: "m".into(),
                max_attempts: 3,
                listen_url: None,
            };
            let spec = ConnectSpec::parse("database_url", "postgres://u@127.0.0.1/db").unwrap();
            let store = PostgresStore::new(spec, "vecsync", &source, options).unwrap();
            let shape = Shape {
                id_type: "bigint".into(),
                pgvector: "\"extensions\"".into(),
            };
            // Filling panics on a placeholder without a value.
            let ready = store.build(shape);
            assert_eq!(ready.shape.id_type, "bigint");
            let ddl = store.trigger_ddl();
            assert!(ddl.contains("CREATE OR REPLACE FUNCTION \"vecsync\".on_update()"));
            assert!(!ddl.contains("{alias}"));
        }
    }
}
