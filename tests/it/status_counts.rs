//! PostgreSQL's counted `status` (docs/postgres.md, "status"): the total comes from
//! `vecsync.row_counts`, which the triggers change per statement, and the missing and stale
//! rows from the queue. Against a real PostgreSQL: it reads no row of the table, it stays
//! equal to the full audit and to `count(*)` under concurrent application writes, workers
//! and folds, and a trigger that could not do its work makes `status` audit until a recount.
//! Rows that change without a trigger firing (a rewrite, partitions attached, detached or
//! truncated on their own, a filter that depends on the time or another table, rows without
//! an id) are never counted from `row_counts`.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::postgres::{
    connect, insert_postings, jobs_table_sql, pg_db, store_with, EmptyDb, PgTestDb,
};
use common::{bounded, TestDb};
use vecsync::config::Config;
use vecsync::embed::fake::FakeEmbedder;
use vecsync::store::postgres::PostgresStore;
use vecsync::store::{Completion, Status, Store};
use vecsync::template::text_hash;

const DIMS: usize = 8;
const LEASE: Duration = Duration::from_secs(60);

async fn store(config: &Config) -> PostgresStore {
    let s = store_with(config).await;
    s.prepare(DIMS).await.expect("prepare");
    s
}

/// Claims and completes with the fake embedder until the queue is empty.
async fn drain(s: &PostgresStore, config: &Config) {
    let e = FakeEmbedder::new(&config.embedder.model_id(), DIMS);
    loop {
        let rows = s.claim(50, LEASE).await.expect("claim");
        if rows.is_empty() {
            return;
        }
        let done: Vec<Completion> = rows
            .iter()
            .map(|r| Completion {
                id: r.id.clone(),
                text_hash: text_hash(&r.text),
                vector: Arc::new(e.vector(&r.text)),
            })
            .collect();
        s.complete(&done, &[]).await.expect("complete");
    }
}

/// What `work` does when it starts: an audit that queues every row needing work (and
/// recounts), then the queue drained.
async fn catch_up(s: &PostgresStore, config: &Config) {
    s.enqueue_needed().await.expect("enqueue_needed");
    drain(s, config).await;
}

/// (total, embedded, stale, missing, failed, unqueued).
fn counts(s: &Status) -> (u64, u64, u64, u64, u64, u64) {
    (
        s.total,
        s.embedded,
        s.stale,
        s.missing,
        s.failed,
        s.drift.unqueued,
    )
}

/// The counted status, then the audit: the same counts, and `total` is `count(*)` over
/// the filter.
async fn assert_counted_and_exact(db: &PgTestDb, s: &PostgresStore, filter: &str) -> Status {
    assert_exact(db, s, filter, false).await
}

