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
