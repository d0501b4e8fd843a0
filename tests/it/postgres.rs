//! PostgreSQL-specific behaviour of `PostgresStore`, against a real PostgreSQL + pgvector
//! (`scripts/start-postgres.sh`, or `VECSYNC_TEST_DATABASE_URL`), driven directly with the
//! fake embedder: triggers, concurrent claimers, leases (including a worker killed with
//! SIGKILL), the stale-write guard, deletes mid-flight, reconcile, setup errors.

use crate::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::postgres::{pg_db, store_with, EmptyDb, PgTestDb};
use common::{bounded, TestDb};
use vecsync::config::{Config, ConfigError};
use vecsync::embed::fake::FakeEmbedder;
use vecsync::store::postgres::PostgresStore;
use vecsync::store::{
    ClaimedRow, Completion, Failure, FailureKind, Store, StoreOptions, WriteOutcome,
};
use vecsync::template::{text_hash, Template};

const DIMS: usize = 8;
const LEASE: Duration = Duration::from_secs(60);

async fn store(db: &PgTestDb) -> PostgresStore {
    let s = store_with(&db.config()).await;
    s.prepare(db.dims).await.expect("prepare");
    s
}

fn embedder(db: &PgTestDb) -> FakeEmbedder {
    FakeEmbedder::new(&db.config().embedder.model_id(), db.dims)
}

fn completion(e: &FakeEmbedder, row: &ClaimedRow) -> Completion {
    Completion {
        id: row.id.clone(),
        text_hash: text_hash(&row.text),
        vector: Arc::new(e.vector(&row.text)),
    }
}

/// Claims and completes until the queue is empty; returns rows written.
async fn drain(s: &PostgresStore, e: &FakeEmbedder) -> u64 {
    let mut written = 0;
    loop {
        let rows = s.claim(200, LEASE).await.expect("claim");
        if rows.is_empty() {
            return written;
        }
        let done: Vec<Completion> = rows.iter().map(|r| completion(e, r)).collect();
        written += s.complete(&done, &[]).await.expect("complete").written;
    }
}

/// Every row passing `filter` has the fake vector of its current text (rendered in Rust).
async fn assert_vectors_current(db: &PgTestDb, filter: &str) {
    let config = db.config();
    let template = Template::parse(&config.source.template).unwrap();
    let e = embedder(db);
    let rows = db
        .client
        .query(
            &format!(
                "SELECT id, title, company, location, description, embedding FROM jobs WHERE {filter}"
            ),
            &[],
        )
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for r in rows {
        let id: i64 = r.get(0);
        let (title, company, location, description): (String, String, String, String) =
            (r.get(1), r.get(2), r.get(3), r.get(4));
        let text = template.render(|c| match c {
            "title" => Some(title.as_str()),
            "company" => Some(company.as_str()),
            "location" => Some(location.as_str()),
            "description" => Some(description.as_str()),
            _ => None,
        });
        let v: Option<pgvector::Vector> = r.get(5);
        let v = v.unwrap_or_else(|| panic!("row {id} has no vector"));
        let want = e.vector(&text);
        let close = v
            .as_slice()
            .iter()
            .zip(&want)
            .all(|(a, b)| (a - b).abs() < 1e-6);
        assert!(
            close,
            "row {id}: vector is not the vector of its current text"
        );
    }
}

async fn queued(db: &PgTestDb) -> i64 {
    db.scalar("SELECT count(*) FROM vecsync.queue").await
}

async fn is_queued(db: &PgTestDb, id: i64) -> bool {
    db.scalar(&format!(
        "SELECT count(*) FROM vecsync.queue WHERE row_id = {id}"
    ))
    .await
        == 1
}

