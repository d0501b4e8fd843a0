//! The store conformance suite: every check is written once against the `Store` trait
//! and run against every store (SQLite and PostgreSQL), like River's driver suite. The
//! checks are grouped by domain: install (setup and triggers), queue (enqueue, claim,
//! lease, release), complete (the guarded write and failures), status, search, and follow
//! (`vecsync work` keeping up with another connection's writes). SQLite-only behaviour
//! (writers in other processes, undecodable bytes, schema changes) is in `sqlite_only`.
//!
//! No check sleeps to let time pass: leases, retry backoffs and follow-mode waits are
//! either zero/huge by construction or awaited as conditions with a deadline.

use crate::common;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use tokio_util::sync::CancellationToken;
use vecsync::config::Config;
use vecsync::embed::Embedder;
use vecsync::pipeline::{self, Mode, RunOptions, Summary};
use vecsync::store::{ClaimedRow, Completion, Failure, FailureKind, Status, Store, WriteOutcome};
use vecsync::template::text_hash;

/// How long a condition may take to become true before a check fails.
const DEADLINE: Duration = Duration::from_secs(20);

/// Polls `check` until it returns true; panics naming `what` after [`DEADLINE`].
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < DEADLINE,
            "{what}: still not true after {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A completion for a claimed row with the fake embedder's vector of its text.
fn completion(config: &Config, row: &ClaimedRow) -> Completion {
    Completion {
        id: row.id.clone(),
        text_hash: text_hash(&row.text),
        vector: Arc::new(fake_embedder(config).vector(&row.text)),
    }
}

fn failure(id: &str, reason: &str, permanent: bool) -> Failure {
    Failure {
        id: id.to_string(),
        reason: reason.to_string(),
        kind: if permanent {
            FailureKind::Rejected
        } else {
            FailureKind::Transient
        },
    }
}

/// Rows in vecsync's queue (any status) with this id.
async fn queued(db: &dyn TestDb, id: &str) -> bool {
    let queue = db.bookkeeping_table("queue");
    db.scalar(&format!("SELECT count(*) FROM {queue} WHERE row_id = {id}"))
        .await
        == 1
}

/// Queue rows never claimed nor failed.
async fn untouched(db: &dyn TestDb) -> i64 {
    let queue = db.bookkeeping_table("queue");
    db.scalar(&format!(
        "SELECT count(*) FROM {queue} WHERE status = 'pending' AND attempts = 0
         AND locked_until IS NULL AND last_error IS NULL"
    ))
    .await
}

/// The vector the fake embedder makes for `id`'s current text, read back through search:
/// the top hit for it must be `id` itself with similarity ~1.
async fn assert_row_has_vector_of_current_text(db: &dyn TestDb, store: &dyn Store, id: &str) {
    assert!(
        has_vector_of_current_text(db, store, id).await,
        "row {id} has no vector of its current text"
    );
}

async fn has_vector_of_current_text(db: &dyn TestDb, store: &dyn Store, id: &str) -> bool {
    let needed = store.peek_needed(None, usize::MAX).await.unwrap();
    if needed.iter().any(|r| r.id == id) {
        return false;
    }
    let v = fake_embedder(&db.config()).vector(&current_text(db, id).await);
    let hits = store.search(&v, 1).await.unwrap();
    hits.first().is_some_and(|h| h.id == id && h.score > 0.9999)
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
    assert_eq!(cheap.audited, sqlite(db), "{step}: cheap status used");
    cheap
}

/// Whether the suite runs on the SQLite store.
fn sqlite(db: &dyn TestDb) -> bool {
    db.config().database_url.starts_with("sqlite:")
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

/// A `work` run in the background (follow mode, one worker) until [`Follower::stop`].
struct Follower {
    cancel: CancellationToken,
    run: tokio::task::JoinHandle<anyhow::Result<Summary>>,
}

impl Follower {
    /// The safety-net poll is a minute: only the store's wake-ups can explain a change
    /// reflected within [`DEADLINE`].
    fn start(store: Arc<dyn Store>, config: &Config) -> Follower {
        let cancel = CancellationToken::new();
        let options = RunOptions::new(
            config,
            Mode::Follow {
                poll: Duration::from_secs(60),
            },
            1,
        );
        let embedder = fake_embedder(config);
        let run = tokio::spawn(pipeline::run(
            store,
            embedder,
            options,
            cancel.clone(),
            |_| {},
        ));
        Follower { cancel, run }
    }

    async fn stop(self) -> Summary {
        self.cancel.cancel();
        self.run.await.expect("join").expect("work run")
    }
}

macro_rules! checks {
    ($make:path; $($domain:ident { $($name:ident($rows:expr)),* $(,)? })*) => {
        $(mod $domain {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::store_conformance::checks::$domain::$name(&$make($rows).await).await
                }
            )*
        })*
    };
}