/// The status (which `audited` or not), then the audit: the same counts, and `total` is
/// `count(*)` over the filter.
async fn assert_exact(db: &PgTestDb, s: &PostgresStore, filter: &str, audited: bool) -> Status {
    let counted = s.status().await.unwrap();
    assert_eq!(counted.audited, audited, "{counted:?}");
    let audit = s.audit().await.unwrap();
    assert_eq!(counts(&counted), counts(&audit), "counted status vs audit");
    let real = db
        .scalar(&format!("SELECT count(*) FROM jobs WHERE {filter}"))
        .await;
    assert_eq!(counted.total as i64, real);
    counted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_no_row_of_the_table() {
    bounded(async {
        let db = pg_db(40, DIMS).await;
        let mut config = db.config();
        config.source.filter = Some("is_active".into());
        let s = store(&config).await;
        catch_up(&s, &config).await;
        db.exec("UPDATE jobs SET title = 'Changed' WHERE id = 3; UPDATE jobs SET embedding = NULL WHERE id = 4")
            .await;
        // Another session holds the table locked against every read: a status that read
        // one row (or planned a statement on the table) would wait for it.
        let locker = connect(&db.db.url).await;
        locker
            .batch_execute("BEGIN; LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap();
        // A process's first status too (the filter's checks plan a statement on it).
        let fresh = store_with(&config).await;
        let st = tokio::time::timeout(Duration::from_secs(20), fresh.status())
            .await
            .expect("status waited for the locked table: it reads the table")
            .unwrap();
        assert!(!st.audited);
        assert_eq!(counts(&st), (40, 38, 1, 1, 0, 0));
        locker.batch_execute("ROLLBACK").await.unwrap();
        assert_counted_and_exact(&db, &s, "is_active").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_stay_exact_under_concurrent_writes_workers_and_folds() {
    bounded(async {
        let db = pg_db(300, DIMS).await;
        let mut config = db.config();
        config.source.filter = Some("is_active".into());
        let s = Arc::new(store(&config).await);
        catch_up(&s, &config).await;
        assert_counted_and_exact(&db, &s, "is_active").await;

        // Four application sessions write concurrently (single-row and multi-row
        // statements, rows entering and leaving the filter, vectors cleared) while a worker
        // drains the queue and `status` reads (and folds) throughout.
        let apps: Vec<_> = (0..4i64)
            .map(|app| {
                let url = db.db.url.clone();
                tokio::spawn(async move {
                    let c = connect(&url).await;
                    for i in 0..60i64 {
                        let id = 10_000 + app * 1_000 + i;
                        let sql = match i % 6 {
                            0 | 1 => format!(
                                "INSERT INTO jobs (id, title, company, location, employment_type, description, is_active)
                                 VALUES ({id}, 'T{id}', 'C', 'L', 'Full-time', 'D', {})",
                                i % 3 != 0
                            ),
                            2 => format!(
                                "UPDATE jobs SET is_active = NOT is_active WHERE id IN ({}, {})",
                                1 + (app * 60 + i) % 300,
                                id - 1
                            ),
                            3 => format!("DELETE FROM jobs WHERE id = {}", id - 3),
                            4 => format!(
                                "UPDATE jobs SET embedding = NULL WHERE id = {}",
                                1 + (app * 97 + i) % 300
                            ),
                            _ => format!(
                                "INSERT INTO jobs (id, title, company, location, employment_type, description)
                                 SELECT g, 'Bulk ' || g, 'C', 'L', 'Full-time', 'D'
                                 FROM generate_series({id} + 500, {id} + 502) AS g
                                 ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title"
                            ),
                        };
                        c.batch_execute(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"));
                    }
                })
            })
            .collect();
        let worker = {
            let (s, config) = (s.clone(), config.clone());
            tokio::spawn(async move {
                for _ in 0..40 {
                    drain(&s, &config).await;
                    tokio::task::yield_now().await;
                }
            })
        };
        while !apps.iter().all(|a| a.is_finished()) {
            let st = s.status().await.unwrap();
            assert!(!st.audited, "status audited under concurrent writes: {st:?}");
        }
        for a in apps {
            a.await.unwrap();
        }
        worker.await.unwrap();
        assert_counted_and_exact(&db, &s, "is_active").await;
        // Folds ran (status and claims fold): far fewer rows than statements.
        let rows = db.scalar("SELECT count(*) FROM vecsync.row_counts").await;
        assert!(rows < 240, "row_counts holds {rows} rows: never folded");
        drain(&s, &config).await;
        let st = assert_counted_and_exact(&db, &s, "is_active").await;
        assert_eq!((st.missing, st.stale, st.embedded), (0, 0, st.total));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_that_cannot_count_makes_status_audit_until_a_recount() {
    bounded(async {
        let db = pg_db(20, DIMS).await;
        let mut config = db.config();
        // Fails (division by zero) for a title of three characters only: `init` cannot
        // see it coming, and the trigger swallows it to let the application's INSERT go on.
        config.source.filter = Some("10.0 / (length(title) - 3) <> 0".into());
        let s = store(&config).await;
        catch_up(&s, &config).await;
        assert!(!s.status().await.unwrap().audited);

        db.exec(
            "INSERT INTO jobs (id, title, company, location, employment_type, description)
             VALUES (501, 'Dev', 'C', 'L', 'Full-time', 'D')",
        )
        .await;
        assert_eq!(
            db.scalar("SELECT count(*) FROM jobs WHERE id = 501").await,
            1
        );
        // (The audit evaluates the filter too: fix the row's title before asking. Its
        // UPDATE cannot be counted either: the old title still fails the filter.)
        db.exec("UPDATE jobs SET title = 'Developer' WHERE id = 501")
            .await;
        let st = s.status().await.unwrap();
        assert!(st.audited, "a broken count must not be trusted: {st:?}");
        assert_eq!((st.total, st.missing, st.drift.unqueued), (21, 1, 1));
        let st = s.status().await.unwrap();
        assert!(st.audited, "still broken until an audit recounts: {st:?}");
        // `work` starts with enqueue_needed, an audit that leaves the queue complete:
        // it recounts, and status counts again.
        catch_up(&s, &config).await;
        let st = s.status().await.unwrap();
        assert!(!st.audited, "{st:?}");
        assert_eq!((st.total, st.embedded), (21, 21));
        assert_eq!(
            db.scalar("SELECT count(*) FROM vecsync.row_counts WHERE broken")
                .await,
            0
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_from_before_row_counts_is_migrated_and_counts_after_its_first_audit() {
    bounded(async {
        let db = pg_db(30, DIMS).await;
        let config = db.config();
        let s = store(&config).await;
        catch_up(&s, &config).await;
        db.exec("UPDATE jobs SET title = 'Changed' WHERE id = 2")
            .await;
        db.exec("UPDATE jobs SET embedding = NULL WHERE id = 3")
            .await;
        // Back to schema version 4, as the previous vecsync left it.
        db.exec(
            "DROP TABLE vecsync.row_counts, vecsync.completions;
             ALTER TABLE vecsync.queue DROP COLUMN has_vector;
                 ALTER TABLE vecsync.meta DROP COLUMN filter_immutable, DROP COLUMN healed_at;
             DELETE FROM vecsync.migrations WHERE version >= 5",
        )
        .await;
        // Before `init`, status says to run it (not that the table changed).
        let err = store_with(&config).await.status().await.unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("schema: vecsync's schema \"vecsync\" is at version 4 and this vecsync needs version 6: run `vecsync init`"),
            "{msg}"
        );
        let s = store(&config).await;
        // Migrated: each queued row knows whether it has a vector.
        assert_eq!(
            db.scalar("SELECT count(*) FROM vecsync.queue WHERE has_vector")
                .await,
            1
        );
        // `init` re-installed the triggers, so the first status audits; it leaves the
        // queue complete, so it recounts, and the next one counts.
        let st = s.status().await.unwrap();
        assert!(st.audited);
        assert_eq!(counts(&st), (30, 28, 1, 1, 0, 0));
        let st = assert_counted_and_exact(&db, &s, "true").await;
        assert_eq!(counts(&st), (30, 28, 1, 1, 0, 0));
    })
    .await;
}

/// A rewrite changes rows without a trigger firing: here every row's `is_active` flips, so
/// the rows that passed the filter leave it and the others enter it, unqueued. So do
/// renames: two template columns that swap names change every row's text. The table's
/// storage changed, so `status` audits (and is exact) until an audit that leaves the queue
/// complete recounts: a worker's first claim checks for such changes (then every minute),
/// audits, queues the rows that entered, and recounts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewrite_makes_status_audit_until_a_recount() {
    bounded(async {
        let db = pg_db(30, DIMS).await;
        db.exec("UPDATE jobs SET is_active = id % 3 = 0").await;
        let mut config = db.config();
        config.source.filter = Some("is_active".into());
        let s = store(&config).await;
        catch_up(&s, &config).await;
        assert_counted_and_exact(&db, &s, "is_active").await;
        // What changes no row leaves the count trusted.
        db.exec(
            "GRANT SELECT ON jobs TO PUBLIC; REVOKE SELECT ON jobs FROM PUBLIC; ANALYZE jobs;
             CREATE INDEX ON jobs (title); COMMENT ON TABLE jobs IS 'postings'",
        )
        .await;
        db.exec("VACUUM jobs").await;
        assert_counted_and_exact(&db, &s, "is_active").await;

        db.exec("ALTER TABLE jobs ALTER COLUMN is_active TYPE boolean USING NOT is_active")
            .await;
        let active = db.scalar("SELECT count(*) FROM jobs WHERE is_active").await as u64;
        assert_eq!(active, 20);
        for _ in 0..2 {
            let st = s.status().await.unwrap();
            assert!(
                st.audited,
                "a count from before the rewrite was trusted: {st:?}"
            );
            // None of the rows that entered has a vector, and none is queued.
            assert_eq!(
                (st.total, st.missing, st.drift.unqueued),
                (active, active, active)
            );
        }
        let worker = store(&config).await;
        // Nothing is queued for its first claim, after which it checks.
        assert!(worker.claim(50, LEASE).await.unwrap().is_empty());
        assert_eq!(
            db.scalar("SELECT count(*) FROM vecsync.queue").await as u64,
            active,
            "the worker queued the rows that entered"
        );
        drain(&worker, &config).await;
        let st = assert_counted_and_exact(&db, &s, "is_active").await;
        assert_eq!((st.total, st.embedded), (active, active));

        // Two template columns swap names: no rewrite, no trigger, every text changed.
        db.exec(
            "ALTER TABLE jobs RENAME COLUMN title TO swapped;
             ALTER TABLE jobs RENAME COLUMN company TO title;
             ALTER TABLE jobs RENAME COLUMN swapped TO company",
        )
        .await;
        let st = s.status().await.unwrap();
        assert!(
            st.audited,
            "a count from before the renames was trusted: {st:?}"
        );
        assert_eq!(
            (st.total, st.stale, st.drift.unqueued),
            (active, active, active)
        );
    })
    .await;
}

/// The demo table of 30 rows, partitioned by id: `jobs_low` (ids below 16), `jobs_high`.
async fn partitioned_jobs() -> PgTestDb {
    let db = EmptyDb::create().await;
    let client = connect(&db.url).await;
    client
        .batch_execute(&format!(
            "{} PARTITION BY RANGE (id);
             CREATE TABLE jobs_low PARTITION OF jobs FOR VALUES FROM (MINVALUE) TO (16);
             CREATE TABLE jobs_high PARTITION OF jobs FOR VALUES FROM (16) TO (MAXVALUE);",
            jobs_table_sql(DIMS)
        ))
        .await
        .unwrap();
    let postings = vecsync::demo::generate(30, vecsync::demo::DEFAULT_SEED);
    insert_postings(&client, &postings).await;
    PgTestDb {
        db,
        client,
        dims: DIMS,
    }
}

/// On a partitioned table, a partition detached, attached or truncated on its own changes
/// the rows without a trigger of vecsync's firing: `status` audits once (it recounts when
/// the queue is complete) and counts again; a TRUNCATE of the whole table is counted by
/// its trigger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_attached_detached_or_truncated_are_recounted() {
    bounded(async {
        let db = partitioned_jobs().await;
        let config = db.config();
        let s = store(&config).await;
        catch_up(&s, &config).await;
        let st = assert_counted_and_exact(&db, &s, "true").await;
        assert_eq!(st.embedded, 30);
        let high = db.scalar("SELECT count(*) FROM jobs_high").await as u64;
        let low = 30 - high;

        // Each change: the first status audits (exact), the next one counts (exact).
        for (change, total) in [
            ("ALTER TABLE jobs DETACH PARTITION jobs_high", low),
            (
                "ALTER TABLE jobs ATTACH PARTITION jobs_high FOR VALUES FROM (16) TO (MAXVALUE)",
                30,
            ),
            ("TRUNCATE jobs_low", high),
        ] {
            db.exec(change).await;
            let st = s.status().await.unwrap();
            assert!(
                st.audited,
                "after {change}: a stale count was trusted: {st:?}"
            );
            assert_eq!((st.total, st.embedded), (total, total), "after {change}");
            let st = assert_counted_and_exact(&db, &s, "true").await;
            assert_eq!(st.total, total, "after {change}");
        }
        // Detached, changed and attached again between two calls of `status`.
        db.exec(
            "ALTER TABLE jobs DETACH PARTITION jobs_high;
             UPDATE jobs_high SET title = title || ' (changed)';
             ALTER TABLE jobs ATTACH PARTITION jobs_high FOR VALUES FROM (16) TO (MAXVALUE)",
        )
        .await;
        let st = s.status().await.unwrap();
        assert!(st.audited, "a stale count was trusted: {st:?}");
        assert_eq!((st.total, st.stale, st.drift.unqueued), (high, high, high));
        catch_up(&s, &config).await;
        let st = assert_counted_and_exact(&db, &s, "true").await;
        assert_eq!(st.embedded, high);

        db.exec("TRUNCATE jobs").await;
        let st = assert_counted_and_exact(&db, &s, "true").await;
        assert_eq!(st.total, 0);
    })
    .await;
}

/// A filter that depends on something other than the row (the time, another table) lets
/// rows enter and leave it without a write, and a row changed while out of it comes back
/// with a vector for its old text: neither the count nor a pass that reads only whether
/// vectors are NULL sees that. So every `status` audits (and is exact), and workers audit
/// at their first claim, then every minute, queueing such rows. (One vecsync schema per
/// filter, both on the same table.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_on_the_time_or_another_table_makes_status_and_workers_audit() {
    bounded(async {
        let db = pg_db(30, DIMS).await;
        db.exec(
            "CREATE TABLE hidden (id bigint);
             ALTER TABLE jobs ADD COLUMN expires_at timestamptz NOT NULL
               DEFAULT now() + interval '1 hour';
             UPDATE jobs SET expires_at = now() + interval '2 seconds' WHERE id <= 3",
        )
        .await;
        let configs = [
            ("vs_time", "expires_at > now()", 27),
            (
                "vs_hidden",
                "NOT EXISTS (SELECT 1 FROM public.hidden AS h WHERE h.id = jobs.id)",
                28,
            ),
        ]
        .map(|(schema, filter, total)| {
            let mut config = db.config();
            config.schema = schema.into();
            config.source.filter = Some(filter.into());
            (config, filter, total)
        });
        let mut stores = Vec::new();
        for (config, filter, _) in &configs {
            let s = store(config).await;
            catch_up(&s, config).await;
            assert_exact(&db, &s, filter, true).await;
            stores.push(s);
        }
        // Three rows expire, two are hidden: no write to `jobs` either way.
        while db
            .scalar("SELECT count(*) FROM jobs WHERE expires_at > now()")
            .await
            != 27
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        db.exec("INSERT INTO hidden VALUES (10), (11)").await;
        for ((_, filter, total), s) in configs.iter().zip(&stores) {
            let st = assert_exact(&db, s, filter, true).await;
            assert_eq!((st.total, st.embedded), (*total, *total), "{filter}");
        }

        // Row 12 changes while hidden (its trigger leaves it unqueued), then comes back.
        db.exec(
            "INSERT INTO hidden VALUES (12);
             UPDATE jobs SET title = 'Changed while hidden' WHERE id = 12;
             DELETE FROM hidden WHERE id = 12",
        )
        .await;
        let (config, filter, _) = &configs[1];
        // doctor says what such a filter costs.
        let findings =
            vecsync::store::postgres::doctor::diagnose(&db.db.url, config, Some(DIMS)).await;
        let f = findings
            .iter()
            .find(|f| f.check == "source.filter")
            .unwrap();
        assert_eq!(f.level, vecsync::doctor::Level::Warn, "{f:?}");
        assert!(
            f.message.contains("every `status` is a full audit"),
            "{f:?}"
        );
        let st = assert_exact(&db, &stores[1], filter, true).await;
        assert_eq!((st.total, st.stale, st.drift.unqueued), (28, 1, 1));
        let worker = store(config).await;
        assert!(worker.claim(50, LEASE).await.unwrap().is_empty());
        drain(&worker, config).await;
        let st = assert_exact(&db, &stores[1], filter, true).await;
        assert_eq!((st.total, st.embedded), (28, 28));
    })
    .await;
}

/// Rows without an id (a nullable unique id column) are never queued: with a vector, the
/// vector is for no known text. `status` counts them in its one pass as the audit does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_without_an_id_are_counted_as_the_audit_counts_them() {
    bounded(async {
        let db = pg_db(20, DIMS).await;
        db.exec("ALTER TABLE jobs ADD COLUMN ref text UNIQUE; UPDATE jobs SET ref = 'r' || id WHERE id > 2")
            .await;
        let mut config = db.config();
        config.source.id_column = "ref".into();
        let s = store(&config).await;
        catch_up(&s, &config).await;
        db.exec("UPDATE jobs SET embedding = (SELECT embedding FROM jobs WHERE id = 3) WHERE id = 1")
            .await;
        let st = s.status().await.unwrap();
        let audit = s.audit().await.unwrap();
        assert_eq!(counts(&st), counts(&audit));
        assert_eq!(st.drift.vector_without_state, audit.drift.vector_without_state);
        // Row 1 has a vector for no known text, row 2 has none: neither is queued.
        assert_eq!(counts(&st), (20, 18, 1, 1, 0, 2));
        assert_eq!(st.drift.vector_without_state, 1);
    })
    .await;
}

/// A BEFORE UPDATE trigger of the application's changes the text in the very UPDATE that
/// writes a vector (which vecsync's own UPDATE trigger skips): the row stays queued for its
/// new text, so no vector is counted done for text the row no longer has, and a trigger
/// that changes the text on every write ends `failed` with a reason instead of embedding
/// forever; so does one whose trigger skips the write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_that_changes_the_text_while_the_vector_is_written_keeps_the_row_queued() {
    bounded(async {
        let db = pg_db(10, DIMS).await;
        db.exec(
            "CREATE FUNCTION public.shout() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN NEW.title := upper(NEW.title); RETURN NEW; END $$;
             CREATE TRIGGER shout BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION public.shout();",
        )
        .await;
        let config = db.config();
        let s = store(&config).await;
        catch_up(&s, &config).await;
        // Each row was embedded twice: once for its title, once for the upper-cased one.
        let st = assert_counted_and_exact(&db, &s, "true").await;
        assert_eq!((st.total, st.embedded, st.stale, st.failed), (10, 10, 0, 0));

        db.exec(
            // (Named with its schema: the tests' role is called vecsync, so `"$user"`,
            // first on its search_path, is vecsync's schema now.)
            "CREATE OR REPLACE FUNCTION public.shout() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN NEW.title := NEW.title || '!'; RETURN NEW; END $$",
        )
        .await;
        db.exec("UPDATE jobs SET description = description || '.' WHERE id = 1")
            .await;
        drain(&s, &config).await;
        let st = assert_counted_and_exact(&db, &s, "true").await;
        assert_eq!((st.embedded, st.stale, st.failed), (9, 1, 1));
        assert!(
            st.failures[0].reason.contains("BEFORE UPDATE trigger"),
            "{:?}",
            st.failures
        );

        // A trigger that skips vecsync's write (RETURN NULL) of row 2's vector: the row is
        // claimed again until it fails with a reason, not forever.
        db.exec(
            "CREATE OR REPLACE FUNCTION public.shout() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN
                    IF OLD.id = 2 AND OLD.embedding IS NULL AND NEW.embedding IS NOT NULL THEN
                      RETURN NULL;
                    END IF;
                    RETURN NEW;
                  END $$",
        )
        .await;
        db.exec("UPDATE jobs SET embedding = NULL WHERE id = 2").await;
        drain(&s, &config).await;
        let st = assert_counted_and_exact(&db, &s, "true").await;
        assert_eq!((st.embedded, st.missing, st.failed), (8, 1, 2));
        assert!(
            st.failures.iter().any(|f| f.id == "2" && f.reason.contains("skipped the write")),
            "{:?}",
            st.failures
        );
    })
    .await;
}

/// Triggers that do not fire for the application's writes are drift: enabled for
/// replication only on the table, or disabled on one partition. `status` says so and
/// audits; `init` makes them fire again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triggers_that_do_not_fire_are_drift_until_init() {
    bounded(async {
        let db = partitioned_jobs().await;
        let config = db.config();
        let s = store(&config).await;
        catch_up(&s, &config).await;
        assert_counted_and_exact(&db, &s, "true").await;
        for (change, said) in [
            (
                "ALTER TABLE jobs ENABLE REPLICA TRIGGER vecsync_insert",
                "fire only for replication",
            ),
            (
                "ALTER TABLE jobs_high DISABLE TRIGGER vecsync_update",
                "jobs_high.vecsync_update",
            ),
        ] {
            db.exec(change).await;
            db.exec("UPDATE jobs SET title = 'Changed' WHERE id = 20")
                .await;
            let st = s.status().await.unwrap();
            assert!(st.audited, "after {change}: {st:?}");
            assert!(
                st.drift.triggers.iter().any(|d| d.contains(said)),
                "after {change}: {:?}",
                st.drift.triggers
            );
            let st = store(&config).await.status().await.unwrap();
            assert!(
                st.drift.triggers.is_empty(),
                "init did not fix {change}: {:?}",
                st.drift.triggers
            );
            catch_up(&s, &config).await;
            assert_counted_and_exact(&db, &s, "true").await;
        }
    })
    .await;
}

/// When `init` could not ask whether the filter depends on the row alone (the role that
/// ran it may not create temporary tables), `status` audits and `doctor` says why; the
/// next `init` by a role that may ask records the answer, and `status` counts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_init_could_not_check_is_checked_by_the_next_init() {
    bounded(async {
        let db = pg_db(20, DIMS).await;
        let mut config = db.config();
        config.source.filter = Some("is_active".into());
        let s = store(&config).await;
        catch_up(&s, &config).await;
        assert_counted_and_exact(&db, &s, "is_active").await;

        db.exec("UPDATE vecsync.meta SET filter_immutable = NULL")
            .await;
        assert_exact(&db, &s, "is_active", true).await;
        let findings =
            vecsync::store::postgres::doctor::diagnose(&db.db.url, &config, Some(DIMS)).await;
        let f = findings
            .iter()
            .find(|f| f.check == "source.filter")
            .unwrap();
        assert_eq!(f.level, vecsync::doctor::Level::Warn, "{f:?}");
        assert!(f.message.contains("could not check"), "{f:?}");

        store(&config).await;
        assert_counted_and_exact(&db, &s, "is_active").await;
    })
    .await;
}
