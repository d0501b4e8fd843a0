//! Model migrations (`vecsync migrate`), on both stores, with the deterministic fake
//! embedder as model A (16 dimensions) and model B (24 dimensions, or 16 for the fence
//! check): while a loop of searches and row edits runs, the live column never holds a
//! vector of B before the switch nor one of A after it; every row ends with B's vector for
//! its current text; a rollback and an abort restore A exactly.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use tokio_util::sync::CancellationToken;
use vecsync::config::{Config, EmbedderConfig};
use vecsync::embed::fake::FakeEmbedder;
use vecsync::migrate::{resolve, Migration, OnEvent, Outcome, Vectorizer};
use vecsync::store::migration::{ModelSwitched, Phase};

const A_DIMS: usize = 16;
const B_DIMS: usize = 24;

fn fake(model: &str, dims: usize) -> EmbedderConfig {
    EmbedderConfig {
        provider: "fake".into(),
        model: model.into(),
        dimensions: Some(dims),
        ..EmbedderConfig::default()
    }
}

/// The test database's config with model A live and model B next.
fn configs(db: &dyn TestDb, b_dims: usize) -> Config {
    let mut config = db.config();
    config.embedder = fake("fake-a", A_DIMS);
    config.next_embedder = Some(fake("fake-b", b_dims));
    config.worker.lease_seconds = 5;
    config.validate().unwrap();
    config
}

fn quiet() -> OnEvent {
    Arc::new(|_| {})
}

fn is_sqlite(db: &dyn TestDb) -> bool {
    db.config().database_url.starts_with("sqlite:")
}

/// Embeds every row with the live model, as `vecsync backfill` would.
async fn backfill_live(config: &Config) {
    let live = Vectorizer::live(&resolve(config.clone()).await.unwrap())
        .await
        .unwrap();
    live.drain(CancellationToken::new(), |_| {}).await.unwrap();
}

/// Drains both vectorizers of the current phase (what `vecsync work` keeps doing).
async fn catch_up(config: &Config) {
    let resolved = resolve(config.clone()).await.unwrap();
    let live = Vectorizer::live(&resolved).await.unwrap();
    live.drain(CancellationToken::new(), |_| {}).await.unwrap();
    if let Some(other) = Vectorizer::other(&resolved).await.unwrap() {
        other.drain(CancellationToken::new(), |_| {}).await.unwrap();
    }
}

/// In one statement: the model the live namespace records (or "none") and how many
/// vectors of each length the live column holds.
async fn observe(db: &dyn TestDb) -> (String, i64, i64) {
    let vectorizer = db.bookkeeping_table("vectorizer");
    let dims = if is_sqlite(db) {
        "length(embedding) / 4"
    } else {
        "vector_dims(embedding)"
    };
    let line = db
        .text(&format!(
            "SELECT coalesce((SELECT model FROM {vectorizer}), 'none') || ' ' ||
                    coalesce(sum(CASE WHEN {dims} = {A_DIMS} THEN 1 ELSE 0 END), 0) || ' ' ||
                    coalesce(sum(CASE WHEN {dims} = {B_DIMS} THEN 1 ELSE 0 END), 0)
             FROM jobs"
        ))
        .await;
    let mut parts = line.split(' ');
    let model = parts.next().unwrap().to_string();
    let a = parts.next().unwrap().parse().unwrap();
    let b = parts.next().unwrap().parse().unwrap();
    (model, a, b)
}