macro_rules! conformance {
    ($store:ident, $make:path) => {
        mod $store {
            checks! { $make;
                install {
                    setup_errors_name_the_setting(5),
                    triggers_queue_inserts_and_changes_and_forget_deletes(30),
                    filter_decides_what_the_triggers_queue(200),
                    triggers_follow_a_new_template(20),
                    never_inserts_or_deletes_source_rows(60),
                }
                queue {
                    enqueue_spans_many_chunks(25_000),
                    concurrent_claims_never_overlap(300),
                    release_returns_rows_without_an_attempt(10),
                    expired_leases_are_taken_over_live_ones_are_not(60),
                    release_leaves_failed_rows_failed(5),
                }
                complete {
                    backfill_embeds_every_row_once(120),
                    changed_text_becomes_stale_and_is_reembedded(40),
                    guard_refuses_vector_for_changed_text(20),
                    deleted_mid_flight_leaves_no_orphan(20),
                    empty_text_fails_with_reason_rest_written(30),
                    a_row_the_database_refuses_fails_alone(40),
                    transient_failures_retry_then_fail_then_retry_failed(10),
                    reports_for_unclaimed_rows_are_ignored(10),
                    reconcile_repairs_done_without_vector(50),
                    model_change_makes_every_vector_stale(30),
                }
                status {
                    usage_totals_add_up(3),
                    status_stays_exact_through_every_change(30),
                    status_stays_exact_with_concurrent_workers(200),
                }
                search {
                    search_ranks_by_cosine_with_display_fields(40),
                    search_includes_stale_vectors(20),
                }
                follow {
                    work_follows_inserts_updates_and_deletes(20),
                }
            }
        }
    };
}

conformance!(sqlite, crate::common::sqlite_db);
conformance!(postgres, crate::store_conformance::pg);

async fn pg(rows: usize) -> common::postgres::PgTestDb {
    common::postgres::pg_db(rows, DIMS).await
}

// The same checks with vecsync connecting through pgbouncer in transaction mode (what
// Supabase's port 6543 is): no statement or state may depend on the server session.
conformance!(postgres_via_pgbouncer, crate::store_conformance::pooled);

async fn pooled(rows: usize) -> Pooled {
    Pooled(pg(rows).await, common::pgbouncer::Pgbouncer::start())
}

/// The PostgreSQL fixture; the store under test connects through the pooler (and LISTENs
/// on `listen_url`, straight to the server, as documented for poolers), the test's own SQL
/// goes straight to the server.
struct Pooled(common::postgres::PgTestDb, common::pgbouncer::Pgbouncer);

#[async_trait::async_trait]
impl TestDb for Pooled {
    fn config(&self) -> vecsync::config::Config {
        let mut config = self.0.config();
        config.listen_url = Some(config.database_url.clone());
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
    async fn refuse_vectors_for(&self, ids: &[i64]) {
        self.0.refuse_vectors_for(ids).await
    }
}

const NEW_ROW: &str =
    "INSERT INTO jobs (id, title, company, location, employment_type, description)
     VALUES (9001, 'Night nurse', 'Mercy', 'Boston', 'Full-time', 'ICU nights')";

mod checks {
    pub mod install {
        use crate::store_conformance::*;

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
            // Nothing was written to the source table by the failed attempts, and the
            // triggers of a failed setup do not break the application's writes.
            assert_eq!(
                db.scalar("SELECT count(*) FROM jobs WHERE embedding IS NOT NULL")
                    .await,
                0
            );
            db.exec(NEW_ROW).await;
            db.exec("UPDATE jobs SET title = 'x', company = 'y' WHERE id = 1")
                .await;
            db.exec("DELETE FROM jobs WHERE id = 2").await;
        }