fn config_error_text(e: &anyhow::Error) -> String {
    e.downcast_ref::<ConfigError>()
        .unwrap_or_else(|| panic!("expected a ConfigError, got: {e:#}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_then_triggers_keep_the_table_fresh() {
    bounded(async {
        let db = pg_db(300, DIMS).await;
        let s = store(&db).await;
        let e = embedder(&db);
        s.init().await.expect("init is idempotent");
        assert_eq!(s.enqueue_needed().await.unwrap(), 300);
        assert_eq!(s.enqueue_needed().await.unwrap(), 0, "already queued");
        assert_eq!(drain(&s, &e).await, 300);
        let st = s.status().await.unwrap();
        assert_eq!(
            (st.total, st.embedded, st.missing, st.stale),
            (300, 300, 0, 0)
        );
        assert_eq!(st.coverage, 1.0);
        assert_eq!(st.completions_per_minute.iter().sum::<u64>(), 300);
        assert_eq!(queued(&db).await, 0);

        // INSERT enqueues (one statement, several rows).
        db.exec(
            "INSERT INTO jobs (id, title, company, location, employment_type, description)
             VALUES (1001, 'Night nurse', 'Mercy', 'Boston', 'Full-time', 'ICU nights'),
                    (1002, 'Welder', 'Acme', 'Tulsa', 'Contract', 'MIG and TIG')",
        )
        .await;
        assert!(is_queued(&db, 1001).await && is_queued(&db, 1002).await);
        assert_eq!(drain(&s, &e).await, 2);

        // Upserts: the inserted row and the updated row are both queued.
        db.exec(
            "INSERT INTO jobs (id, title, company, location, employment_type, description)
             VALUES (1002, 'Welder II', 'Acme', 'Tulsa', 'Contract', 'MIG and TIG'),
                    (1003, 'Cook', 'Diner', 'Reno', 'Full-time', 'Grill')
             ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title",
        )
        .await;
        assert!(is_queued(&db, 1002).await && is_queued(&db, 1003).await);
        assert_eq!(drain(&s, &e).await, 2);
        db.exec("DELETE FROM jobs WHERE id = 1003").await;

        // A template column that really changed enqueues.
        db.exec("UPDATE jobs SET title = 'Senior welder' WHERE id = 1002")
            .await;
        assert!(is_queued(&db, 1002).await);
        assert_eq!(drain(&s, &e).await, 1);

        // Same value written again, an unrelated column: nothing.
        db.exec("UPDATE jobs SET title = 'Senior welder' WHERE id = 1002")
            .await;
        db.exec("UPDATE jobs SET employment_type = 'Part-time', salary = '$30/h' WHERE id = 1002")
            .await;
        assert_eq!(queued(&db).await, 0);
        // A vector the application clears: queued again, missing (not embedded).
        db.exec("UPDATE jobs SET embedding = NULL WHERE id = 1001")
            .await;
        assert!(is_queued(&db, 1001).await);
        let st = s.status().await.unwrap();
        assert_eq!((st.missing, st.drift.unqueued), (1, 0));
        let st = s.audit().await.unwrap();
        assert_eq!((st.missing, st.drift.done_without_vector), (1, 1));
        assert_eq!(drain(&s, &e).await, 1);
        // A vector cleared behind vecsync's back (triggers off) is the audit's to find.
        db.exec(
            "BEGIN; SET LOCAL session_replication_role = replica;
             UPDATE jobs SET embedding = NULL WHERE id = 1001; COMMIT",
        )
        .await;
        assert_eq!(queued(&db).await, 0);
        let st = s.audit().await.unwrap();
        assert_eq!((st.drift.done_without_vector, st.drift.unqueued), (1, 1));

        // DELETE removes queue and state rows.
        db.exec("UPDATE jobs SET description = 'changed' WHERE id = 5")
            .await;
        assert!(is_queued(&db, 5).await);
        db.exec("DELETE FROM jobs WHERE id IN (5, 6)").await;
        assert_eq!(
            db.scalar("SELECT count(*) FROM vecsync.queue WHERE row_id IN (5, 6)")
                .await,
            0
        );
        assert_eq!(
            db.scalar("SELECT count(*) FROM vecsync.state WHERE row_id IN (5, 6)")
                .await,
            0
        );

        // Reconcile finds the vector that vanished behind vecsync's back.
        assert_eq!(s.reconcile().await.unwrap(), 1);
        assert_eq!(drain(&s, &e).await, 1);
        let st = s.status().await.unwrap();
        assert_eq!(st.total, 300);
        assert_eq!(st.embedded, 300);
        assert_eq!(st.drift.done_without_vector + st.drift.unqueued, 0);
        assert_vectors_current(&db, "true").await;

        // An id change forgets the old id and queues the new one.
        db.exec("UPDATE jobs SET id = 5000 WHERE id = 7").await;
        assert!(is_queued(&db, 5000).await);
        assert_eq!(
            db.scalar("SELECT count(*) FROM vecsync.state WHERE row_id = 7")
                .await,
            0
        );
        // TRUNCATE forgets everything.
        db.exec("TRUNCATE jobs").await;
        assert_eq!(queued(&db).await, 0);
        assert_eq!(db.scalar("SELECT count(*) FROM vecsync.state").await, 0);
        let st = s.status().await.unwrap();
        assert_eq!((st.total, st.coverage), (0, 1.0));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_decides_what_is_queued() {
    bounded(async {
        let db = pg_db(200, DIMS).await;
        let mut config = db.config();
        config.source.filter = Some("is_active AND title <> ''".into());
        let s = store_with(&config).await;
        s.prepare(DIMS).await.unwrap();
        let e = embedder(&db);
        let active = db.scalar("SELECT count(*) FROM jobs WHERE is_active").await;
        assert!(active < 200, "the demo data has inactive postings");
        assert_eq!(s.enqueue_needed().await.unwrap() as i64, active);
        assert_eq!(drain(&s, &e).await as i64, active);
        assert_eq!(s.status().await.unwrap().total as i64, active);
        assert_eq!(
            db.scalar("SELECT count(*) FROM jobs WHERE NOT is_active AND embedding IS NOT NULL")
                .await,
            0
        );

        let inactive = db.scalar("SELECT min(id) FROM jobs WHERE NOT is_active").await;
        let some_active = db.scalar("SELECT min(id) FROM jobs WHERE is_active").await;
        // An inactive row is not queued, even when its text changes.
        db.exec(&format!("UPDATE jobs SET title = 'x' || title WHERE id = {inactive}")).await;
        db.exec(
            "INSERT INTO jobs (id, title, company, location, employment_type, description, is_active)
             VALUES (9001, 'Baker', 'Crumbs', 'Lyon', 'Full-time', 'Bread', false)"
        )
        .await;
        assert_eq!(queued(&db).await, 0);
        // Becoming active queues it; becoming inactive while queued leaves the queue.
        db.exec(&format!("UPDATE jobs SET is_active = true WHERE id = {inactive}")).await;
        assert!(is_queued(&db, inactive).await);
        db.exec(&format!("UPDATE jobs SET description = 'new' WHERE id = {some_active}")).await;
        assert!(is_queued(&db, some_active).await);
        db.exec(&format!("UPDATE jobs SET is_active = false WHERE id = {some_active}")).await;
        assert!(!is_queued(&db, some_active).await);
        assert_eq!(drain(&s, &e).await, 1);
        assert_vectors_current(&db, "is_active").await;

        // A claimed row that stopped passing the filter is dropped at claim time.
        let id = db.scalar("SELECT max(id) FROM jobs WHERE is_active").await;
        db.exec(&format!("UPDATE jobs SET title = title || '!' WHERE id = {id}")).await;
        db.exec("ALTER TABLE jobs DISABLE TRIGGER USER").await;
        db.exec(&format!("UPDATE jobs SET is_active = false WHERE id = {id}")).await;
        db.exec("ALTER TABLE jobs ENABLE TRIGGER USER").await;
        assert!(is_queued(&db, id).await);
        assert!(s.claim(10, LEASE).await.unwrap().is_empty());
        assert!(!is_queued(&db, id).await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claimers_embed_every_row_exactly_once() {
    bounded(async {
        let db = pg_db(3000, DIMS).await;
        let s = store(&db).await;
        assert_eq!(s.enqueue_needed().await.unwrap(), 3000);
        let claims: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            // Separate stores = separate pools, like separate worker processes.
            let config = db.config();
            let claims = claims.clone();
            let e = embedder(&db);
            tasks.push(tokio::spawn(async move {
                let s = store_with(&config).await;
                let mut written = 0;
                loop {
                    let rows = s.claim(37, LEASE).await.expect("claim");
                    if rows.is_empty() {
                        return written;
                    }
                    {
                        let mut m = claims.lock().unwrap();
                        for r in &rows {
                            *m.entry(r.id.clone()).or_default() += 1;
                        }
                    }
                    tokio::task::yield_now().await;
                    let done: Vec<Completion> = rows.iter().map(|r| completion(&e, r)).collect();
                    let out = s.complete(&done, &[]).await.expect("complete");
                    assert_eq!(out.skipped, 0);
                    written += out.written;
                }
            }));
        }
        let mut written = 0;
        for t in tasks {
            written += t.await.unwrap();
        }
        assert_eq!(written, 3000);
        {
            let claims = claims.lock().unwrap();
            assert_eq!(claims.len(), 3000);
            assert!(claims.values().all(|&n| n == 1), "a row was claimed twice");
        }
        assert_eq!(db.scalar("SELECT count(*) FROM vecsync.state").await, 3000);
        assert_eq!(queued(&db).await, 0);
        assert_vectors_current(&db, "true").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_makes_rows_claimable_again() {
    bounded(async {
        let db = pg_db(20, DIMS).await;
        let s = store(&db).await;
        s.enqueue_needed().await.unwrap();
        let first = s.claim(20, LEASE).await.unwrap();
        assert_eq!(first.len(), 20);
        assert!(s.claim(20, LEASE).await.unwrap().is_empty(), "still leased");
        assert_eq!(s.status().await.unwrap().queue.leased, 20);
        db.expire_leases().await;
        let second = s.claim(20, LEASE).await.unwrap();
        assert_eq!(second.len(), 20);
        assert_eq!(
            db.scalar("SELECT min(attempts) FROM vecsync.queue").await,
            2,
            "each claim counts an attempt"
        );
        // The late first worker still writes correct vectors (same text): harmless.
        let e = embedder(&db);
        let late: Vec<Completion> = first.iter().map(|r| completion(&e, r)).collect();
        assert_eq!(s.complete(&late, &[]).await.unwrap().written, 20);
        // release() gives rows back without counting the attempt.
        db.exec("UPDATE jobs SET title = title || ' II'").await;
        let rows = s.claim(5, LEASE).await.unwrap();
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        s.release(&ids).await.unwrap();
        assert_eq!(
            db.scalar("SELECT max(attempts) FROM vecsync.queue").await,
            0
        );
        assert_eq!(s.claim(50, LEASE).await.unwrap().len(), 20);
    })
    .await;
}

/// The child half of `a_killed_worker_loses_its_lease`: claims rows with a short lease,
/// says so, then hangs until killed. Ignored so a normal run skips it; the parent runs
/// it by its full path with `--ignored --exact`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "spawned by a_killed_worker_loses_its_lease"]
async fn child_worker_that_gets_killed() {
    let url = std::env::var("VECSYNC_TEST_CHILD_URL")
        .expect("VECSYNC_TEST_CHILD_URL: run by a_killed_worker_loses_its_lease");
    let mut config = Config {
        database_url: url,
        ..Config::default()
    };
    config.embedder.provider = "fake".into();
    config.embedder.dimensions = Some(DIMS);
    let s = store_with(&config).await;
    let rows = s.claim(10, Duration::from_secs(2)).await.unwrap();
    println!("CLAIMED {}", rows.len());
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_loses_its_lease() {
    bounded(async {
        let db = pg_db(10, DIMS).await;
        let s = store(&db).await;
        s.enqueue_needed().await.unwrap();
        let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                // Its path inside the one test binary (tests/it).
                "postgres::child_worker_that_gets_killed",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("VECSYNC_TEST_CHILD_URL", &db.db.url)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn child");
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("child exited early");
            if line.contains("CLAIMED") {
                assert!(line.ends_with("CLAIMED 10"), "{line}");
                break;
            }
        }
        // SIGKILL: no release, no cleanup.
        let pid = child.id().expect("pid") as i32;
        let status = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        child.wait().await.unwrap();
        let killed_at = Instant::now();
        assert!(
            s.claim(10, LEASE).await.unwrap().is_empty(),
            "leased by the dead worker"
        );
        // Nothing was left locked: the lease simply runs out.
        let rows = loop {
            let rows = s.claim(10, LEASE).await.unwrap();
            if !rows.is_empty() || killed_at.elapsed() > Duration::from_secs(10) {
                break rows;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(rows.len(), 10);
        let e = embedder(&db);
        let done: Vec<Completion> = rows.iter().map(|r| completion(&e, r)).collect();
        assert_eq!(s.complete(&done, &[]).await.unwrap().written, 10);
        assert_eq!(s.status().await.unwrap().embedded, 10);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_changed_mid_flight_is_not_written_and_stays_queued() {
    bounded(async {
        let db = pg_db(10, DIMS).await;
        let s = store(&db).await;
        let e = embedder(&db);
        s.enqueue_needed().await.unwrap();
        let rows = s.claim(10, LEASE).await.unwrap();
        assert_eq!(rows.len(), 10);
        // While "embedding": the text of row 3 changes, row 4 is deleted.
        db.exec("UPDATE jobs SET title = 'Changed title' WHERE id = 3")
            .await;
        db.exec("DELETE FROM jobs WHERE id = 4").await;
        let done: Vec<Completion> = rows.iter().map(|r| completion(&e, r)).collect();
        let out = s.complete(&done, &[]).await.unwrap();
        assert_eq!(
            out,
            WriteOutcome {
                written: 8,
                skipped: 2,
                failed: 0,
                retrying: 0
            }
        );
        assert_eq!(
            db.scalar("SELECT count(*) FROM jobs WHERE id = 3 AND embedding IS NULL")
                .await,
            1
        );
        assert!(is_queued(&db, 3).await);
        assert_eq!(
            db.scalar(
                "SELECT count(*) FROM vecsync.queue WHERE row_id = 3 AND locked_until IS NULL"
            )
            .await,
            1
        );
        // No orphans for the deleted row.
        assert_eq!(
            db.scalar("SELECT count(*) FROM vecsync.state WHERE row_id = 4")
                .await,
            0
        );
        assert!(!is_queued(&db, 4).await);
        // The next round embeds the new text.
        let rows = s.claim(10, LEASE).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].text.starts_with("Changed title at "));
        let out = s.complete(&[completion(&e, &rows[0])], &[]).await.unwrap();
        assert_eq!(out.written, 1);
        assert_vectors_current(&db, "true").await;
        assert_eq!(s.status().await.unwrap().embedded, 9);

        // Triggers disabled (e.g. a bulk load with session_replication_role = replica):
        // the guard still refuses the stale vector and the row is requeued.
        s.enqueue_needed().await.unwrap();
        db.exec("UPDATE jobs SET embedding = NULL WHERE id = 5")
            .await;
        s.reconcile().await.unwrap();
        let rows = s.claim(10, LEASE).await.unwrap();
        assert_eq!(rows.len(), 1);
        db.exec("ALTER TABLE jobs DISABLE TRIGGER USER").await;
        db.exec("UPDATE jobs SET company = 'Other' WHERE id = 5")
            .await;
        db.exec("ALTER TABLE jobs ENABLE TRIGGER USER").await;
        let out = s.complete(&[completion(&e, &rows[0])], &[]).await.unwrap();
        assert_eq!((out.written, out.skipped), (0, 1));
        assert_eq!(drain(&s, &e).await, 1);
        assert_vectors_current(&db, "true").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vecsync_never_inserts_into_the_source_table() {
    bounded(async {
        let db = pg_db(100, DIMS).await;
        // Any INSERT (or DELETE) into jobs from now on fails loudly.
        db.exec(
            "CREATE FUNCTION forbid() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'vecsync must not % jobs', TG_OP; END $$;
             CREATE TRIGGER forbid BEFORE INSERT OR DELETE ON jobs
               FOR EACH ROW EXECUTE FUNCTION forbid();",
        )
        .await;
        let s = store(&db).await;
        let e = embedder(&db);
        s.enqueue_needed().await.unwrap();
        assert_eq!(drain(&s, &e).await, 100);
        s.reconcile().await.unwrap();
        s.status().await.unwrap();
        s.uninstall().await.unwrap();
        assert_eq!(db.scalar("SELECT count(*) FROM jobs").await, 100);
        assert_eq!(
            db.scalar("SELECT count(*) FROM jobs WHERE embedding IS NOT NULL")
                .await,
            100
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_retry_then_fail_until_retry_failed() {
    bounded(async {
        let db = pg_db(3, DIMS).await;
        let mut config = db.config();
        config.worker.max_attempts = 2;
        let s = store_with(&config).await;
        s.prepare(DIMS).await.unwrap();
        s.enqueue_needed().await.unwrap();
        let fail = |id: &str, permanent: bool| Failure {
            id: id.to_string(),
            reason: format!("boom {id}"),
            kind: if permanent {
                FailureKind::Rejected
            } else {
                FailureKind::Transient
            },
        };
        let rows = s.claim(10, LEASE).await.unwrap();
        assert_eq!(rows.len(), 3);
        let out = s
            .complete(&[], &[fail("1", false), fail("2", true), fail("3", false)])
            .await
            .unwrap();
        assert_eq!((out.failed, out.retrying), (1, 2));
        // Backing off: not claimable at once (attempt 1 → 1 s).
        assert!(s.claim(10, LEASE).await.unwrap().is_empty());
        db.exec("UPDATE vecsync.queue SET locked_until = now() WHERE status = 'pending'")
            .await;
        let rows = s.claim(10, LEASE).await.unwrap();
        assert_eq!(rows.len(), 2);
        let out = s
            .complete(&[], &[fail("1", false), fail("3", false)])
            .await
            .unwrap();
        assert_eq!(
            (out.failed, out.retrying),
            (2, 0),
            "max_attempts = 2 reached"
        );
        let st = s.status().await.unwrap();
        assert_eq!((st.failed, st.queue.failed, st.queue.pending), (3, 3, 0));
        assert_eq!(st.failures.len(), 3);
        assert!(st
            .failures
            .iter()
            .any(|f| f.reason == "boom 2" && f.attempts == 1));
        assert!(st
            .failures
            .iter()
            .any(|f| f.reason == "boom 1" && f.attempts == 2));
        assert_eq!(st.drift.unqueued, 0, "failed rows are still in the queue");
        assert!(s.claim(10, LEASE).await.unwrap().is_empty());
        assert_eq!(s.retry_failed().await.unwrap(), 3);
        let rows = s.claim(10, LEASE).await.unwrap();
        assert_eq!(rows.len(), 3);
        let e = embedder(&db);
        let done: Vec<Completion> = rows.iter().map(|r| completion(&e, r)).collect();
        assert_eq!(s.complete(&done, &[]).await.unwrap().written, 3);
        let st = s.status().await.unwrap();
        assert_eq!((st.embedded, st.failed), (3, 0));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_mistakes_are_one_line_config_errors() {
    bounded(async {
        let db = pg_db(5, DIMS).await;
        let base = db.config();
        let password = url::Url::parse(&base.database_url)
            .unwrap()
            .password()
            .unwrap()
            .to_string();

        // Dimensions.
        let s = store_with(&base).await;
        let e = s.prepare(384).await.unwrap_err();
        let msg = config_error_text(&e);
        assert!(
            msg.contains("is vector(8) but the model makes 384 dimensions"),
            "{msg}"
        );
        assert!(msg.starts_with("source.embedding_column"), "{msg}");
        // Nothing was installed; asking for status says what to do.
        let msg = config_error_text(&s.status().await.unwrap_err());
        assert!(msg.contains("run `vecsync init`"), "{msg}");

        // Missing table / columns / bad filter.
        let check = |f: fn(&mut Config), want: &'static str| {
            let mut c = base.clone();
            f(&mut c);
            let password = password.clone();
            async move {
                let s = store_with(&c).await;
                let e = s.prepare(DIMS).await.unwrap_err();
                let msg = config_error_text(&e);
                assert!(msg.contains(want), "{msg:?} should contain {want:?}");
                assert!(!msg.contains('\n'), "one line: {msg:?}");
                assert!(!msg.contains(&password), "password leaked: {msg}");
            }
        };
        check(|c| c.source.table = "nope".into(), "source.table: table \"nope\" does not exist").await;
        check(|c| c.source.table = "other.jobs".into(), "source.table: table \"other.jobs\"").await;
        check(
            |c| c.source.template = "{title} {salry}".into(),
            "source.template: column \"salry\" does not exist in table \"jobs\"",
        )
        .await;
        check(
            |c| c.source.template = "{Title}".into(),
            "did you mean \"title\"",
        )
        .await;
        check(
            |c| c.source.embedding_column = "vec".into(),
            "source.embedding_column: column \"vec\"",
        )
        .await;
        check(
            |c| c.source.embedding_column = "title".into(),
            "is text, not a pgvector vector column",
        )
        .await;
        check(
            |c| c.source.id_column = "company".into(),
            "source.id_column: column \"company\" of table \"jobs\" is not unique",
        )
        .await;
        check(
            |c| c.source.display_columns = vec!["title".into(), "pay".into()],
            "source.display_columns: column \"pay\"",
        )
        .await;
        check(
            |c| c.source.filter = Some("is_actve".into()),
            "source.filter: \"is_actve\" does not work on table \"jobs\": column \"is_actve\" does not exist",
        )
        .await;
        check(
            |c| c.source.filter = Some("title".into()),
            "source.filter: \"title\" does not work",
        )
        .await;

        // pgvector missing.
        let plain = EmptyDb::create_without_pgvector().await;
        let mut c = base.clone();
        c.database_url = plain.url.clone();
        let s = store_with(&c).await;
        let msg = config_error_text(&s.prepare(DIMS).await.unwrap_err());
        assert_eq!(
            msg,
            "pgvector is not installed in this database: CREATE EXTENSION vector"
        );

        // Wrong password / unreachable server: named setting, password hidden.
        let mut c = base.clone();
        c.database_url = c.database_url.replace(&password, "wrong-secret");
        let e = PostgresStore::connect(&c.database_url, &c.schema, &c.source, StoreOptions::from_config(&c))
            .await
            .err()
            .expect("wrong password must fail");
        let msg = config_error_text(&e);
        assert!(msg.starts_with("database_url: "), "{msg}");
        assert!(msg.contains("password authentication failed"), "{msg}");
        assert!(!msg.contains("wrong-secret") && !msg.contains(&password), "{msg}");
        let mut c = base.clone();
        let mut u = url::Url::parse(&c.database_url).unwrap();
        u.set_port(Some(1)).unwrap();
        c.database_url = u.to_string();
        let e = PostgresStore::connect(&c.database_url, &c.schema, &c.source, StoreOptions::from_config(&c))
            .await
            .err()
            .expect("closed port must fail");
        let msg = config_error_text(&e);
        assert!(msg.starts_with("database_url: ") && !msg.contains(&password), "{msg}");

        // Identifiers with quotes or semicolons never reach SQL.
        for bad in ["jobs\"; DROP TABLE jobs; --", "jobs;", "jo bs"] {
            let mut c = base.clone();
            c.source.table = bad.into();
            assert!(c.validate().unwrap_err().to_string().starts_with("source.table"));
        }
        for bad in ["vec\"sync", "x;y", "public", "pg_temp"] {
            let e = PostgresStore::connect(&base.database_url, bad, &base.source, StoreOptions::from_config(&base))
                .await
                .err()
                .expect("bad schema must fail");
            assert!(config_error_text(&e).starts_with("schema:"));
        }
        let mut c = base.clone();
        c.source.filter = Some("true; DROP TABLE jobs".into());
        assert!(c.validate().unwrap_err().to_string().starts_with("source.filter"));
        assert_eq!(db.scalar("SELECT count(*) FROM jobs").await, 5);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_belongs_to_one_table_and_uninstall_removes_only_vecsync() {
    bounded(async {
        let db = pg_db(20, DIMS).await;
        let s = store(&db).await;
        let e = embedder(&db);
        s.enqueue_needed().await.unwrap();
        drain(&s, &e).await;

        // Another table with the same schema setting is refused.
        // (Qualified: the test role is called "vecsync", so "$user" on the search_path now
        // finds vecsync's schema first.)
        db.exec(&common::postgres::jobs_table_sql(DIMS).replace("TABLE jobs", "TABLE public.jobs2"))
            .await;
        let mut other = db.config();
        other.source.table = "jobs2".into();
        let s2 = store_with(&other).await;
        let msg = config_error_text(&s2.prepare(DIMS).await.unwrap_err());
        assert!(msg.contains("is installed for table \"jobs\""), "{msg}");
        // …but works in a schema of its own, side by side.
        other.schema = "vecsync_jobs2".into();
        let s2 = store_with(&other).await;
        s2.prepare(DIMS).await.unwrap();
        db.exec("INSERT INTO public.jobs2 (id, title, company, location, employment_type, description) VALUES (1, 'a', 'b', 'c', 'd', 'e')").await;
        assert_eq!(db.scalar("SELECT count(*) FROM vecsync_jobs2.queue").await, 1);

        // A schema holding someone else's objects is refused.
        let mut foreign = db.config();
        foreign.schema = "app".into();
        db.exec("CREATE SCHEMA app; CREATE TABLE app.settings (k text)").await;
        let s3 = store_with(&foreign).await;
        let msg = config_error_text(&s3.prepare(DIMS).await.unwrap_err());
        assert!(msg.contains("relation settings"), "{msg}");
        let msg = config_error_text(&s3.uninstall().await.unwrap_err());
        assert!(msg.contains("not dropping it"), "{msg}");
        assert_eq!(db.scalar("SELECT count(*) FROM app.settings").await, 0);

        // Search before uninstall.
        let text: String = db
            .client
            .query_one(
                "SELECT title || ' at ' || company || E'\\n' || location || E'\\n\\n' || description FROM jobs WHERE id = 7",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        let hits = s.search(&e.vector(&text), 3).await.unwrap();
        assert_eq!(hits.len(), 3);
        assert_eq!(hits[0].id, "7");
        assert!((hits[0].score - 1.0).abs() < 1e-4, "{}", hits[0].score);
        assert!(hits[0].score >= hits[1].score && hits[1].score >= hits[2].score);
        assert!(hits[0].fields["title"].is_string());
        assert_eq!(hits[0].fields.len(), 3);

        s.uninstall().await.unwrap();
        s.uninstall().await.unwrap(); // nothing left: fine
        assert_eq!(
            db.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'vecsync'").await,
            0
        );
        assert_eq!(
            db.scalar("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'jobs'::regclass AND NOT tgisinternal")
                .await,
            0
        );
        // The other install and the user's data are untouched.
        assert_eq!(
            db.scalar("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.jobs2'::regclass AND NOT tgisinternal")
                .await,
            4
        );
        assert_eq!(
            db.scalar("SELECT count(*) FROM jobs WHERE embedding IS NOT NULL").await,
            20
        );
        db.exec("INSERT INTO jobs (id, title, company, location, employment_type, description) VALUES (999, 'a', 'b', 'c', 'd', 'e')").await;
        // Re-installing starts from what the table holds: only the new row needs work.
        s.prepare(DIMS).await.unwrap();
        assert_eq!(s.enqueue_needed().await.unwrap(), 21, "no state survived uninstall");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_wake_a_waiting_worker() {
    bounded(async {
        let db = pg_db(5, DIMS).await;
        let s = store(&db).await;
        // The first call sets up LISTEN and returns at once (work may have been missed).
        let t = Instant::now();
        s.wait_for_work(Duration::from_secs(5)).await.unwrap();
        assert!(t.elapsed() < Duration::from_secs(2));
        // Nothing happens: the timeout.
        let t = Instant::now();
        s.wait_for_work(Duration::from_millis(500)).await.unwrap();
        assert!(t.elapsed() >= Duration::from_millis(450));
        // An insert wakes it up well before the timeout.
        let client = common::postgres::connect(&db.db.url).await;
        let writer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            client
                .batch_execute("INSERT INTO jobs (id, title, company, location, employment_type, description) VALUES (77, 'a', 'b', 'c', 'd', 'e')")
                .await
                .unwrap();
        });
        let t = Instant::now();
        s.wait_for_work(Duration::from_secs(20)).await.unwrap();
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        writer.await.unwrap();
        assert_eq!(s.claim(10, LEASE).await.unwrap().len(), 1);

        // One notification wakes every waiting worker, not just one of them.
        let s = Arc::new(s);
        let t = Instant::now();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.wait_for_work(Duration::from_secs(20)).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        db.exec("UPDATE jobs SET title = 'again' WHERE id = 77").await;
        for w in waiters {
            w.await.unwrap().unwrap();
        }
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quoted_identifiers_and_text_ids_work() {
    bounded(async {
        let db = EmptyDb::create().await;
        let client = common::postgres::connect(&db.url).await;
        client
            .batch_execute(
                "CREATE SCHEMA \"My Data\";
                 CREATE TABLE \"My Data\".\"Docs\" (\"Key\" text PRIMARY KEY, \"Body\" text, \"Vec\" vector(4));
                 INSERT INTO \"My Data\".\"Docs\" VALUES ('a''1', 'it''s', NULL), ('b', NULL, NULL), ('c', 'x', NULL);",
            )
            .await
            .unwrap();
        // Config identifiers cannot contain spaces; the schema is reached via a valid name.
        client
            .batch_execute("ALTER SCHEMA \"My Data\" RENAME TO \"MyData\"")
            .await
            .unwrap();
        let mut config = Config {
            database_url: db.url.clone(),
            schema: "VecSync".into(),
            ..Config::default()
        };
        config.source.table = "MyData.Docs".into();
        config.source.id_column = "Key".into();
        config.source.embedding_column = "Vec".into();
        config.source.template = "doc: {Body}".into();
        config.source.display_columns = vec!["Body".into()];
        config.embedder.provider = "fake".into();
        config.embedder.dimensions = Some(4);
        config.validate().unwrap();
        let s = store_with(&config).await;
        s.prepare(4).await.unwrap();
        assert_eq!(s.enqueue_needed().await.unwrap(), 3);
        let e = FakeEmbedder::new(&config.embedder.model_id(), 4);
        let mut rows = s.claim(10, LEASE).await.unwrap();
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(rows[0], ClaimedRow { id: "a'1".into(), text: "doc: it's".into() });
        assert_eq!(rows[1].text, "doc: ", "NULL renders as empty text");
        let done: Vec<Completion> = rows.iter().map(|r| completion(&e, r)).collect();
        assert_eq!(s.complete(&done, &[]).await.unwrap().written, 3);
        let st = s.status().await.unwrap();
        assert_eq!((st.total, st.embedded), (3, 3));
        let hits = s.search(&e.vector("doc: it's"), 1).await.unwrap();
        assert_eq!(hits[0].id, "a'1");
        assert_eq!(hits[0].fields["Body"], "it's");
        s.create_hnsw_index().await.unwrap();
        s.create_hnsw_index().await.unwrap();
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = 'MyData' AND indexdef LIKE '%hnsw%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1);
        s.uninstall().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_connections_are_replaced() {
    bounded(async {
        let db = pg_db(10, DIMS).await;
        let s = store(&db).await;
        s.enqueue_needed().await.unwrap();
        s.wait_for_work(Duration::from_millis(10)).await.unwrap(); // sets up LISTEN
        // What a server restart does to vecsync's sessions (without disturbing other tests
        // sharing this server): terminate them.
        let killed = db
            .scalar(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE datname = current_database() AND application_name = 'vecsync'",
            )
            .await;
        assert!(killed >= 2, "pool + LISTEN connections, got {killed}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(s.status().await.unwrap().total, 10);
        assert_eq!(s.claim(10, LEASE).await.unwrap().len(), 10);
        // The LISTEN connection reports its loss once, then comes back.
        let first = s.wait_for_work(Duration::from_secs(2)).await;
        if first.is_err() {
            s.wait_for_work(Duration::from_secs(2)).await.unwrap();
        }
        let t = Instant::now();
        let client = common::postgres::connect(&db.db.url).await;
        client
            .batch_execute("INSERT INTO jobs (id, title, company, location, employment_type, description) VALUES (77, 'a', 'b', 'c', 'd', 'e')")
            .await
            .unwrap();
        s.wait_for_work(Duration::from_secs(20)).await.unwrap();
        assert!(t.elapsed() < Duration::from_secs(5));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_is_honoured() {
    bounded(async {
        let db = pg_db(1, DIMS).await;
        let base = db.config();
        let with = |query: &str| {
            let mut c = base.clone();
            c.database_url = format!("{}?{query}", c.database_url);
            c
        };
        // The test server has no TLS: `prefer` falls back to plain TCP…
        let c = with("sslmode=prefer&application_name=vecsync");
        let s = store_with(&c).await;
        s.prepare(DIMS).await.unwrap();
        // …`require` refuses it, naming the setting, without the password.
        let c = with("sslmode=require");
        let e = PostgresStore::connect(
            &c.database_url,
            &c.schema,
            &c.source,
            StoreOptions::from_config(&c),
        )
        .await
        .err()
        .expect("require without TLS must fail");
        let msg = config_error_text(&e);
        assert!(msg.starts_with("database_url: "), "{msg}");
        assert!(msg.contains("TLS"), "{msg}");
        let password = url::Url::parse(&base.database_url)
            .unwrap()
            .password()
            .unwrap()
            .to_string();
        assert!(!msg.contains(&password), "{msg}");
        let c = with("sslmode=sometimes");
        let e = PostgresStore::connect(
            &c.database_url,
            &c.schema,
            &c.source,
            StoreOptions::from_config(&c),
        )
        .await
        .err()
        .unwrap();
        assert!(config_error_text(&e).contains("sslmode=sometimes"));
    })
    .await;
}

/// The fake embedder that, on its first call, inserts one row into `jobs` (the trigger
/// queues it while the run goes on).
struct InsertingEmbedder {
    inner: FakeEmbedder,
    database_url: String,
    inserted: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl vecsync::embed::Embedder for InsertingEmbedder {
    fn model_id(&self) -> &str {
        vecsync::embed::Embedder::model_id(&self.inner)
    }
    fn dimensions(&self) -> usize {
        vecsync::embed::Embedder::dimensions(&self.inner)
    }
    fn count_tokens(&self, text: &str) -> usize {
        vecsync::embed::Embedder::count_tokens(&self.inner, text)
    }
    async fn embed(
        &self,
        texts: &[String],
    ) -> Result<Vec<vecsync::embed::InputResult>, vecsync::embed::EmbedError> {
        if !self
            .inserted
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            common::postgres::connect(&self.database_url)
                .await
                .batch_execute(
                    "INSERT INTO jobs (id, title, company, location, employment_type, description)
                     VALUES (1000, 'night nurse', 'b', 'c', 'd', 'e')",
                )
                .await
                .unwrap();
        }
        vecsync::embed::Embedder::embed(&self.inner, texts).await
    }
}

/// A row queued while a backfill runs is embedded by that run and reported: the claims
/// add up to the rows processed, one more than were queued at the start (so a progress
/// line reads 41/41, not 41/40).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_queued_during_a_run_are_reported_as_claimed() {
    bounded(async {
        let db = pg_db(40, DIMS).await;
        let mut config = db.config();
        config.worker.concurrency = 1;
        let embedder = Arc::new(InsertingEmbedder {
            inner: embedder(&db),
            database_url: config.database_url.clone(),
            inserted: false.into(),
        });
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let mut options =
            vecsync::pipeline::RunOptions::new(&config, vecsync::pipeline::Mode::Drain, 1);
        options.concurrency = 1;
        let summary = vecsync::pipeline::run(
            Arc::new(store_with(&config).await),
            embedder,
            options,
            tokio_util::sync::CancellationToken::new(),
            move |e| sink.lock().unwrap().push(e),
        )
        .await
        .unwrap();
        assert_eq!(summary.written, 41, "the inserted row is embedded too");
        let events = events.lock().unwrap();
        let mut queued = None;
        let (mut claimed, mut processed) = (0, 0);
        for e in events.iter() {
            match e {
                vecsync::pipeline::Event::Started { queued: q, .. } => queued = Some(*q),
                vecsync::pipeline::Event::Claimed { rows } => claimed += rows,
                vecsync::pipeline::Event::Batch(b) => {
                    processed += b.outcome.written + b.outcome.failed + b.outcome.retrying;
                    assert!(processed <= claimed, "a batch is reported after its claim");
                }
                vecsync::pipeline::Event::StoreRetry { .. } => {}
            }
        }
        assert_eq!(queued, Some(40));
        assert_eq!((claimed, processed), (41, 41));
    })
    .await;
}

/// Every key type docs/postgres.md promises: `enqueue_needed` walks the table by id with
/// keyset pagination (no `max(id)`: uuid has none), across chunk boundaries (10,000 ids),
/// and claim, complete, status, the triggers and search all work by that key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_promised_key_type_works() {
    bounded(async {
        // (key column DDL, how to fill it for row g of generate_series, rows)
        let cases = [
            ("k bigint PRIMARY KEY", "g", 300),
            (
                "k bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                "DEFAULT",
                300,
            ),
            (
                "k uuid PRIMARY KEY DEFAULT gen_random_uuid()",
                "DEFAULT",
                10_050,
            ),
            // Text ids sort as text ('10' < '9'); mixed case and quotes included.
            (
                "k text PRIMARY KEY",
                "CASE g % 3 WHEN 0 THEN 'Row ''' || g WHEN 1 THEN 'row-' || g ELSE g::text END",
                10_050,
            ),
            // A unique column that is not the primary key, with one NULL (never queued).
            (
                "pk bigint PRIMARY KEY, k varchar(40) UNIQUE",
                "CASE WHEN g = 7 THEN NULL ELSE 'k' || g END",
                300,
            ),
        ];
        for (key_ddl, key_value, rows) in cases {
            let db = EmptyDb::create().await;
            let client = common::postgres::connect(&db.url).await;
            let pk_value = if key_ddl.starts_with("pk ") {
                "g, "
            } else {
                ""
            };
            let pk_col = if key_ddl.starts_with("pk ") {
                "pk, "
            } else {
                ""
            };
            let insert_key = if key_value == "DEFAULT" { "" } else { "k, " };
            let key_expr = if key_value == "DEFAULT" {
                String::new()
            } else {
                format!("{key_value}, ")
            };
            client
                .batch_execute(&format!(
                    "CREATE TABLE docs ({key_ddl}, body text NOT NULL, embedding vector(8));
                     INSERT INTO docs ({pk_col}{insert_key}body)
                     SELECT {pk_value}{key_expr}'body ' || g FROM generate_series(1, {rows}) g;"
                ))
                .await
                .unwrap_or_else(|e| panic!("{key_ddl}: {e:?}"));
            let mut config = Config {
                database_url: db.url.clone(),
                ..Config::default()
            };
            config.source.table = "docs".into();
            config.source.id_column = "k".into();
            config.source.template = "{body}".into();
            config.source.display_columns = vec!["body".into()];
            config.embedder.provider = "fake".into();
            config.embedder.dimensions = Some(8);
            config.validate().unwrap();
            let s = store_with(&config).await;
            s.prepare(8)
                .await
                .unwrap_or_else(|e| panic!("{key_ddl}: {e:#}"));
            let keyed: i64 = client
                .query_one("SELECT count(k) FROM docs", &[])
                .await
                .unwrap()
                .get(0);
            assert_eq!(s.enqueue_needed().await.unwrap() as i64, keyed, "{key_ddl}");
            assert_eq!(
                s.enqueue_needed().await.unwrap(),
                0,
                "{key_ddl}: already queued"
            );
            let e = FakeEmbedder::new(&config.embedder.model_id(), 8);
            assert_eq!(drain(&s, &e).await as i64, keyed, "{key_ddl}");
            let st = s.status().await.unwrap();
            assert_eq!(
                (st.embedded as i64, st.queue.pending),
                (keyed, 0),
                "{key_ddl}"
            );

            // The triggers queue by this key; the new text is embedded; search finds it.
            client
                .batch_execute("UPDATE docs SET body = 'changed body' WHERE body = 'body 5'")
                .await
                .unwrap();
            assert_eq!(drain(&s, &e).await, 1, "{key_ddl}");
            let hits = s.search(&e.vector("changed body"), 1).await.unwrap();
            assert_eq!(hits[0].fields["body"], "changed body", "{key_ddl}");
            let key: String = client
                .query_one("SELECT k::text FROM docs WHERE body = 'changed body'", &[])
                .await
                .unwrap()
                .get(0);
            assert_eq!(hits[0].id, key, "{key_ddl}");
        }
    })
    .await;
}

/// An install from before (an `UPDATE OF <every column>` trigger, which made PostgreSQL
/// refuse the user's DROP COLUMN and ALTER COLUMN TYPE) is replaced by the next `init`;
/// status points at it until then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_replaces_triggers_of_an_older_install() {
    bounded(async {
        let db = pg_db(20, DIMS).await;
        let s = store(&db).await;
        db.exec(
            "DROP TRIGGER vecsync_update ON jobs;
             CREATE TRIGGER vecsync_update AFTER UPDATE OF id, title, company, location,
                 employment_type, salary, description, is_active
               ON jobs FOR EACH ROW EXECUTE FUNCTION vecsync.on_update();
             UPDATE vecsync.meta SET triggers_hash = 'an older version'",
        )
        .await;
        let refused = db.client.batch_execute("ALTER TABLE jobs DROP COLUMN salary").await;
        let e = refused.expect_err("the old trigger blocks DROP COLUMN");
        assert!(format!("{e:?}").contains("depends on column"), "{e:?}");
        let st = s.status().await.unwrap();
        assert!(
            st.drift.triggers.iter().any(|t| t.contains("another config or vecsync version")),
            "{:?}",
            st.drift.triggers
        );
        s.init().await.unwrap();
        assert!(s.status().await.unwrap().drift.triggers.is_empty());
        let def = db
            .text("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'vecsync_update'")
            .await;
        assert!(!def.contains("UPDATE OF"), "{def}");
        db.exec("ALTER TABLE jobs DROP COLUMN salary; ALTER TABLE jobs ALTER COLUMN location TYPE varchar(200)")
            .await;
        db.exec("UPDATE jobs SET location = 'Moved' WHERE id = 3").await;
        assert!(is_queued(&db, 3).await);
    })
    .await;
}

/// A `docs` config on `db` for the partitioned-table tests.
fn docs_config(url: &str) -> Config {
    let mut config = Config {
        database_url: url.into(),
        ..Config::default()
    };
    config.source.table = "docs".into();
    config.source.template = "{body}".into();
    config.source.display_columns = vec!["body".into()];
    config.source.filter = Some("NOT archived".into());
    config.embedder.provider = "fake".into();
    config.embedder.dimensions = Some(DIMS);
    config.validate().unwrap();
    config
}

/// A table partitioned by its id (two levels: a range partition split again by hash):
/// inserts into the parent and into a partition directly, an UPDATE that moves a row to
/// another partition, deletes and the filter are all followed, and `index` builds the HNSW
/// index on every partition (PostgreSQL cannot build it concurrently on the parent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_tables_are_followed_and_indexed() {
    bounded(async {
        let db = EmptyDb::create().await;
        let client = common::postgres::connect(&db.url).await;
        client
            .batch_execute(
                "CREATE TABLE docs (id bigint PRIMARY KEY, body text NOT NULL,
                                    archived boolean NOT NULL DEFAULT false, embedding vector(8))
                   PARTITION BY RANGE (id);
                 CREATE TABLE docs_low PARTITION OF docs FOR VALUES FROM (0) TO (1000);
                 CREATE TABLE docs_high PARTITION OF docs FOR VALUES FROM (1000) TO (1000000)
                   PARTITION BY HASH (id);
                 CREATE TABLE docs_high_0 PARTITION OF docs_high FOR VALUES WITH (MODULUS 2, REMAINDER 0);
                 CREATE TABLE docs_high_1 PARTITION OF docs_high FOR VALUES WITH (MODULUS 2, REMAINDER 1);
                 INSERT INTO docs (id, body) SELECT g, 'body ' || g FROM generate_series(1, 20) g;
                 INSERT INTO docs (id, body) SELECT g, 'body ' || g FROM generate_series(1001, 1020) g;",
            )
            .await
            .unwrap();
        let config = docs_config(&db.url);
        let s = store_with(&config).await;
        s.prepare(DIMS).await.expect("prepare a partitioned table");
        let e = FakeEmbedder::new(&config.embedder.model_id(), DIMS);
        s.enqueue_needed().await.unwrap();
        assert_eq!(drain(&s, &e).await, 40);
        let queued = || async {
            client
                .query_one("SELECT count(*) FROM vecsync.queue", &[])
                .await
                .unwrap()
                .get::<_, i64>(0)
        };
        assert_eq!(queued().await, 0);

        // Writes by the application, each in its own statement.
        client
            .batch_execute(
                "INSERT INTO docs (id, body) VALUES (21, 'new in the parent');
                 INSERT INTO docs_high_0 (id, body)
                   SELECT g, 'new in a partition' FROM generate_series(1100, 1200) g
                   WHERE satisfies_hash_partition('docs_high'::regclass, 2, 0, g::bigint) LIMIT 1;
                 UPDATE docs SET id = 5000 WHERE id = 3;            -- moves docs_low -> docs_high
                 UPDATE docs SET body = 'moved and edited', id = 7000 WHERE id = 1005;
                 UPDATE docs SET body = 'edited in place' WHERE id = 4;
                 UPDATE docs SET archived = true WHERE id = 6;      -- leaves the filter
                 DELETE FROM docs WHERE id = 7;",
            )
            .await
            .unwrap();
        let queue: Vec<String> = client
            .query(
                "SELECT row_id::text FROM vecsync.queue ORDER BY row_id::bigint",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(queue.len(), 5, "{queue:?}");
        for id in ["21", "4", "5000", "7000"] {
            assert!(queue.contains(&id.to_string()), "{id} not queued: {queue:?}");
        }
        assert_eq!(drain(&s, &e).await, 5);
        let st = s.status().await.unwrap();
        assert_eq!((st.total, st.embedded, st.missing), (40, 40, 0), "{st:?}");
        assert_vectors_current_docs(&client, &config).await;

        // `index`: an HNSW index on every leaf partition, attached to the parent's.
        s.create_hnsw_index().await.expect("index a partitioned table");
        s.create_hnsw_index().await.expect("index again: nothing to do");
        let valid: Vec<(String, bool)> = client
            .query(
                "SELECT c.relname::text, i.indisvalid FROM pg_index i
                 JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
                 WHERE am.amname = 'hnsw' ORDER BY 1",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert_eq!(valid.len(), 5, "parent, docs_high and 3 leaves: {valid:?}");
        assert!(valid.iter().all(|(_, ok)| *ok), "{valid:?}");
        let hits = s.search(&e.vector("edited in place"), 1).await.unwrap();
        assert_eq!(hits[0].id, "4");
    })
    .await;
}

/// Every row of `docs` that passes the filter has the fake vector of its current body.
async fn assert_vectors_current_docs(client: &tokio_postgres::Client, config: &Config) {
    let e = FakeEmbedder::new(&config.embedder.model_id(), DIMS);
    for row in client
        .query(
            "SELECT id, body, embedding::text FROM docs WHERE NOT archived",
            &[],
        )
        .await
        .unwrap()
    {
        let (id, body, vector): (i64, String, Option<String>) =
            (row.get(0), row.get(1), row.get(2));
        let want = format!(
            "[{}]",
            e.vector(&body)
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        let got = vector.unwrap_or_else(|| panic!("row {id} has no vector"));
        let parse = |s: &str| -> Vec<f32> {
            s.trim_matches(['[', ']'])
                .split(',')
                .map(|x| x.parse().unwrap())
                .collect()
        };
        let (g, w) = (parse(&got), parse(&want));
        assert!(
            g.iter().zip(&w).all(|(a, b)| (a - b).abs() < 1e-6),
            "row {id}: vector of another text"
        );
    }
}

/// Partitioned by another column, the id cannot be unique on its own (PostgreSQL requires
/// the partition key in every unique constraint): `init` refuses, saying so and what works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_partitioned_by_another_column_is_refused_accurately() {
    bounded(async {
        let db = EmptyDb::create().await;
        let client = common::postgres::connect(&db.url).await;
        client
            .batch_execute(
                "CREATE TABLE docs (id bigint GENERATED ALWAYS AS IDENTITY, created_at date NOT NULL,
                                    body text NOT NULL, archived boolean NOT NULL DEFAULT false,
                                    embedding vector(8), PRIMARY KEY (id, created_at))
                   PARTITION BY RANGE (created_at);
                 CREATE TABLE docs_2026 PARTITION OF docs
                   FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');",
            )
            .await
            .unwrap();
        let s = store_with(&docs_config(&db.url)).await;
        let err = s.prepare(DIMS).await.unwrap_err();
        let msg = err
            .downcast_ref::<ConfigError>()
            .unwrap_or_else(|| panic!("not a setup error: {err:#}"))
            .to_string();
        assert!(
            msg.starts_with("source.id_column: table \"docs\" is partitioned by RANGE (created_at)"),
            "{msg}"
        );
        assert!(msg.contains("PARTITION BY RANGE (id)"), "{msg}");
        assert!(!msg.contains("needs a PRIMARY KEY"), "{msg}");
        let installed: bool = client
            .query_one("SELECT to_regnamespace('vecsync') IS NOT NULL", &[])
            .await
            .unwrap()
            .get(0);
        assert!(!installed, "nothing installed");
    })
    .await;
}

/// vecsync's own queue writes (here: a transaction holding an uncommitted queue row, as
/// `enqueue_needed` or `complete` do) and the triggers' can deadlock. PostgreSQL then aborts
/// one side; when it picks the application's statement, the trigger's exception handler
/// must absorb it: the application's UPDATE and its transaction go through, and the row the
/// trigger could not queue shows up as needing work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_with_vecsync_never_fails_an_application_write() {
    bounded(async {
        let db = pg_db(10, DIMS).await;
        let s = store(&db).await;
        let e = embedder(&db);
        s.enqueue_needed().await.unwrap();
        drain(&s, &e).await;
        let vecsync_side = common::postgres::connect(&db.db.url).await;
        let app = common::postgres::connect(&db.db.url).await;
        let app_pid: i32 = app
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        // vecsync's side holds an uncommitted queue row for job 2. Its deadlock check waits
        // 60 s, so the application's (after the default 1 s) is the one that finds the
        // deadlock, however loaded the machine (which check fires first is otherwise a
        // race of timers).
        vecsync_side
            .batch_execute(
                "SET deadlock_timeout = '60s'; BEGIN; INSERT INTO vecsync.queue (row_id) VALUES (2)",
            )
            .await
            .unwrap();
        // The application's transaction queues job 1, then waits on job 2's queue row.
        let writer = tokio::spawn(async move {
            app.batch_execute(
                "BEGIN;
                 UPDATE jobs SET title = title || ' (one)' WHERE id = 1;
                 UPDATE jobs SET title = title || ' (two)' WHERE id = 2;
                 COMMIT;",
            )
            .await
        });
        let waiting = Instant::now();
        loop {
            let event: Option<String> = db
                .client
                .query_one(
                    "SELECT wait_event_type::text FROM pg_stat_activity WHERE pid = $1",
                    &[&app_pid],
                )
                .await
                .unwrap()
                .get(0);
            if event.as_deref() == Some("Lock") {
                break;
            }
            assert!(
                waiting.elapsed() < Duration::from_secs(20),
                "app never waited"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // vecsync's side now wants job 1's queue row: a deadlock, which the application's
        // check finds, aborting its own statement.
        let vecsync_write = tokio::spawn(async move {
            let r = vecsync_side
                .batch_execute(
                    "INSERT INTO vecsync.queue (row_id) VALUES (1) ON CONFLICT DO NOTHING; COMMIT",
                )
                .await;
            (vecsync_side, r)
        });
        writer
            .await
            .unwrap()
            .expect("the application's transaction must not fail");
        let (_conn, r) = vecsync_write.await.unwrap();
        r.unwrap();
        assert_eq!(
            db.scalar(
                "SELECT count(*) FROM jobs WHERE title LIKE '% (one)' OR title LIKE '% (two)'"
            )
            .await,
            2
        );
        // Job 2's change was not queued by the trigger, but it is not lost: status says it
        // needs work, and enqueue_needed queues it.
        let st = s.status().await.unwrap();
        assert_eq!(st.embedded, 8, "{st:?}");
        s.enqueue_needed().await.unwrap();
        drain(&s, &e).await;
        assert_eq!(s.status().await.unwrap().embedded, 10);
    })
    .await;
}

/// `status` counts cheaply only while it can trust the queue: after an audit (the scan
/// `work` starts with, `reconcile`, `status --audit`) that ran with the triggers current.
/// Changes made while the triggers were off are found, and stay found until reconciled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_trusts_the_queue_only_after_an_audit_with_the_triggers_on() {
    bounded(async {
        let db = pg_db(20, DIMS).await;
        let s = store(&db).await;
        let e = embedder(&db);
        let st = s.status().await.unwrap();
        assert!(st.audited, "never audited: status audits");
        assert_eq!((st.missing, st.drift.unqueued), (20, 20));
        s.enqueue_needed().await.unwrap();
        assert_eq!(drain(&s, &e).await, 20);
        let st = s.status().await.unwrap();
        assert!(!st.audited && st.last_audit.is_some(), "{st:?}");
        assert_eq!(st.embedded, 20);

        // Triggers off: status says so and audits; a change made meanwhile is found…
        db.exec("ALTER TABLE jobs DISABLE TRIGGER USER").await;
        let st = s.status().await.unwrap();
        assert!(st.audited && !st.drift.triggers.is_empty(), "{st:?}");
        db.exec("UPDATE jobs SET title = 'Behind the back' WHERE id = 3")
            .await;
        db.exec("ALTER TABLE jobs ENABLE TRIGGER USER").await;
        // …also once the triggers are back, until reconcile queues it.
        let st = s.status().await.unwrap();
        assert!(st.audited && st.drift.triggers.is_empty(), "{st:?}");
        assert_eq!((st.embedded, st.stale, st.drift.unqueued), (19, 1, 1));
        assert_eq!(s.reconcile().await.unwrap(), 1);
        let st = s.status().await.unwrap();
        assert!(!st.audited, "{st:?}");
        assert_eq!((st.embedded, st.stale, st.drift.unqueued), (19, 1, 0));
        assert_eq!(drain(&s, &e).await, 1);
        assert_eq!(s.status().await.unwrap().embedded, 20);
    })
    .await;
}

/// The id column retyped after `init` (bigint to text): the application's writes go on;
/// status and init say what drifted, once, naming source.id_column; uninstall + init
/// rebuild vecsync's bookkeeping for the new type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retyped_id_column_is_reported_not_retried() {
    bounded(async {
        let db = pg_db(10, DIMS).await;
        let s = store(&db).await;
        let e = embedder(&db);
        s.enqueue_needed().await.unwrap();
        drain(&s, &e).await;
        db.exec("ALTER TABLE jobs ALTER COLUMN id TYPE text").await;
        db.exec("UPDATE jobs SET title = title || ' (edited)' WHERE id = '3'")
            .await;
        let fresh = store_with(&db.config()).await;
        for err in [
            fresh.status().await.unwrap_err(),
            fresh.init().await.unwrap_err(),
        ] {
            let msg = err
                .downcast_ref::<ConfigError>()
                .unwrap_or_else(|| panic!("not a setup error: {err:#}"))
                .to_string();
            assert!(
                msg.starts_with("source.id_column: column \"id\" of table \"jobs\" is text now")
                    && msg.contains("made for bigint ids"),
                "{msg}"
            );
        }
        fresh.uninstall().await.unwrap();
        let rebuilt = store(&db).await;
        rebuilt.enqueue_needed().await.unwrap();
        drain(&rebuilt, &e).await;
        let st = rebuilt.status().await.unwrap();
        assert_eq!((st.total, st.embedded), (10, 10), "{st:?}");
    })
    .await;
}

/// PostgreSQL 18's virtual generated columns cannot be read from a trigger's transition
/// table: a template or filter that reads one is refused before anything is installed,
/// naming the setting and the column, instead of triggers that fail on every write and
/// leave every change unqueued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_virtual_generated_column_in_the_template_or_filter_is_refused() {
    bounded(async {
        let db = pg_db(5, DIMS).await;
        db.exec("ALTER TABLE jobs ADD COLUMN loud text GENERATED ALWAYS AS (upper(title)) VIRTUAL")
            .await;
        for (template, filter, setting) in [
            ("{loud}\n{description}", None, "source.template"),
            ("{title}", Some("loud <> ''"), "source.filter"),
        ] {
            let mut config = db.config();
            config.source.template = template.into();
            config.source.filter = filter.map(Into::into);
            let err = store_with(&config).await.prepare(DIMS).await.unwrap_err();
            let msg = err
                .downcast_ref::<ConfigError>()
                .unwrap_or_else(|| panic!("not a setup error: {err:#}"))
                .to_string();
            assert!(
                msg.starts_with(&format!(
                    "{setting}: column \"loud\" of table \"jobs\" is a virtual generated column"
                )),
                "{msg}"
            );
            assert_eq!(
                db.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'vecsync'")
                    .await,
                0
            );
        }
        // A STORED one works.
        db.exec(
            "ALTER TABLE jobs DROP COLUMN loud;
             ALTER TABLE jobs ADD COLUMN loud text GENERATED ALWAYS AS (upper(title)) STORED",
        )
        .await;
        let mut config = db.config();
        config.source.template = "{loud}\n{description}".into();
        store_with(&config).await.prepare(DIMS).await.unwrap();
    })
    .await;
}