/// Every row's current text (the default template) and the vector in `column` (None
/// when NULL).
async fn rows(db: &dyn TestDb, column: &str) -> BTreeMap<i64, (String, Option<Vec<f32>>)> {
    let n = db.scalar("SELECT count(*) FROM jobs").await;
    let max = db.scalar("SELECT max(id) FROM jobs").await;
    let mut out = BTreeMap::new();
    for id in 1..=max {
        if db
            .scalar(&format!("SELECT count(*) FROM jobs WHERE id = {id}"))
            .await
            == 0
        {
            continue;
        }
        let mut v = Vec::new();
        for c in ["title", "company", "location", "description"] {
            v.push(
                db.text(&format!("SELECT {c} FROM jobs WHERE id = {id}"))
                    .await,
            );
        }
        let text = format!("{} at {}\n{}\n\n{}", v[0], v[1], v[2], v[3]);
        let vector = if is_sqlite(db) {
            let hex = db
                .text(&format!(
                    "SELECT coalesce(hex({column}), '') FROM jobs WHERE id = {id}"
                ))
                .await;
            (!hex.is_empty()).then(|| {
                let bytes = hex::decode(hex).unwrap();
                vecsync::store::sqlite::blob_to_vector(&bytes)
            })
        } else {
            let text = db
                .text(&format!(
                    "SELECT coalesce({column}::text, '') FROM jobs WHERE id = {id}"
                ))
                .await;
            (!text.is_empty()).then(|| {
                text.trim_matches(['[', ']'])
                    .split(',')
                    .map(|x| x.parse::<f32>().unwrap())
                    .collect()
            })
        };
        out.insert(id, (text, vector));
    }
    assert_eq!(out.len() as i64, n);
    out
}

/// Every row of `column` holds `model`'s vector for its current text.
async fn assert_column_is(db: &dyn TestDb, column: &str, model: &str, dims: usize) {
    let fake = FakeEmbedder::new(&format!("{model}:{dims}"), dims);
    for (id, (text, vector)) in rows(db, column).await {
        let vector = vector.unwrap_or_else(|| panic!("row {id} has no vector in {column}"));
        assert_eq!(
            vector,
            fake.vector(&text),
            "row {id}: {column} does not hold {model}'s vector of its current text"
        );
    }
}

async fn columns(db: &dyn TestDb) -> String {
    if is_sqlite(db) {
        db.text("SELECT group_concat(name, ',') FROM pragma_table_info('jobs')")
            .await
    } else {
        db.text(
            "SELECT string_agg(attname::text, ',' ORDER BY attnum) FROM pg_attribute
             WHERE attrelid = 'jobs'::regclass AND attnum > 0 AND NOT attisdropped",
        )
        .await
    }
}

/// vecsync's objects of the next/prev namespaces.
async fn other_namespaces(db: &dyn TestDb) -> i64 {
    if is_sqlite(db) {
        db.scalar(
            "SELECT count(*) FROM sqlite_master
             WHERE name LIKE 'vecsync\\_next\\_%' ESCAPE '\\' OR name LIKE 'vecsync\\_prev\\_%' ESCAPE '\\'",
        )
        .await
    } else {
        db.scalar(
            "SELECT count(*) FROM pg_namespace WHERE nspname IN ('vecsync_next', 'vecsync_prev')",
        )
        .await
    }
}

/// What the concurrent loop saw.
#[derive(Default)]
struct Seen {
    searches_a: AtomicU64,
    searches_b: AtomicU64,
    observed_a: AtomicU64,
    observed_b: AtomicU64,
    edits: AtomicU64,
}