        pub async fn triggers_queue_inserts_and_changes_and_forget_deletes(db: &dyn TestDb) {
            assert_eq!(backfill(db).await.written, 30);
            let store = open(db).await;
            let state = db.bookkeeping_table("state");
            // An insert is queued by the insert itself.
            db.exec(NEW_ROW).await;
            assert!(queued(db, "9001").await);
            // A template column that really changed is queued…
            db.exec("UPDATE jobs SET title = 'Senior welder' WHERE id = 3")
                .await;
            assert!(queued(db, "3").await);
            // …the same value written again, another column: not.
            db.exec("UPDATE jobs SET title = title WHERE id = 4").await;
            db.exec("UPDATE jobs SET employment_type = 'Part-time', salary = '$30/h' WHERE id = 4")
                .await;
            assert!(!queued(db, "4").await, "row 4 was queued");
            // A vector the application clears: PostgreSQL's trigger queues the row again
            // (`status` counts missing vectors from the queue); SQLite's never fires for
            // the embedding column, and its status (an audit) sees the row unqueued.
            db.exec("UPDATE jobs SET embedding = NULL WHERE id = 5")
                .await;
            assert_eq!(queued(db, "5").await, !sqlite(db));
            // A delete forgets the queue entry and the state.
            db.exec("DELETE FROM jobs WHERE id IN (3, 6)").await;
            for id in ["3", "6"] {
                assert!(!queued(db, id).await, "deleted row {id} is queued");
                let n = db
                    .scalar(&format!("SELECT count(*) FROM {state} WHERE row_id = {id}"))
                    .await;
                assert_eq!(n, 0, "deleted row {id} has state");
            }
            // An id change forgets the old id and queues the new one.
            db.exec("UPDATE jobs SET id = 5000 WHERE id = 7").await;
            assert!(queued(db, "5000").await);
            assert_eq!(
                db.scalar(&format!("SELECT count(*) FROM {state} WHERE row_id = 7"))
                    .await,
                0
            );
            let s = store.status().await.unwrap();
            let queued_by_trigger = if sqlite(db) { 2 } else { 3 };
            assert_eq!(
                (s.total, s.missing, s.queue.pending, s.drift.unqueued),
                (29, 2, queued_by_trigger, 3 - queued_by_trigger)
            );
            // State says row 5 was embedded: the audit's to say (the cheap status reads no state).
            let s = store.audit().await.unwrap();
            assert_eq!(s.drift.done_without_vector, 1);
            // The queued rows, and on SQLite the one enqueue_needed finds.
            assert_eq!(backfill(db).await.written, 3);
        }

        pub async fn filter_decides_what_the_triggers_queue(db: &dyn TestDb) {
            let mut config = db.config();
            config.source.filter = Some("is_active".into());
            let store = vecsync::store::open(&config).await.unwrap();
            let active = db.scalar("SELECT count(*) FROM jobs WHERE is_active").await;
            assert!(active < 200, "the demo data has inactive postings");
            let summary = backfill_with(store.clone(), fake_embedder(&config), &config)
                .await
                .unwrap();
            assert_eq!(summary.written as i64, active);
            assert_eq!(store.status().await.unwrap().total as i64, active);

            let inactive = db
                .scalar("SELECT min(id) FROM jobs WHERE NOT is_active")
                .await
                .to_string();
            let some_active = db
                .scalar("SELECT min(id) FROM jobs WHERE is_active")
                .await
                .to_string();
            // An inactive row is not embedded, even when its text changes or it is new
            // (PostgreSQL's triggers do not queue it; SQLite's queue it without evaluating
            // the filter, which could raise an error inside the application's write, and
            // the claim drops it).
            db.exec(&format!(
                "UPDATE jobs SET title = 'x' || title WHERE id = {inactive}"
            ))
            .await;
            db.exec(
                "INSERT INTO jobs (id, title, company, location, employment_type, description, is_active)
                 VALUES (9002, 'Baker', 'Crumbs', 'Lyon', 'Full-time', 'Bread', false)",
            )
            .await;
            // Becoming active queues it; becoming inactive while queued leaves the queue
            // (at once, or when claimed).
            db.exec(&format!(
                "UPDATE jobs SET is_active = true WHERE id = {inactive}"
            ))
            .await;
            assert!(queued(db, &inactive).await);
            db.exec(&format!(
                "UPDATE jobs SET description = 'new' WHERE id = {some_active}"
            ))
            .await;
            assert!(queued(db, &some_active).await);
            db.exec(&format!(
                "UPDATE jobs SET is_active = false WHERE id = {some_active}"
            ))
            .await;
            let summary = backfill_with(store.clone(), fake_embedder(&config), &config)
                .await
                .unwrap();
            assert_eq!((summary.written, summary.failed), (1, 0));
            let s = store.status().await.unwrap();
            assert_eq!((s.total as i64, s.embedded as i64), (active, active));
            assert_eq!(s.queue.pending + s.queue.leased + s.queue.failed, 0);
            let queue = db.bookkeeping_table("queue");
            assert_eq!(db.scalar(&format!("SELECT count(*) FROM {queue}")).await, 0);
            assert_eq!(
                db.scalar("SELECT count(*) FROM jobs WHERE id = 9002 AND embedding IS NULL")
                    .await,
                1
            );
        }

