//! What the benchmarks share: sizes from the environment and the test PostgreSQL server.
//! Included by each bench with `#[path = "support/common.rs"] mod support;`.
#![allow(dead_code)]

use tokio_postgres::{Client, NoTls};

/// `name` from the environment as a count (`1_000_000` allowed), else `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// `VECSYNC_TEST_DATABASE_URL`, else the private server of `scripts/start-postgres.sh`
/// (started if needed).
pub fn server_url() -> String {
    if let Ok(url) = std::env::var("VECSYNC_TEST_DATABASE_URL") {
        if !url.is_empty() {
            return url;
        }
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/start-postgres.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run scripts/start-postgres.sh");
    assert!(out.status.success(), "start-postgres.sh failed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A client on `url`, its connection driven by a task of its own.
pub async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// `url` with database `db`.
pub fn with_db(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    u.set_path(&format!("/{db}"));
    u.to_string()
}

/// A bench's own database on the test server.
pub struct BenchDb {
    pub url: String,
    name: String,
    server: String,
}

impl BenchDb {
    /// Drops the database (call it once the bench's clients are gone).
    pub async fn drop_now(self) {
        let _ = connect(&self.server)
            .await
            .batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .await;
    }
}

/// A fresh database `vecsync_bench_<label>_<pid>` on the test server, after dropping those
/// of earlier runs whose process is gone.
pub async fn bench_database(label: &str) -> BenchDb {
    let server = server_url();
    let admin = connect(&server).await;
    for row in admin
        .query(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'vecsync\\_bench\\_%'",
            &[],
        )
        .await
        .unwrap()
    {
        let name: String = row.get(0);
        let pid = name.rsplit('_').next().unwrap_or_default();
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
    let db = format!("vecsync_bench_{label}_{}", std::process::id());
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    BenchDb {
        url: with_db(&server, &db),
        name: db,
        server,
    }
}

/// vecsync's own write path: `loops` claim → embed → complete loops at once, each claiming
/// `claim` rows (leased for 10 min), until the queue is empty; returns the rows written.
pub async fn claim_loops(
    store: std::sync::Arc<vecsync::store::postgres::PostgresStore>,
    embedder: std::sync::Arc<vecsync::embed::fake::FakeEmbedder>,
    loops: usize,
    claim: usize,
) -> u64 {
    use std::sync::Arc;
    use vecsync::store::{Completion, Store};
    let mut tasks = Vec::new();
    for _ in 0..loops {
        let (store, embedder) = (store.clone(), embedder.clone());
        tasks.push(tokio::spawn(async move {
            let mut written = 0;
            loop {
                let rows = store
                    .claim(claim, std::time::Duration::from_secs(600))
                    .await
                    .unwrap();
                if rows.is_empty() {
                    return written;
                }
                let e = embedder.clone();
                let done = tokio::task::spawn_blocking(move || {
                    rows.iter()
                        .map(|r| Completion {
                            id: r.id.clone(),
                            text_hash: vecsync::template::text_hash(&r.text),
                            vector: Arc::new(e.vector(&r.text)),
                        })
                        .collect::<Vec<_>>()
                })
                .await
                .unwrap();
                written += store.complete(&done, &[]).await.unwrap().written;
            }
        }));
    }
    let mut written = 0;
    for t in tasks {
        written += t.await.unwrap();
    }
    written
}