/// Searches (the way a long-running `serve` does: one store, reopened when the fence says
/// the model changed), observations of the live column, and edits, until `stop`.
async fn concurrent_loop(
    db: Arc<dyn TestDb>,
    config: Config,
    stop: Arc<AtomicBool>,
    seen: Arc<Seen>,
) {
    let searcher = {
        let (config, stop, seen) = (config.clone(), stop.clone(), seen.clone());
        async move {
            let mut current: Option<Vectorizer> = None;
            while !stop.load(Ordering::SeqCst) {
                let v = match current.take() {
                    Some(v) => v,
                    None => Vectorizer::live(&resolve(config.clone()).await.unwrap())
                        .await
                        .unwrap(),
                };
                let query = v
                    .embedder
                    .embed(&["nurse night shift".into()])
                    .await
                    .unwrap();
                let query = query[0].as_ref().unwrap();
                match v.store.search(query, 5).await {
                    Ok(hits) => {
                        assert!(!hits.is_empty());
                        for h in &hits {
                            assert!(h.score.is_finite() && h.score <= 1.0001, "{h:?}");
                        }
                        let counter = if v.embedder.model_id().starts_with("fake-a") {
                            &seen.searches_a
                        } else {
                            &seen.searches_b
                        };
                        counter.fetch_add(1, Ordering::SeqCst);
                        current = Some(v);
                    }
                    // The switch happened since the store was opened: reopen.
                    Err(e) if e.downcast_ref::<ModelSwitched>().is_some() => {}
                    Err(e) => panic!("search failed: {e:#}"),
                }
            }
        }
    };
    let observer = {
        let (db, stop, seen) = (db.clone(), stop.clone(), seen.clone());
        async move {
            while !stop.load(Ordering::SeqCst) {
                let (model, a, b) = observe(db.as_ref()).await;
                if model.starts_with("fake-b") {
                    assert_eq!(a, 0, "model A vectors in the live column after the switch");
                    seen.observed_b.fetch_add(1, Ordering::SeqCst);
                } else {
                    assert_eq!(b, 0, "model B vectors in the live column before the switch");
                    seen.observed_a.fetch_add(1, Ordering::SeqCst);
                }
                tokio::task::yield_now().await;
            }
        }
    };
    let editor = {
        let (db, stop, seen) = (db.clone(), stop.clone(), seen.clone());
        async move {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let id = 1 + (n * 7919) % 60;
                db.exec(&format!(
                    "UPDATE jobs SET title = 'Edited title {n}' WHERE id = {id}"
                ))
                .await;
                seen.edits.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
        }
    };
    // Separate tasks: the SQLite fixture's calls block their thread.
    let tasks = [
        tokio::spawn(searcher),
        tokio::spawn(observer),
        tokio::spawn(editor),
    ];
    for t in tasks {
        t.await.expect("a loop failed");
    }
}

/// Waits until `done()` holds, for at most 60 s.
async fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