        pub async fn triggers_follow_a_new_template(db: &dyn TestDb) {
            backfill(db).await;
            let mut titles_only = db.config();
            titles_only.source.template = "{title}".into();
            let store = vecsync::store::open(&titles_only).await.unwrap();
            store.prepare(DIMS).await.unwrap();
            db.exec("UPDATE jobs SET company = 'Other' WHERE id = 2")
                .await;
            assert!(!queued(db, "2").await, "company is not in the template");
            db.exec("UPDATE jobs SET title = 'Other' WHERE id = 3")
                .await;
            assert!(queued(db, "3").await);
            // Back to the full template: company counts again.
            open(db).await.prepare(DIMS).await.unwrap();
            db.exec("UPDATE jobs SET company = 'Third' WHERE id = 4")
                .await;
            assert!(queued(db, "4").await);
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
                    vector: Arc::new(vec![0.5; DIMS]),
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
    }

    pub mod queue {
        use crate::store_conformance::*;

        pub async fn enqueue_spans_many_chunks(db: &dyn TestDb) {
            let store = open(db).await;
            store.prepare(DIMS).await.unwrap();
            // 25,000 rows: more than two chunks of 10,000 ids.
            assert_eq!(store.enqueue_needed().await.unwrap(), 25_000);
            assert_eq!(store.enqueue_needed().await.unwrap(), 0, "already queued");
            let queue = db.bookkeeping_table("queue");
            db.exec(&format!(
                "DELETE FROM {queue} WHERE row_id IN (1, 10000, 10001, 20000, 20001, 25000)"
            ))
            .await;
            assert_eq!(store.enqueue_needed().await.unwrap(), 6);
            assert_eq!(store.status().await.unwrap().queue.pending, 25_000);
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

        pub async fn expired_leases_are_taken_over_live_ones_are_not(db: &dyn TestDb) {
            let config = db.config();
            let store = open(db).await;
            store.prepare(DIMS).await.unwrap();
            store.enqueue_needed().await.unwrap();
            // Two workers die: one holding a lease of an hour, one whose lease is over.
            let live = store.claim(20, Duration::from_secs(3600)).await.unwrap();
            let expired = store.claim(20, Duration::ZERO).await.unwrap();
            assert_eq!((live.len(), expired.len()), (20, 20));
            // Taken over as soon as the clock has moved past the expired lease.
            let started = Instant::now();
            let mut written = 0;
            while written < 40 {
                assert!(
                    started.elapsed() < DEADLINE,
                    "expired leases not taken over"
                );
                written += backfill_with(store.clone(), fake_embedder(&config), &config)
                    .await
                    .unwrap()
                    .written;
            }
            assert_eq!(written, 40, "live leases are not taken");
            let s = store.status().await.unwrap();
            assert_eq!(
                (s.embedded, s.queue.leased),
                (40, 20),
                "live leases are kept"
            );
            // The first worker comes back: its rows are still its own.
            let done: Vec<Completion> = live.iter().map(|r| completion(&config, r)).collect();
            assert_eq!(store.complete(&done, &[]).await.unwrap().written, 20);
            let s = store.status().await.unwrap();
            assert_eq!((s.embedded, s.coverage), (60, 1.0));
        }

        pub async fn release_leaves_failed_rows_failed(db: &dyn TestDb) {
            let store = open(db).await;
            store.prepare(DIMS).await.unwrap();
            store.enqueue_needed().await.unwrap();
            let row = store.claim(1, LEASE).await.unwrap().remove(0);
            let out = store
                .complete(&[], &[failure(&row.id, "rejected", true)])
                .await
                .unwrap();
            assert_eq!(out.failed, 1);
            store.release(std::slice::from_ref(&row.id)).await.unwrap();
            let s = store.status().await.unwrap();
            assert_eq!((s.failed, s.queue.failed, s.queue.pending), (1, 1, 4));
            assert_eq!(s.failures[0].attempts, 1, "release counted nothing");
            let claimed = store.claim(10, LEASE).await.unwrap();
            assert!(claimed.iter().all(|r| r.id != row.id), "failed row claimed");
        }
    }

