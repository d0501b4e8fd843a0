//! Store errors tell the truth at once (issue 11 item 1): a setup problem in the database (a
//! missing privilege) fails in seconds with exit status 2, a statement the database rejects
//! for another reason (a type error) in seconds with exit status 1 and the database's own
//! message, instead of being retried as "database unavailable" for minutes. Outages are
//! still retried (`reliability::`).

use crate::common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::postgres::{connect, pg_db, server_url, PgTestDb};
use common::{TestDb, DIMS};
use vecsync::config::Config;
use vecsync::store::{error_kind, ErrorKind};

/// Runs `vecsync backfill` with `config`; returns its output, its one `error` line and how
/// long it took.
fn backfill(config: &Config) -> (Output, String, Duration) {
    let dir = common::config_dir(config);
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_vecsync"))
        .arg("backfill")
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("DIRECT_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    assert!(
        !stderr.contains("retrying") && !stderr.contains("unavailable"),
        "not retried as an outage: {stderr}"
    );
    // A bound, not a speed claim: retried as an outage, it took ~3 minutes.
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}: {stderr}");
    let line = errors[0].to_string();
    (out, line, elapsed)
}

async fn installed(rows: usize) -> PgTestDb {
    let db = pg_db(rows, DIMS).await;
    let store = vecsync::store::open(&db.config()).await.unwrap();
    store.prepare(DIMS).await.unwrap();
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_update_privilege_fails_at_once_with_exit_2() {
    let db = installed(20).await;
    // Run by a role that may do everything but write the embedding column.
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

    let (out, line, elapsed) = backfill(&config);
    println!("backfill without UPDATE (embedding) took {elapsed:?}: {line}");
    assert_eq!(out.status.code(), Some(2), "{line}");
    for needle in ["UPDATE", "embedding", "jobs"] {
        assert!(line.contains(needle), "{line:?} should say {needle:?}");
    }
    assert!(!line.contains("app-pw"), "{line}");
    // The claimed rows were given back, without an attempt counted.
    assert_eq!(
        db.scalar("SELECT count(*) FROM vecsync.queue WHERE locked_until > now() OR attempts > 0")
            .await,
        0
    );

    // The store says what kind of error it is (what the pipeline and the exit status use).
    let restricted = vecsync::store::open(&config).await.unwrap();
    restricted.enqueue_needed().await.unwrap();
    let rows = restricted.claim(5, common::LEASE).await.unwrap();
    let done: Vec<_> = rows
        .iter()
        .map(|r| vecsync::store::Completion {
            id: r.id.clone(),
            text_hash: vecsync::template::text_hash(&r.text),
            vector: std::sync::Arc::new(vec![0.5; DIMS]),
        })
        .collect();
    assert!(!done.is_empty());
    let e = restricted.complete(&done, &[]).await.unwrap_err();
    assert_eq!(error_kind(&e), ErrorKind::Setup, "{e:#}");
    drop(restricted);

    db.exec(&format!("DROP OWNED BY \"{role}\"")).await;
    connect(&server_url())
        .await
        .batch_execute(&format!("DROP ROLE \"{role}\""))
        .await
        .unwrap();
}

/// A statement the database refuses for good (here: the application's own trigger rejects
/// the write) is not an outage: exit 1 at once, with the database's own message and its
/// SQLSTATE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_the_database_refuses_fails_at_once_with_exit_1() {
    let db = installed(10).await;
    db.exec(
        "CREATE FUNCTION public.refuse_embedding() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'embeddings are frozen for maintenance'; END $$",
    )
    .await;
    db.exec(
        "CREATE TRIGGER refuse_embedding BEFORE UPDATE OF embedding ON jobs
           FOR EACH ROW EXECUTE FUNCTION public.refuse_embedding()",
    )
    .await;
    let (out, line, elapsed) = backfill(&db.config());
    println!("backfill into a frozen table took {elapsed:?}: {line}");
    assert_eq!(out.status.code(), Some(1), "{line}");
    for needle in ["embeddings are frozen for maintenance", "P0001"] {
        assert!(line.contains(needle), "{line:?} should say {needle:?}");
    }
    assert_eq!(
        db.scalar("SELECT count(*) FROM vecsync.queue WHERE locked_until > now() OR attempts > 0")
            .await,
        0,
        "rows given back without an attempt"
    );
}