macro_rules! migration_suite {
    ($store:ident, $make:path) => {
        mod $store {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn switch_rollback_abort_never_mix_models() {
                checks::switch_rollback_abort_never_mix_models(Arc::new($make(60).await)).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn abort_before_the_switch_restores_everything() {
                checks::abort_before_the_switch_restores_everything(&$make(40).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn finish_drops_the_old_vectors_and_the_record_decides() {
                checks::finish_drops_the_old_vectors_and_the_record_decides(&$make(30).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn processes_from_before_the_switch_are_fenced() {
                checks::processes_from_before_the_switch_are_fenced(&$make(30).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_column_is_added_only_with_the_flag() {
                checks::the_column_is_added_only_with_the_flag(&$make(10).await).await
            }
        }
    };
}

migration_suite!(sqlite, crate::common::sqlite_db);
migration_suite!(postgres, pg);

async fn pg(rows: usize) -> crate::common::postgres::PgTestDb {
    crate::common::postgres::pg_db(rows, A_DIMS).await
}

mod checks {
    use super::*;

    pub async fn switch_rollback_abort_never_mix_models(db: Arc<dyn TestDb>) {
        let config = configs(db.as_ref(), B_DIMS);
        backfill_live(&config).await;
        let before_columns = columns(db.as_ref()).await;

        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Seen::default());
        let looping = tokio::spawn(concurrent_loop(
            db.clone(),
            config.clone(),
            stop.clone(),
            seen.clone(),
        ));
        wait_for("searches with model A", || {
            seen.searches_a.load(Ordering::SeqCst) >= 3 && seen.edits.load(Ordering::SeqCst) >= 3
        })
        .await;
        let migration = Migration::open(&config).await.unwrap();
        let outcome = migration
            .run(true, &CancellationToken::new(), quiet())
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Swapped(Phase::Switched));
        // The loop keeps going after the switch until it has seen model B live.
        wait_for("searches with model B", || {
            seen.searches_b.load(Ordering::SeqCst) >= 3
                && seen.observed_b.load(Ordering::SeqCst) >= 3
        })
        .await;
        stop.store(true, Ordering::SeqCst);
        looping.await.unwrap();
        assert!(seen.observed_a.load(Ordering::SeqCst) >= 1);

        // Everything edited meanwhile is queued for both models: once caught up, every row
        // has B's vector for its current text, and the kept column A's.
        catch_up(&config).await;
        assert_column_is(db.as_ref(), "embedding", "fake-b", B_DIMS).await;
        assert_column_is(db.as_ref(), "embedding_prev", "fake-a", A_DIMS).await;
        let (model, a, b) = observe(db.as_ref()).await;
        assert_eq!((model.as_str(), a, b), ("fake-b:24", 0, 60));

        // Rollback: a second swap, A exactly as it is kept.
        db.exec("UPDATE jobs SET title = 'Changed after the switch' WHERE id = 5")
            .await;
        let outcome = migration
            .rollback(&CancellationToken::new(), quiet())
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Swapped(Phase::Building));
        assert_column_is(db.as_ref(), "embedding", "fake-a", A_DIMS).await;
        let (model, _, b) = observe(db.as_ref()).await;
        assert_eq!((model.as_str(), b), ("fake-a:16", 0));

        // Abort: B's column and bookkeeping go, A stays exactly.
        migration.drop_other(Phase::Building).await.unwrap();
        assert_eq!(columns(db.as_ref()).await, before_columns);
        assert_eq!(other_namespaces(db.as_ref()).await, 0);
        assert_column_is(db.as_ref(), "embedding", "fake-a", A_DIMS).await;
        assert!(migration.resolve().await.unwrap().record.is_none());
    }

    pub async fn abort_before_the_switch_restores_everything(db: &dyn TestDb) {
        let config = configs(db, B_DIMS);
        backfill_live(&config).await;
        let before = rows(db, "embedding").await;
        let before_columns = columns(db).await;
        let migration = Migration::open(&config).await.unwrap();
        let next = migration.begin(true, &quiet()).await.unwrap();
        // Half of the rows get B's vector, then the migration is aborted.
        let mut options = next.run_options(vecsync::pipeline::Mode::Drain);
        options.limit = Some(20);
        vecsync::pipeline::run(
            next.store.clone(),
            next.embedder.clone(),
            options,
            CancellationToken::new(),
            |_| {},
        )
        .await
        .unwrap();
        assert!(columns(db).await.contains("embedding_next"));
        assert!(other_namespaces(db).await > 0);
        let e = migration.drop_other(Phase::Switched).await.unwrap_err();
        assert!(e.to_string().contains("--finish"), "{e}");
        migration.drop_other(Phase::Building).await.unwrap();
        assert_eq!(rows(db, "embedding").await, before);
        assert_eq!(columns(db).await, before_columns);
        assert_eq!(other_namespaces(db).await, 0);
        assert!(migration.resolve().await.unwrap().record.is_none());
        // And the live vectorizer carries on as before.
        let store = vecsync::store::open(&migration.resolve().await.unwrap().config)
            .await
            .unwrap();
        let s = store.status().await.unwrap();
        assert_eq!((s.embedded, s.total), (40, 40));
    }

    pub async fn finish_drops_the_old_vectors_and_the_record_decides(db: &dyn TestDb) {
        let config = configs(db, B_DIMS);
        backfill_live(&config).await;
        let migration = Migration::open(&config).await.unwrap();
        let e = migration.drop_other(Phase::Switched).await.unwrap_err();
        assert!(e.to_string().contains("not started"), "{e}");
        migration
            .run(true, &CancellationToken::new(), quiet())
            .await
            .unwrap();
        migration.drop_other(Phase::Switched).await.unwrap();
        assert!(!columns(db).await.contains("embedding_prev"));
        assert_eq!(other_namespaces(db).await, 0);
        assert_column_is(db, "embedding", "fake-b", B_DIMS).await;

        // The store says B is live, whatever the order of the config's tables.
        let r = resolve(config.clone()).await.unwrap();
        assert_eq!(r.config.embedder.model_id(), "fake-b:24");
        assert_eq!(r.record.as_ref().unwrap().phase, Phase::Finished);
        assert!(r
            .hint
            .unwrap()
            .contains("move [next_embedder] into [embedder]"));
        let mut moved = config.clone();
        moved.embedder = fake("fake-b", B_DIMS);
        moved.next_embedder = None;
        let r = resolve(moved).await.unwrap();
        assert_eq!(r.config.embedder.model_id(), "fake-b:24");
        assert!(r.hint.is_none());
        // A config that names only the old model is refused.
        let mut old = config.clone();
        old.next_embedder = None;
        let e = resolve(old).await.unwrap_err();
        assert!(e.to_string().starts_with("embedder.model:"), "{e}");

        // The migrated vectorizer is an ordinary one: a changed row is re-embedded with B.
        db.exec("UPDATE jobs SET title = 'After finish' WHERE id = 3")
            .await;
        catch_up(&config).await;
        assert_column_is(db, "embedding", "fake-b", B_DIMS).await;
        let store = vecsync::store::open(&resolve(config.clone()).await.unwrap().config)
            .await
            .unwrap();
        let s = store.status().await.unwrap();
        assert_eq!(
            (s.model.as_str(), s.embedded, s.total),
            ("fake-b:24", 30, 30)
        );
    }

    /// Same dimensions, so only the fence tells the models apart: a store opened for A
    /// before the switch can neither claim, write nor search afterwards.
    pub async fn processes_from_before_the_switch_are_fenced(db: &dyn TestDb) {
        let config = configs(db, A_DIMS);
        backfill_live(&config).await;
        let stale = Vectorizer::live(&resolve(config.clone()).await.unwrap())
            .await
            .unwrap();
        stale.store.prepare(A_DIMS).await.unwrap();
        let migration = Migration::open(&config).await.unwrap();
        migration
            .run(true, &CancellationToken::new(), quiet())
            .await
            .unwrap();
        // A row changes after the switch: it is queued in B's (now live) queue.
        db.exec("UPDATE jobs SET title = 'After the switch' WHERE id = 9")
            .await;
        let a = FakeEmbedder::new("fake-a:16", A_DIMS);
        let switched = |e: anyhow::Error| {
            assert!(e.downcast_ref::<ModelSwitched>().is_some(), "{e:#}");
            assert!(e.to_string().contains("fake-b:16"), "{e}");
        };
        switched(stale.store.search(&a.vector("x"), 3).await.unwrap_err());
        switched(stale.store.claim(10, LEASE).await.unwrap_err());
        let done = vec![vecsync::store::Completion {
            id: "9".into(),
            text_hash: vecsync::template::text_hash("anything"),
            vector: Arc::new(a.vector("anything")),
        }];
        switched(stale.store.complete(&done, &[]).await.unwrap_err());
        // Nothing of A reached the live column, and B's worker still finds the row.
        catch_up(&config).await;
        assert_column_is(db, "embedding", "fake-b", A_DIMS).await;
    }

    pub async fn the_column_is_added_only_with_the_flag(db: &dyn TestDb) {
        let config = configs(db, B_DIMS);
        backfill_live(&config).await;
        let before = columns(db).await;
        let migration = Migration::open(&config).await.unwrap();
        let plan = migration.plan().await.unwrap();
        assert_eq!((plan.embed.rows, plan.in_progress), (10, false));
        assert_eq!(plan.vector_bytes, 10 * B_DIMS as u64 * 4);
        let add = plan.add_column.unwrap();
        assert!(add.contains("ADD COLUMN \"embedding_next\""), "{add}");
        assert_eq!(columns(db).await, before, "a plan changes nothing");
        let e = migration
            .run(false, &CancellationToken::new(), quiet())
            .await
            .unwrap_err();
        assert!(e.downcast_ref::<vecsync::config::ConfigError>().is_some());
        assert!(e.to_string().contains("--add-column"), "{e}");
        assert_eq!(columns(db).await, before);
        assert!(migration.resolve().await.unwrap().record.is_none());
    }
}

/// PostgreSQL only: indexes and locks.
mod postgres_only {
    use super::*;
    use vecsync::store::postgres::PostgresStore;
    use vecsync::store::StoreOptions;

    /// The HNSW index of the new column is built before the switch, and both indexes
    /// follow their columns (and keep `vecsync index`'s names) through the switch.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_index_is_built_before_the_switch_and_follows_its_column() {
        let db = pg(30).await;
        let config = configs(&db, B_DIMS);
        backfill_live(&config).await;
        let live = PostgresStore::connect(
            &config.database_url,
            &config.schema,
            &config.source,
            StoreOptions::from_config(&config),
        )
        .await
        .unwrap();
        live.create_hnsw_index().await.unwrap();
        let migration = Migration::open(&config).await.unwrap();
        let plan = migration.plan().await.unwrap();
        let index = plan.index.unwrap();
        assert!(index.contains("\"jobs_embedding_next_hnsw\""), "{index}");
        assert!(index.contains("CONCURRENTLY"), "{index}");
        migration
            .run(true, &CancellationToken::new(), quiet())
            .await
            .unwrap();
        let indexes = db
            .text(
                "SELECT string_agg(indexname || ': ' || indexdef, E'\\n' ORDER BY indexname)
                 FROM pg_indexes WHERE tablename = 'jobs' AND indexdef LIKE '%hnsw%'",
            )
            .await;
        assert!(
            indexes.contains("jobs_embedding_hnsw: CREATE INDEX jobs_embedding_hnsw ON public.jobs USING hnsw (embedding vector_cosine_ops)"),
            "{indexes}"
        );
        assert!(
            indexes.contains("jobs_embedding_prev_hnsw: CREATE INDEX jobs_embedding_prev_hnsw ON public.jobs USING hnsw (embedding_prev vector_cosine_ops)"),
            "{indexes}"
        );
        // The live index is on the new model's vectors.
        let indexed = db
            .text(
                "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_index i
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                 WHERE i.indexrelid = 'jobs_embedding_hnsw'::regclass",
            )
            .await;
        assert_eq!(indexed, format!("vector({B_DIMS})"));
        // `vecsync index` finds it in place.
        let resolved = resolve(config.clone()).await.unwrap();
        let live = PostgresStore::connect(
            &config.database_url,
            &config.schema,
            &config.source,
            StoreOptions::from_config(&resolved.config),
        )
        .await
        .unwrap();
        live.create_hnsw_index().await.unwrap();
        assert_eq!(
            db.scalar("SELECT count(*) FROM pg_indexes WHERE tablename = 'jobs' AND indexdef LIKE '%hnsw%'")
                .await,
            2
        );
    }

    /// An application transaction that holds the table makes the switch give up its lock
    /// request after the lock timeout (so that queries do not queue behind it) and try
    /// again; when the transaction ends, the switch goes through.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_locked_table_makes_the_switch_give_up_and_try_again() {
        let db = pg(20).await;
        let config = configs(&db, B_DIMS);
        backfill_live(&config).await;
        let migration = Migration::open(&config).await.unwrap();
        let next = migration.begin(true, &quiet()).await.unwrap();
        next.drain(CancellationToken::new(), |_| {}).await.unwrap();
        let app = crate::common::postgres::connect(&db.db.url).await;
        app.batch_execute("BEGIN; UPDATE jobs SET salary = salary WHERE id = 1")
            .await
            .unwrap();
        let retried = Arc::new(AtomicU64::new(0));
        let on_event: OnEvent = {
            let retried = retried.clone();
            Arc::new(move |e| {
                if let vecsync::migrate::Event::Step(s) = e {
                    if s.contains("stayed locked") {
                        retried.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        };
        let running = tokio::spawn(async move {
            migration
                .run(true, &CancellationToken::new(), on_event)
                .await
                .unwrap()
        });
        wait_for("the switch to give up once", || {
            retried.load(Ordering::SeqCst) >= 1 || running.is_finished()
        })
        .await;
        app.batch_execute("COMMIT").await.unwrap();
        let outcome = running.await;
        assert_eq!(outcome.unwrap(), Outcome::Swapped(Phase::Switched));
        assert!(retried.load(Ordering::SeqCst) >= 1);
    }
}
