//! Test fixtures shared by the integration tests: a real database holding a `jobs` table
//! of demo postings (NOT NULL columns, nullable embedding), and SQL access to it so
//! tests can change rows behind vecsync's back.
#![allow(dead_code)]

pub mod pgbouncer;
pub mod postgres;
pub mod supabase;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use vecsync::config::Config;
use vecsync::embed::fake::FakeEmbedder;
use vecsync::embed::Embedder;
use vecsync::pipeline::{self, Mode, RunOptions, Summary};
use vecsync::store::{self, Store};

/// Dimensions used by store tests (small: the store is under test, not the model).
pub const DIMS: usize = 16;

#[async_trait]
pub trait TestDb: Send + Sync {
    /// A config pointing at this database with the fake embedder.
    fn config(&self) -> Config;
    /// Runs SQL against the database (panics on error).
    async fn exec(&self, sql: &str);
    /// Runs a query returning one integer.
    async fn scalar(&self, sql: &str) -> i64;
    /// Runs a query returning one text value.
    async fn text(&self, sql: &str) -> String;
    /// The name of one of vecsync's own tables (`queue`, `state`) in this store.
    fn bookkeeping_table(&self, name: &str) -> String;
    /// What the passing of time does to vecsync's queue, without waiting for it: every
    /// lease and every retry backoff (both are `locked_until` times) runs out now.
    async fn expire_leases(&self);
    /// Makes the database refuse a vector for these jobs (as a CHECK constraint or an
    /// application trigger would) while writes to the other rows succeed.
    async fn refuse_vectors_for(&self, ids: &[i64]);
}

/// Runs a test body, failing it if it takes longer than 180 s.
pub async fn bounded<F: std::future::Future<Output = ()>>(f: F) {
    tokio::time::timeout(Duration::from_secs(180), f)
        .await
        .expect("test took longer than 180 s");
}

/// A directory with `vecsync.toml` describing `config`.
pub fn config_dir(config: &Config) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vecsync.toml"),
        toml::to_string(config).unwrap(),
    )
    .unwrap();
    dir
}

pub fn fake_embedder(config: &Config) -> Arc<FakeEmbedder> {
    Arc::new(FakeEmbedder::new(
        &config.embedder.model_id(),
        config.embedder.dimensions.unwrap_or(DIMS),
    ))
}

/// A config for the fake embedder over the demo `jobs` table.
pub fn test_config(database_url: String, dims: usize) -> Config {
    let mut config = Config {
        database_url,
        ..Config::default()
    };
    config.embedder.provider = "fake".into();
    config.embedder.model = "fake".into();
    config.embedder.dimensions = Some(dims);
    config.worker.max_attempts = 2;
    config.worker.claim_size = Some(25);
    config.validate().expect("valid test config");
    config
}

pub async fn open(db: &dyn TestDb) -> Arc<dyn Store> {
    store::open(&db.config()).await.expect("open store")
}

/// Runs a backfill to completion with the given embedder.
pub async fn backfill_with(
    store: Arc<dyn Store>,
    embedder: Arc<dyn Embedder>,
    config: &Config,
) -> anyhow::Result<Summary> {
    let options = RunOptions::new(config, Mode::Drain, embedder.suggested_concurrency());
    pipeline::run(store, embedder, options, CancellationToken::new(), |_| {}).await
}

pub async fn backfill(db: &dyn TestDb) -> Summary {
    let config = db.config();
    backfill_with(open(db).await, fake_embedder(&config), &config)
        .await
        .expect("backfill")
}

/// The local model files: `VECSYNC_MODEL_DIR` (set by the test script) or the repository's.
pub fn model_dir() -> PathBuf {
    std::env::var_os("VECSYNC_MODEL_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2")
        })
}

pub const LEASE: Duration = Duration::from_secs(60);

pub struct SqliteDb {
    pub path: PathBuf,
    config: Config,
    _dir: tempfile::TempDir,
}

/// A fresh SQLite file with `rows` demo postings.
pub async fn sqlite_db(rows: usize) -> SqliteDb {
    sqlite_db_dims(rows, DIMS)
}

pub fn sqlite_db_dims(rows: usize, dims: usize) -> SqliteDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("test.db");
    let conn = rusqlite::Connection::open(&path).expect("open sqlite");
    vecsync::demo::populate_sqlite(&conn, rows, vecsync::demo::DEFAULT_SEED).expect("populate");
    let config = test_config(format!("sqlite://{}", path.display()), dims);
    SqliteDb {
        path,
        config,
        _dir: dir,
    }
}

#[async_trait]
impl TestDb for SqliteDb {
    fn config(&self) -> Config {
        self.config.clone()
    }

    async fn exec(&self, sql: &str) {
        let conn = rusqlite::Connection::open(&self.path).unwrap();
        conn.busy_timeout(Duration::from_secs(30)).unwrap();
        conn.execute_batch(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn scalar(&self, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open(&self.path).unwrap();
        conn.busy_timeout(Duration::from_secs(30)).unwrap();
        conn.query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    async fn text(&self, sql: &str) -> String {
        let conn = rusqlite::Connection::open(&self.path).unwrap();
        conn.query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn bookkeeping_table(&self, name: &str) -> String {
        format!("vecsync_{name}")
    }

    async fn expire_leases(&self) {
        // SQLite's times are Unix seconds.
        self.exec("UPDATE vecsync_queue SET locked_until = 0 WHERE locked_until IS NOT NULL")
            .await;
    }

    async fn refuse_vectors_for(&self, ids: &[i64]) {
        let ids = ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        self.exec(&format!(
            "CREATE TRIGGER refuse_vectors BEFORE UPDATE OF embedding ON jobs
             WHEN NEW.id IN ({ids}) AND NEW.embedding IS NOT NULL
             BEGIN SELECT RAISE(ABORT, 'no vector for this job'); END"
        ))
        .await;
    }
}

/// The output of `child` (its stdout and stderr piped), killed with SIGKILL and a panic if
/// it runs longer than `limit`.
pub fn output_within(child: std::process::Child, limit: Duration) -> std::process::Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait for the child"),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
            panic!("the child process ran longer than {limit:?}: killed");
        }
    }
}