    pub mod complete {
        use crate::store_conformance::*;

        /// A constraint or an application trigger that refuses some rows' vectors fails
        /// those rows alone, with the database's reason; every other row is written.
        pub async fn a_row_the_database_refuses_fails_alone(db: &dyn TestDb) {
            db.refuse_vectors_for(&[3, 17]).await;
            let summary = backfill(db).await;
            assert_eq!((summary.written, summary.failed), (38, 2), "{summary:?}");
            let s = open(db).await.status().await.unwrap();
            assert_eq!((s.embedded, s.failed), (38, 2), "{s:?}");
            let mut failed: Vec<&str> = s.failures.iter().map(|f| f.id.as_str()).collect();
            failed.sort();
            assert_eq!(failed, ["17", "3"]);
            for f in &s.failures {
                assert!(
                    f.reason.starts_with("the database refused its vector: "),
                    "{}",
                    f.reason
                );
                assert!(
                    !f.reason.contains("Failing row"),
                    "row data in {}",
                    f.reason
                );
            }
        }

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
            let store = open(db).await;
            store.prepare(DIMS).await.unwrap();
            store.enqueue_needed().await.unwrap();
            let rows = store.claim(20, LEASE).await.unwrap();
            assert_eq!(rows.len(), 20);
            // The text of row 3 changes while its vector is being computed.
            db.exec("UPDATE jobs SET description = 'Rewritten while in flight' WHERE id = 3")
                .await;
            let done: Vec<Completion> = rows.iter().map(|r| completion(&config, r)).collect();
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
                    vector: Arc::new(vec![0.25; DIMS]),
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
            // max_attempts is 2 in the test config; a first failure backs off for 1 s.
            let store = open(db).await;
            store.prepare(DIMS).await.unwrap();
            store.enqueue_needed().await.unwrap();
            let id = store.claim(1, LEASE).await.unwrap().remove(0).id;
            let out = store
                .complete(&[], &[failure(&id, "HTTP 503", false)])
                .await
                .unwrap();
            assert_eq!((out.retrying, out.failed), (1, 0));
            // Backing off: not claimable at once…
            let others = store.claim(100, LEASE).await.unwrap();
            assert_eq!(others.len(), 9);
            assert!(others.iter().all(|r| r.id != id), "retried too early");
            store
                .release(&others.iter().map(|r| r.id.clone()).collect::<Vec<_>>())
                .await
                .unwrap();
            assert_eq!(store.status().await.unwrap().queue.leased, 1);
            // …claimable once the backoff has run out; its second failure is its last.
            db.expire_leases().await;
            let again = store.claim(100, LEASE).await.unwrap();
            assert!(again.iter().any(|r| r.id == id));
            let rest: Vec<String> = again
                .into_iter()
                .map(|r| r.id)
                .filter(|r| *r != id)
                .collect();
            store.release(&rest).await.unwrap();
            let out = store
                .complete(&[], &[failure(&id, "HTTP 503 again", false)])
                .await
                .unwrap();
            assert_eq!((out.retrying, out.failed), (0, 1));
            let s = store.status().await.unwrap();
            assert_eq!(s.failed, 1);
            assert_eq!(s.failures[0].reason, "HTTP 503 again");
            assert_eq!(s.failures[0].attempts, 2);
            // Failed rows stay out of the way…
            assert_eq!(backfill(db).await.written, 9);
            assert_eq!(store.status().await.unwrap().failed, 1);
            // …until retry-failed.
            assert_eq!(store.retry_failed().await.unwrap(), 1);
            assert_eq!(backfill(db).await.written, 1);
            let s = store.status().await.unwrap();
            assert_eq!((s.embedded, s.failed), (10, 0));
        }

