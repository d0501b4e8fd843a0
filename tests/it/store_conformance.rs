//! The store conformance suite: every check is written once against the `Store` trait
//! and run against every store (SQLite and PostgreSQL), like River's driver suite.

use crate::common;

use std::collections::HashSet;

use common::*;
use vecsync::embed::Embedder;
use vecsync::store::{Completion, Failure, FailureKind, Status, Store};
use vecsync::template::text_hash;

/// The vector the fake embedder makes for `id`'s current text, read back through search:
/// the top hit for it must be `id` itself with similarity ~1.
async fn assert_row_has_vector_of_current_text(db: &dyn TestDb, store: &dyn Store, id: &str) {
    let config = db.config();
    let text = store
        .peek_needed(None, usize::MAX)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == id);
    assert!(text.is_none(), "row {id} still needs work");
    let current = current_text(db, id).await;
    let v = fake_embedder(&config).vector(&current);
    let hits = store.search(&v, 1).await.unwrap();
    assert_eq!(hits[0].id, id, "nearest row to {id}'s text");
    assert!(hits[0].score > 0.9999, "score {}", hits[0].score);
}

/// `status` (cheap where the store can be) and the full audit agree on every count; returns
/// the cheap one. With PostgreSQL it must really be the cheap one (the queue is trusted
/// after the suite's backfills); SQLite always audits.
async fn assert_status_is_exact(db: &dyn TestDb, store: &dyn Store, step: &str) -> Status {
    let cheap = store.status().await.unwrap();
    let audit = store.audit().await.unwrap();
    let counts = |s: &Status| {
        (
            (s.total, s.embedded, s.stale, s.missing, s.failed),
            s.queue.clone(),
            s.drift.unqueued,
        )
    };
    assert_eq!(counts(&cheap), counts(&audit), "{step}: status vs audit");
    assert!(audit.audited && audit.last_audit.is_some(), "{step}");
    let sqlite = db.config().database_url.starts_with("sqlite:");
    assert_eq!(cheap.audited, sqlite, "{step}: cheap status used");
    cheap
}

/// (total, embedded, stale, missing, failed).
fn counts(s: &Status) -> (u64, u64, u64, u64, u64) {
    (s.total, s.embedded, s.stale, s.missing, s.failed)
}

/// The row's text rendered by the suite's (default) template.
async fn current_text(db: &dyn TestDb, id: &str) -> String {
    let mut v = Vec::new();
    for c in ["title", "company", "location", "description"] {
        v.push(
            db.text(&format!("SELECT {c} FROM jobs WHERE id = {id}"))
                .await,
        );
    }
    format!("{} at {}\n{}\n\n{}", v[0], v[1], v[2], v[3])
}

