//! Store errors tell the truth at once: a setup problem in the database (a missing
//! privilege, a missing object) fails in seconds with the database's own message and exit
//! status 2, instead of being retried as "database unavailable" for minutes. Outages are
//! still retried (`reliability::database_restart_during_backfill`).

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::postgres::{connect, pg_db, server_url};
use common::{TestDb, DIMS};
use vecsync::store::{error_kind, ErrorKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_update_privilege_fails_at_once_with_exit_2() {
    let db = pg_db(20, DIMS).await;
    // vecsync is installed by the table's owner…
    let store = vecsync::store::open(&db.config()).await.unwrap();
    store.prepare(DIMS).await.unwrap();
    // …and run by a role that may do everything but write the embedding column.
    let role = format!("app_{}", db.db.name);
    db.exec(&format!(
        "CREATE ROLE \"{role}\" LOGIN PASSWORD 'app-pw';
         GRANT CONNECT, CREATE ON DATABASE \"{db}\" TO \"{role}\";
         GRANT USAGE, CREATE ON SCHEMA vecsync TO \"{role}\";
         GRANT ALL ON ALL TABLES IN SCHEMA vecsync TO \"{role}\";
         GRANT ALL ON ALL SEQUENCES IN SCHEMA vecsync TO \"{role}\";
         GRANT SELECT, UPDATE (title) ON jobs TO \"{role}\";",
        db = db.db.name
    ))
    .await;
    let mut url = url::Url::parse(&db.db.url).unwrap();
    url.set_username(&role).unwrap();
    url.set_password(Some("app-pw")).unwrap();
    let mut config = db.config();
    config.database_url = url.to_string();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vecsync.toml"),
        toml::to_string(&config).unwrap(),
    )
    .unwrap();

    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_vecsync"))
        .arg("backfill")
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("backfill without UPDATE (embedding) took {elapsed:?}: {stderr}");
    // A bound, not a speed claim: retried as an outage, it took ~3 minutes.
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}: {stderr}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // Progress lines, then one line for the error.
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    let line = errors[0];
    assert!(
        !line.contains("retrying") && !line.contains("unavailable"),
        "{line}"
    );
    for needle in ["permission denied for table jobs", "42501", "grant"] {
        assert!(line.contains(needle), "{line:?} should say {needle:?}");
    }
    // The claimed rows were given back, without an attempt counted.
    assert_eq!(
        db.scalar("SELECT count(*) FROM vecsync.queue WHERE locked_until > now() OR attempts > 0")
            .await,
        0
    );

    // The store says what kind of error it is (what the pipeline and the exit status use).
    let restricted = vecsync::store::open(&config).await.unwrap();
    let rows = restricted.claim(5, common::LEASE).await.unwrap();
    let done: Vec<_> = rows
        .iter()
        .map(|r| vecsync::store::Completion {
            id: r.id.clone(),
            text_hash: vecsync::template::text_hash(&r.text),
            vector: std::sync::Arc::new(vec![0.5; DIMS]),
        })
        .collect();
    let e = restricted.complete(&done, &[]).await.unwrap_err();
    assert_eq!(error_kind(&e), ErrorKind::Setup, "{e:#}");
    drop(restricted);

    // Clean up the role (roles are cluster-wide).
    db.exec(&format!("DROP OWNED BY \"{role}\"")).await;
    connect(&server_url())
        .await
        .batch_execute(&format!("DROP ROLE \"{role}\""))
        .await
        .unwrap();
}