        pub async fn reports_for_unclaimed_rows_are_ignored(db: &dyn TestDb) {
            let config = db.config();
            let store = open(db).await;
            store.prepare(DIMS).await.unwrap();
            store.enqueue_needed().await.unwrap();
            // Queued, never claimed: neither a vector nor a failure is taken.
            let never = store.peek_needed(None, 3).await.unwrap();
            let out = store
                .complete(
                    &[completion(&config, &never[0])],
                    &[
                        failure(&never[1].id, "rejected", true),
                        failure(&never[2].id, "HTTP 503", false),
                    ],
                )
                .await
                .unwrap();
            let ignored = WriteOutcome {
                skipped: 1,
                ..WriteOutcome::default()
            };
            assert_eq!(out, ignored);
            assert_eq!(untouched(db).await, 10);
            assert_eq!(
                db.scalar("SELECT count(*) FROM jobs WHERE embedding IS NOT NULL")
                    .await,
                0
            );
            // Done: a second report is ignored.
            let done = store.claim(1, LEASE).await.unwrap().remove(0);
            let c = completion(&config, &done);
            assert_eq!(
                store
                    .complete(std::slice::from_ref(&c), &[])
                    .await
                    .unwrap()
                    .written,
                1
            );
            let out = store
                .complete(&[c], &[failure(&done.id, "late", true)])
                .await
                .unwrap();
            assert_eq!(out, ignored);
            assert!(!queued(db, &done.id).await);
            // Failed: a later report is ignored too (attempts and reason kept).
            let bad = store.claim(1, LEASE).await.unwrap().remove(0);
            store
                .complete(&[], &[failure(&bad.id, "rejected", true)])
                .await
                .unwrap();
            let out = store
                .complete(
                    &[completion(&config, &bad)],
                    &[failure(&bad.id, "later", false)],
                )
                .await
                .unwrap();
            assert_eq!(out, ignored);
            let s = store.status().await.unwrap();
            assert_eq!((s.embedded, s.failed), (1, 1));
            assert_eq!(
                (s.failures[0].reason.as_str(), s.failures[0].attempts),
                ("rejected", 1)
            );
            assert_eq!(untouched(db).await, 8);
        }

        pub async fn reconcile_repairs_done_without_vector(db: &dyn TestDb) {
            backfill(db).await;
            // The original system's failure: marked done, but the vector never landed (lost
            // behind vecsync's back: on PostgreSQL with the triggers off, which would
            // otherwise queue the rows again).
            db.exec(if sqlite(db) {
                "UPDATE jobs SET embedding = NULL WHERE id <= 12"
            } else {
                "BEGIN; SET LOCAL session_replication_role = replica;
                 UPDATE jobs SET embedding = NULL WHERE id <= 12; COMMIT"
            })
            .await;
            let store = open(db).await;
            let s = store.status().await.unwrap();
            if sqlite(db) {
                // SQLite's status (an audit) sees the missing vectors and that nothing will
                // embed them…
                assert_eq!((s.embedded, s.missing, s.drift.unqueued), (38, 12, 12));
            } else {
                // …PostgreSQL's counted status does not: it counts from what the triggers
                // saw. Finding changes made behind vecsync's back is the audit's job.
                assert_eq!((s.embedded, s.missing, s.audited), (50, 0, false));
            }
            // The audit sees them, and why: state says they were embedded.
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
    }

    pub mod status {
        use crate::store_conformance::*;

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
    }

    pub mod search {
        use crate::store_conformance::*;

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

        /// Search sees what the application's own nearest-neighbour query sees: every row
        /// with a vector, including one whose text changed and awaits its new vector.
        pub async fn search_includes_stale_vectors(db: &dyn TestDb) {
            backfill(db).await;
            let store = open(db).await;
            let old = current_text(db, "7").await;
            db.exec("UPDATE jobs SET title = 'Lighthouse keeper' WHERE id = 7")
                .await;
            assert_eq!(store.status().await.unwrap().stale, 1);
            let hits = store
                .search(&fake_embedder(&db.config()).vector(&old), 1)
                .await
                .unwrap();
            assert_eq!(hits[0].id, "7");
            assert!(hits[0].score > 0.9999, "score {}", hits[0].score);
        }
    }

    pub mod follow {
        use crate::store_conformance::*;