macro_rules! conformance {
    ($store:ident, $make:path) => {
        mod $store {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn backfill_embeds_every_row_once() {
                checks::backfill_embeds_every_row_once(&$make(120).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn never_inserts_or_deletes_source_rows() {
                checks::never_inserts_or_deletes_source_rows(&$make(60).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn resumes_after_abandoned_claim() {
                checks::resumes_after_abandoned_claim(&$make(60).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn changed_text_becomes_stale_and_is_reembedded() {
                checks::changed_text_becomes_stale_and_is_reembedded(&$make(40).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn guard_refuses_vector_for_changed_text() {
                checks::guard_refuses_vector_for_changed_text(&$make(20).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn deleted_mid_flight_leaves_no_orphan() {
                checks::deleted_mid_flight_leaves_no_orphan(&$make(20).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn empty_text_fails_with_reason_rest_written() {
                checks::empty_text_fails_with_reason_rest_written(&$make(30).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn transient_failures_retry_then_fail_then_retry_failed() {
                checks::transient_failures_retry_then_fail_then_retry_failed(&$make(10).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_claims_never_overlap() {
                checks::concurrent_claims_never_overlap(&$make(300).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn release_returns_rows_without_an_attempt() {
                checks::release_returns_rows_without_an_attempt(&$make(10).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn reconcile_repairs_done_without_vector() {
                checks::reconcile_repairs_done_without_vector(&$make(50).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn model_change_makes_every_vector_stale() {
                checks::model_change_makes_every_vector_stale(&$make(30).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn search_ranks_by_cosine_with_display_fields() {
                checks::search_ranks_by_cosine_with_display_fields(&$make(40).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn usage_totals_add_up() {
                checks::usage_totals_add_up(&$make(3).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn status_stays_exact_through_every_change() {
                checks::status_stays_exact_through_every_change(&$make(30).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn status_stays_exact_with_concurrent_workers() {
                checks::status_stays_exact_with_concurrent_workers(&$make(200).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn setup_errors_name_the_setting() {
                checks::setup_errors_name_the_setting(&$make(5).await).await
            }
        }
    };
}

conformance!(sqlite, common::sqlite_db);
conformance!(postgres, pg);

async fn pg(rows: usize) -> common::postgres::PgTestDb {
    common::postgres::pg_db(rows, DIMS).await
}

// The same checks with vecsync connecting through pgbouncer in transaction mode (what
// Supabase's port 6543 is): no statement or state may depend on the server session.
conformance!(postgres_via_pgbouncer, pooled);

async fn pooled(rows: usize) -> Pooled {
    Pooled(pg(rows).await, common::pgbouncer::Pgbouncer::start())
}

/// The PostgreSQL fixture; the store under test connects through the pooler, the test's
/// own SQL goes straight to the server.
struct Pooled(common::postgres::PgTestDb, common::pgbouncer::Pgbouncer);

#[async_trait::async_trait]
impl TestDb for Pooled {
    fn config(&self) -> vecsync::config::Config {
        let mut config = self.0.config();
        config.database_url = self.1.url(&self.0.db.name);
        config
    }
    async fn exec(&self, sql: &str) {
        self.0.exec(sql).await
    }
    async fn scalar(&self, sql: &str) -> i64 {
        self.0.scalar(sql).await
    }
    async fn text(&self, sql: &str) -> String {
        self.0.text(sql).await
    }
    fn bookkeeping_table(&self, name: &str) -> String {
        self.0.bookkeeping_table(name)
    }
    async fn expire_leases(&self) {
        self.0.expire_leases().await
    }
}

mod checks {
    use super::*;

    pub async fn backfill_embeds_every_row_once(db: &dyn TestDb) {
        let summary = backfill(db).await;
        assert_eq!(summary.written, 120);
        assert_eq!(summary.failed, 0);
        let store = open(db).await;
        let s = store.status().await.unwrap();
        assert_eq!((s.total, s.embedded, s.stale, s.missing), (120, 120, 0, 0));
        assert_eq!(s.coverage, 1.0);
        assert_eq!(s.queue.pending + s.queue.leased + s.queue.failed, 0);
        assert_eq!(s.drift, Default::default());
        assert_eq!(s.completions_per_minute.iter().sum::<u64>(), 120);
        for id in ["1", "57", "120"] {
            assert_row_has_vector_of_current_text(db, store.as_ref(), id).await;
        }
        // A second run finds nothing to do and re-embeds nothing.
        let again = backfill(db).await;
        assert_eq!(again.written, 0);
    }

    pub async fn never_inserts_or_deletes_source_rows(db: &dyn TestDb) {
        let before = db.scalar("SELECT count(*) FROM jobs").await;
        let store = open(db).await;
        store.prepare(DIMS).await.unwrap();
        store.enqueue_needed().await.unwrap();
        let rows = store.claim(10, LEASE).await.unwrap();
        // Vectors for rows that vanish, failures for rows that vanish: still no INSERT.
        db.exec("DELETE FROM jobs WHERE id IN (1, 2)").await;
        let done: Vec<Completion> = rows
            .iter()
            .map(|r| Completion {
                id: r.id.clone(),
                text_hash: text_hash(&r.text),
                vector: std::sync::Arc::new(vec![0.5; DIMS]),
            })
            .collect();
        store.complete(&done, &[]).await.unwrap();
        backfill(db).await;
        assert_eq!(db.scalar("SELECT count(*) FROM jobs").await, before - 2);
        assert_eq!(
            db.scalar("SELECT count(*) FROM jobs WHERE id IN (1, 2)")
                .await,
            0
        );
    }

    pub async fn resumes_after_abandoned_claim(db: &dyn TestDb) {
        let store = open(db).await;
        store.prepare(DIMS).await.unwrap();
        store.enqueue_needed().await.unwrap();
        // A worker claims 20 rows and dies.
        let claimed = store.claim(20, LEASE).await.unwrap();
        assert_eq!(claimed.len(), 20);
        assert_eq!(store.status().await.unwrap().queue.leased, 20);
        let first = backfill(db).await;
        assert_eq!(first.written, 40, "leased rows are not taken early");
        db.expire_leases().await;
        let second = backfill(db).await;
        assert_eq!(second.written, 20, "expired leases are taken over");
        let s = store.status().await.unwrap();
        assert_eq!((s.embedded, s.coverage), (60, 1.0));
    }

    pub async fn changed_text_becomes_stale_and_is_reembedded(db: &dyn TestDb) {
        backfill(db).await;
        db.exec("UPDATE jobs SET title = 'Night shift ICU nurse' WHERE id = 7")
            .await;
        let store = open(db).await;
        let s = store.status().await.unwrap();
        assert_eq!((s.embedded, s.stale), (39, 1));
        let again = backfill(db).await;
        assert_eq!(again.written, 1);
        assert_row_has_vector_of_current_text(db, store.as_ref(), "7").await;
        assert_eq!(store.status().await.unwrap().embedded, 40);
    }

    pub async fn guard_refuses_vector_for_changed_text(db: &dyn TestDb) {
        let config = db.config();
        let fake = fake_embedder(&config);
        let store = open(db).await;
        store.prepare(DIMS).await.unwrap();
        store.enqueue_needed().await.unwrap();
        let rows = store.claim(20, LEASE).await.unwrap();
        assert_eq!(rows.len(), 20);
        // The text of row 3 changes while its vector is being computed.
        db.exec("UPDATE jobs SET description = 'Rewritten while in flight' WHERE id = 3")
            .await;
        let done: Vec<Completion> = rows
            .iter()
            .map(|r| Completion {
                id: r.id.clone(),
                text_hash: text_hash(&r.text),
                vector: std::sync::Arc::new(fake.vector(&r.text)),
            })
            .collect();
        let out = store.complete(&done, &[]).await.unwrap();
        assert_eq!((out.written, out.skipped), (19, 1));
        let s = store.status().await.unwrap();
        assert_eq!(
            (s.embedded, s.missing),
            (19, 1),
            "no stale vector was written"
        );
        assert_eq!(s.queue.pending + s.queue.leased, 1, "row 3 stays queued");
        let summary = backfill(db).await;
        assert_eq!(summary.written, 1);
        assert_row_has_vector_of_current_text(db, store.as_ref(), "3").await;
    }

    pub async fn deleted_mid_flight_leaves_no_orphan(db: &dyn TestDb) {
        let store = open(db).await;
        store.prepare(DIMS).await.unwrap();
        store.enqueue_needed().await.unwrap();
        let rows = store.claim(20, LEASE).await.unwrap();
        db.exec("DELETE FROM jobs WHERE id = 5").await;
        let done: Vec<Completion> = rows
            .iter()
            .map(|r| Completion {
                id: r.id.clone(),
                text_hash: text_hash(&r.text),
                vector: std::sync::Arc::new(vec![0.25; DIMS]),
            })
            .collect();
        let out = store.complete(&done, &[]).await.unwrap();
        assert_eq!((out.written, out.skipped), (19, 1));
        let state = db.bookkeeping_table("state");
        let queue = db.bookkeeping_table("queue");
        assert_eq!(
            db.scalar(&format!("SELECT count(*) FROM {state} WHERE row_id = 5"))
                .await,
            0
        );
        assert_eq!(
            db.scalar(&format!("SELECT count(*) FROM {queue} WHERE row_id = 5"))
                .await,
            0
        );
        let s = store.status().await.unwrap();
        assert_eq!((s.total, s.embedded), (19, 19));
    }

    pub async fn empty_text_fails_with_reason_rest_written(db: &dyn TestDb) {
        db.exec(
            "UPDATE jobs SET title = '', company = ' ', location = '', description = '' WHERE id = 4",
        )
        .await;
        let summary = backfill(db).await;
        assert_eq!((summary.written, summary.failed), (29, 1));
        let s = open(db).await.status().await.unwrap();
        assert_eq!((s.embedded, s.failed, s.queue.failed), (29, 1, 1));
        assert_eq!(s.failures.len(), 1);
        assert_eq!(s.failures[0].id, "4");
        assert_eq!(s.failures[0].reason, "empty text");
    }

    pub async fn transient_failures_retry_then_fail_then_retry_failed(db: &dyn TestDb) {
        // max_attempts is 2 in the test config.
        let store = open(db).await;
        store.prepare(DIMS).await.unwrap();
        store.enqueue_needed().await.unwrap();
        let rows = store.claim(1, LEASE).await.unwrap();
        let id = rows[0].id.clone();
        let fail = |reason: &str| Failure {
            id: id.clone(),
            reason: reason.into(),
            kind: FailureKind::Transient,
        };
        let out = store.complete(&[], &[fail("HTTP 503")]).await.unwrap();
        assert_eq!((out.retrying, out.failed), (1, 0));
        // Backoff: not claimable at once; claimable once the backoff has run out.
        let others = store.claim(100, LEASE).await.unwrap();
        assert!(others.iter().all(|r| r.id != id), "retried too early");
        store
            .release(&others.iter().map(|r| r.id.clone()).collect::<Vec<_>>())
            .await
            .unwrap();
        db.expire_leases().await;
        let again = store.claim(100, LEASE).await.unwrap();
        assert!(again.iter().any(|r| r.id == id));
        let rest: Vec<String> = again
            .iter()
            .filter(|r| r.id != id)
            .map(|r| r.id.clone())
            .collect();
        store.release(&rest).await.unwrap();
        let out = store
            .complete(&[], &[fail("HTTP 503 again")])
            .await
            .unwrap();
        assert_eq!((out.retrying, out.failed), (0, 1));
        let s = store.status().await.unwrap();
        assert_eq!(s.failed, 1);
        assert_eq!(s.failures[0].reason, "HTTP 503 again");
        assert_eq!(s.failures[0].attempts, 2);
        // Failed rows stay out of the way…
        let summary = backfill(db).await;
        assert_eq!(summary.written, 9);
        assert_eq!(store.status().await.unwrap().failed, 1);
        // …until retry-failed.
        assert_status_is_exact(db, store.as_ref(), "failed").await;
        assert_eq!(store.retry_failed().await.unwrap(), 1);
        assert_status_is_exact(db, store.as_ref(), "retried").await;
        assert_eq!(backfill(db).await.written, 1);
        let s = assert_status_is_exact(db, store.as_ref(), "embedded").await;
        assert_eq!((s.embedded, s.failed), (10, 0));
    }

    pub async fn concurrent_claims_never_overlap(db: &dyn TestDb) {
        let store = open(db).await;
        store.prepare(DIMS).await.unwrap();
        store.enqueue_needed().await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let rows = store.claim(7, LEASE).await.unwrap();
                    if rows.is_empty() {
                        return mine;
                    }
                    mine.extend(rows.into_iter().map(|r| r.id));
                }
            }));
        }
        let mut seen = HashSet::new();
        let mut count = 0;
        for t in tasks {
            for id in t.await.unwrap() {
                count += 1;
                assert!(seen.insert(id.clone()), "row {id} claimed twice");
            }
        }
        assert_eq!(count, 300);
    }

    pub async fn release_returns_rows_without_an_attempt(db: &dyn TestDb) {
        let store = open(db).await;
        store.prepare(DIMS).await.unwrap();
        store.enqueue_needed().await.unwrap();
        let rows = store.claim(10, LEASE).await.unwrap();
        assert!(store.claim(10, LEASE).await.unwrap().is_empty());
        store
            .release(&rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>())
            .await
            .unwrap();
        let queue = db.bookkeeping_table("queue");
        assert_eq!(
            db.scalar(&format!("SELECT coalesce(max(attempts), 0) FROM {queue}"))
                .await,
            0
        );
        assert_eq!(store.claim(10, LEASE).await.unwrap().len(), 10);
    }

    pub async fn reconcile_repairs_done_without_vector(db: &dyn TestDb) {
        backfill(db).await;
        // The original system's failure: marked done, but the vector never landed.
        db.exec("UPDATE jobs SET embedding = NULL WHERE id <= 12")
            .await;
        let store = open(db).await;
        // The cheap status sees the missing vectors and that nothing will embed them…
        let s = store.status().await.unwrap();
        assert_eq!((s.embedded, s.missing), (38, 12));
        assert_eq!(s.drift.unqueued, 12);
        // …and the audit also why: state says they were embedded.
        let s = store.audit().await.unwrap();
        assert_eq!((s.embedded, s.missing), (38, 12));
        assert_eq!(s.drift.done_without_vector, 12);
        assert_eq!(s.drift.unqueued, 12);
        assert_eq!(store.reconcile().await.unwrap(), 12);
        let s = store.status().await.unwrap();
        assert_eq!(s.drift, Default::default());
        assert_eq!(s.queue.pending, 12);
        assert_eq!(backfill(db).await.written, 12);
        assert_eq!(store.status().await.unwrap().coverage, 1.0);
    }

    pub async fn model_change_makes_every_vector_stale(db: &dyn TestDb) {
        backfill(db).await;
        let mut config = db.config();
        config.embedder.model = "fake-v2".into();
        let store = vecsync::store::open(&config).await.unwrap();
        let s = store.status().await.unwrap();
        assert_eq!((s.total, s.embedded, s.stale), (30, 0, 30));
        let summary = backfill_with(store.clone(), fake_embedder(&config), &config)
            .await
            .unwrap();
        assert_eq!(summary.written, 30);
        assert_eq!(store.status().await.unwrap().embedded, 30);
    }

    pub async fn search_ranks_by_cosine_with_display_fields(db: &dyn TestDb) {
        backfill(db).await;
        let config = db.config();
        let fake = fake_embedder(&config);
        let store = open(db).await;
        let hits = store
            .search(&fake.vector("anything at all"), 5)
            .await
            .unwrap();
        assert_eq!(hits.len(), 5);
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
        for h in &hits {
            assert!(h.fields["title"].as_str().is_some_and(|t| !t.is_empty()));
            assert!(h.fields.contains_key("company"));
        }
        assert_eq!(fake.dimensions(), DIMS);
    }

    pub async fn usage_totals_add_up(db: &dyn TestDb) {
        let store = open(db).await;
        store.prepare(DIMS).await.unwrap();
        assert_eq!(store.status().await.unwrap().usage, Default::default());
        for (requests, tokens, cost) in [(2, 1000, 0.5), (1, 234, 0.25)] {
            let usage = vecsync::store::UsageTotals {
                requests,
                tokens,
                cost,
            };
            store.record_usage("m", &usage).await.unwrap();
        }
        let u = store.status().await.unwrap().usage;
        assert_eq!((u.requests, u.tokens, u.cost), (3, 1234, 0.75));
    }

    pub async fn status_stays_exact_through_every_change(db: &dyn TestDb) {
        let sqlite = db.config().database_url.starts_with("sqlite:");
        backfill(db).await;
        let store = open(db).await;
        let s = assert_status_is_exact(db, store.as_ref(), "backfilled").await;
        assert_eq!(counts(&s), (30, 30, 0, 0, 0));
        assert!(s.last_audit.is_some(), "the backfill's scan is an audit");

        db.exec(
            "INSERT INTO jobs (id, title, company, location, employment_type, description)
             VALUES (1001, 'New role', 'Acme', 'Remote', 'Full-time', 'Fresh'),
                    (1002, 'Other role', 'Acme', 'Remote', 'Full-time', 'Fresh too')",
        )
        .await;
        let s = assert_status_is_exact(db, store.as_ref(), "inserted").await;
        assert_eq!(counts(&s), (32, 30, 0, 2, 0));

        db.exec("UPDATE jobs SET title = 'Changed title' WHERE id = 5")
            .await;
        db.exec("UPDATE jobs SET employment_type = 'Contract' WHERE id = 6")
            .await;
        let s = assert_status_is_exact(db, store.as_ref(), "updated").await;
        assert_eq!(counts(&s), (32, 29, 1, 2, 0));

        db.exec("DELETE FROM jobs WHERE id IN (6, 1001)").await;
        let s = assert_status_is_exact(db, store.as_ref(), "deleted").await;
        assert_eq!(counts(&s), (30, 28, 1, 1, 0));

        // Row 7 renders to no text: a permanent failure that keeps its old vector.
        db.exec(
            "UPDATE jobs SET title = '', company = '', location = '', description = ''
             WHERE id = 7",
        )
        .await;
        let summary = backfill(db).await;
        assert_eq!((summary.written, summary.failed), (2, 1));
        let s = assert_status_is_exact(db, store.as_ref(), "failed").await;
        assert_eq!(counts(&s), (30, 29, 1, 0, 1));

        assert_eq!(store.retry_failed().await.unwrap(), 1);
        let s = assert_status_is_exact(db, store.as_ref(), "retried").await;
        assert_eq!((s.queue.pending, s.failed), (1, 0));

        let truncate = if sqlite {
            "DELETE FROM jobs"
        } else {
            "TRUNCATE jobs"
        };
        db.exec(truncate).await;
        let s = assert_status_is_exact(db, store.as_ref(), "truncated").await;
        assert_eq!(counts(&s), (0, 0, 0, 0, 0));
        if !sqlite {
            // The TRUNCATE trigger forgot the queue (SQLite, without triggers yet, forgets
            // a deleted row's queue row at its next claim).
            assert_eq!(s.queue, Default::default());
        }
    }

    pub async fn status_stays_exact_with_concurrent_workers(db: &dyn TestDb) {
        let config = db.config();
        let store = open(db).await;
        store.prepare(DIMS).await.unwrap();
        store.enqueue_needed().await.unwrap();
        let s = assert_status_is_exact(db, store.as_ref(), "queued").await;
        assert_eq!((s.total, s.missing, s.queue.pending), (200, 200, 200));
        // Three workers (separate stores, like processes) drain the queue while status is
        // read: in every status, each row is either embedded or queued (one snapshot).
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let config = config.clone();
                tokio::spawn(async move {
                    let store = vecsync::store::open(&config).await.unwrap();
                    backfill_with(store, fake_embedder(&config), &config)
                        .await
                        .unwrap()
                        .written
                })
            })
            .collect();
        while !workers.iter().all(|w| w.is_finished()) {
            let s = store.status().await.unwrap();
            let q = &s.queue;
            assert_eq!(s.embedded + q.pending + q.leased + q.failed, 200, "{s:?}");
        }
        let mut written = 0;
        for w in workers {
            written += w.await.unwrap();
        }
        // At least once each: a worker's start-up scan can requeue a row another worker
        // completes meanwhile (it is then embedded again).
        assert!(written >= 200, "{written}");
        let s = assert_status_is_exact(db, store.as_ref(), "drained").await;
        assert_eq!(counts(&s), (200, 200, 0, 0, 0));
    }

    pub async fn setup_errors_name_the_setting(db: &dyn TestDb) {
        type Change = fn(&mut vecsync::config::Config);
        let cases: Vec<(Change, &str)> = vec![
            (|c| c.source.table = "no_such_table".into(), "source.table"),
            (
                |c| c.source.template = "{title} {no_such_column}".into(),
                "no_such_column",
            ),
            (
                |c| c.source.embedding_column = "title".into(),
                "source.embedding_column",
            ),
            (
                |c| c.source.filter = Some("no_such_col > 1".into()),
                "source.filter",
            ),
        ];
        for (change, expected) in cases {
            let mut config = db.config();
            change(&mut config);
            let result = async {
                let store = vecsync::store::open(&config).await?;
                store.prepare(DIMS).await
            }
            .await;
            let err = result.expect_err(expected);
            let msg = format!("{err:#}");
            assert!(msg.contains(expected), "{msg:?} should name {expected}");
            assert!(
                err.chain()
                    .any(|c| c.downcast_ref::<vecsync::config::ConfigError>().is_some()),
                "{msg:?} should be a setup error (exit 2)"
            );
        }
        // Nothing was written to the source table by the failed attempts.
        assert_eq!(
            db.scalar("SELECT count(*) FROM jobs WHERE embedding IS NOT NULL")
                .await,
            0
        );
    }
}