        pub async fn work_follows_inserts_updates_and_deletes(db: &dyn TestDb) {
            let config = db.config();
            assert_eq!(backfill(db).await.written, 20);
            let store = open(db).await;
            let work = Follower::start(store.clone(), &config);
            let state = db.bookkeeping_table("state");

            db.exec(NEW_ROW).await;
            eventually("the inserted row is embedded", || {
                has_vector_of_current_text(db, store.as_ref(), "9001")
            })
            .await;
            db.exec("UPDATE jobs SET title = 'Harbour pilot' WHERE id = 3")
                .await;
            eventually("the updated row is re-embedded", || {
                has_vector_of_current_text(db, store.as_ref(), "3")
            })
            .await;
            // Another column: nothing to do. A delete: forgotten at once.
            db.exec("UPDATE jobs SET salary = '$1' WHERE id = 4").await;
            assert!(!queued(db, "4").await);
            db.exec("DELETE FROM jobs WHERE id = 5").await;
            assert_eq!(
                db.scalar(&format!("SELECT count(*) FROM {state} WHERE row_id = 5"))
                    .await,
                0
            );
            let summary = work.stop().await;
            assert_eq!(summary.written, 2);
            let s = store.status().await.unwrap();
            assert_eq!((s.total, s.embedded, s.stale, s.missing), (20, 20, 0, 0));
            assert_eq!(s.drift, Default::default());
        }
    }
}

/// Behaviour only SQLite has: writers in other processes and the file's own rules.
mod sqlite_only {
    use super::*;
    use std::process::Command;

    /// Runs `script` with Python's own sqlite3 module against the database: another
    /// process, another SQLite library, none of vecsync's SQL functions.
    fn python(db: &SqliteDb, script: &str) {
        let out = Command::new("python3")
            .arg("-c")
            .arg(format!(
                "import sqlite3, sys\ndb = sqlite3.connect(sys.argv[1], timeout=30)\n{script}\ndb.commit()\n"
            ))
            .arg(&db.path)
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "python failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_follows_a_python_writer() {
        let db = sqlite_db(20).await;
        let config = db.config();
        assert_eq!(backfill(&db).await.written, 20);
        let store = open(&db).await;
        let work = Follower::start(store.clone(), &config);
        python(
            &db,
            "db.executemany(\"INSERT INTO jobs (id, title, company, location, employment_type, description) VALUES (?, ?, 'Acme', 'Tulsa', 'Contract', 'MIG and TIG')\", [(9101, 'Welder'), (9102, 'Fitter')])\n\
             db.execute(\"UPDATE jobs SET description = 'Rewritten by Python' WHERE id = 6\")\n\
             db.execute(\"DELETE FROM jobs WHERE id = 7\")",
        );
        for id in ["9101", "9102", "6"] {
            eventually(&format!("row {id} is embedded"), || {
                has_vector_of_current_text(&db, store.as_ref(), id)
            })
            .await;
        }
        assert!(!queued(&db, "7").await);
        assert_eq!(work.stop().await.written, 3);
        let s = store.status().await.unwrap();
        assert_eq!((s.total, s.embedded, s.stale, s.missing), (21, 21, 0, 0));
        assert_eq!(s.drift, Default::default());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn undecodable_text_fails_that_row_alone() {
        let db = sqlite_db(30).await;
        // Latin-1 bytes in a TEXT column, and a BLOB in another template column.
        db.exec("UPDATE jobs SET description = CAST(X'436166E9' AS TEXT) WHERE id = 4")
            .await;
        db.exec("UPDATE jobs SET company = X'00FF10' WHERE id = 9")
            .await;
        let summary = backfill(&db).await;
        assert_eq!(summary.written, 28, "every other row is embedded");
        let s = open(&db).await.status().await.unwrap();
        assert_eq!((s.embedded, s.failed, s.queue.pending), (28, 2, 0));
        let reason = |id: &str| {
            s.failures
                .iter()
                .find(|f| f.id == id)
                .unwrap_or_else(|| panic!("row {id} is not listed as failed"))
                .reason
                .clone()
        };
        let r4 = reason("4");
        assert!(
            r4.contains("row 4") && r4.contains("\"description\"") && r4.contains("UTF-8"),
            "{r4}"
        );
        let r9 = reason("9");
        assert!(
            r9.contains("row 9") && r9.contains("\"company\"") && r9.contains("BLOB"),
            "{r9}"
        );
        // Fixing the value queues the row again, and it is embedded.
        db.exec("UPDATE jobs SET description = 'Café' WHERE id = 4")
            .await;
        assert_eq!(backfill(&db).await.written, 1);
        assert_eq!(open(&db).await.status().await.unwrap().failed, 1);
    }

    /// The filter is the user's SQL and may raise errors (json_extract on malformed JSON):
    /// the triggers never evaluate it, so the application's writes cannot fail on it, and
    /// the claim fails the row it raises on, alone, naming the row and the filter.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_filter_that_raises_fails_its_row_never_the_application() {
        let db = sqlite_db(10).await;
        db.exec("UPDATE jobs SET salary = '{\"remote\": true}'")
            .await;
        let mut config = db.config();
        config.source.filter = Some("json_extract(salary, '$.remote')".into());
        let store = vecsync::store::open(&config).await.unwrap();
        let summary = backfill_with(store.clone(), fake_embedder(&config), &config)
            .await
            .unwrap();
        assert_eq!(summary.written, 10);
        python(
            &db,
            "db.execute(\"INSERT INTO jobs (id, title, company, location, employment_type, description, salary) VALUES (9201, 'Welder', 'Acme', 'Tulsa', 'Contract', 'MIG', 'not json')\")\n\
             db.execute(\"UPDATE jobs SET salary = 'oops' WHERE id = 3\")\n\
             db.execute(\"UPDATE jobs SET title = 'Pipe fitter' WHERE id = 4\")",
        );
        let claimed = store.claim(10, LEASE).await.unwrap();
        assert_eq!(
            claimed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["4"]
        );
        for id in ["9201", "3"] {
            let reason = db
                .text(&format!(
                    "SELECT last_error FROM vecsync_queue WHERE row_id = {id} AND status = 'failed'"
                ))
                .await;
            assert!(
                reason.starts_with(&format!("row {id}: source.filter"))
                    && reason.contains("malformed JSON"),
                "{reason}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn schema_changes_and_odd_ids_never_fail_the_application() {
        let db = sqlite_db(10).await;
        open(&db).await.prepare(DIMS).await.unwrap();
        // Renaming a watched column rewrites the triggers; writes keep working, and
        // vecsync names the config's stale column on its next start.
        db.exec("ALTER TABLE jobs RENAME COLUMN location TO city")
            .await;
        db.exec("UPDATE jobs SET city = 'Lyon' WHERE id = 1").await;
        assert!(queued(&db, "1").await);
        let err = open(&db).await.prepare(DIMS).await.unwrap_err();
        assert!(format!("{err:#}").contains("\"location\""), "{err:#}");
        db.exec("ALTER TABLE jobs RENAME COLUMN city TO location")
            .await;
        open(&db).await.prepare(DIMS).await.unwrap();
        // A column the triggers do not read can be dropped; one they read cannot (SQLite
        // names vecsync's trigger), until `vecsync uninstall`.
        db.exec("ALTER TABLE jobs DROP COLUMN salary").await;
        let conn = rusqlite::Connection::open(&db.path).unwrap();
        let err = conn
            .execute_batch("ALTER TABLE jobs DROP COLUMN company")
            .unwrap_err();
        assert!(err.to_string().contains("vecsync_update"), "{err}");
        open(&db).await.uninstall().await.unwrap();
        conn.execute_batch("ALTER TABLE jobs DROP COLUMN company")
            .unwrap();

        // Ids that are not integers in an INTEGER (not rowid) id column are queued.
        conn.execute_batch(
            "CREATE TABLE notes (id INTEGER NOT NULL UNIQUE, body TEXT, embedding BLOB)",
        )
        .unwrap();
        let mut config = db.config();
        config.source.table = "notes".into();
        config.source.template = "{body}".into();
        config.source.display_columns = vec!["body".into()];
        let notes = vecsync::store::open(&config).await.unwrap();
        notes.prepare(DIMS).await.unwrap();
        python(
            &db,
            "db.execute(\"INSERT INTO notes (id, body) VALUES (1, 'one'), ('n-2', 'two')\")",
        );
        assert_eq!(
            db.scalar("SELECT count(*) FROM vecsync_queue").await,
            2,
            "both notes queued"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_missing_file_is_a_setup_error_not_a_new_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("typo.db");
        let config = test_config(format!("sqlite://{}", path.display()), DIMS);
        let err = vecsync::store::open(&config)
            .await
            .err()
            .expect("no such file");
        assert!(err
            .chain()
            .any(|c| c.downcast_ref::<vecsync::config::ConfigError>().is_some()));
        assert!(format!("{err:#}").starts_with("database_url: "), "{err:#}");
        assert!(!path.exists(), "no file was created");
    }
}
