//! What a model migration (`vecsync migrate`, docs/migration.md) costs searches.
//!
//! One PostgreSQL table of demo job postings (`VECSYNC_BENCH_MIGRATE_ROWS`, default
//! 10,000), embedded with the fake model A (384 dimensions) and indexed (`vecsync index`).
//! A loop of searches (`Store::search`, k = 10, through vecsync as `vecsync search` does)
//! runs without pause, first alone for a few seconds (the baseline), then while
//! `vecsync migrate` moves the table to the fake model B (256 dimensions): it embeds every
//! row into the shadow column, builds the HNSW index on it concurrently, and switches. A
//! search that meets the switch gets the "models were switched" error; the loop then
//! resolves the config again (as a restarted `serve` would) and goes on with model B; that
//! search's time includes the resolve. Prints p50 / p99 / max of each phase and the ratios
//! to the baseline, the searches that were refused (fenced), and when each step ran.
//!
//! `cargo bench --bench migrate_switch` (PostgreSQL from `scripts/start-postgres.sh` or
//! `VECSYNC_TEST_DATABASE_URL`).

#[path = "support/common.rs"]
mod support;
use support::server_url;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_postgres::NoTls;
use tokio_util::sync::CancellationToken;
use vecsync::config::{Config, EmbedderConfig};
use vecsync::migrate::{resolve, Event, Migration, Vectorizer};
use vecsync::store::migration::ModelSwitched;

fn fake(model: &str, dims: usize) -> EmbedderConfig {
    EmbedderConfig {
        provider: "fake".into(),
        model: model.into(),
        dimensions: Some(dims),
        ..EmbedderConfig::default()
    }
}

/// Milliseconds: (p50, p99, max).
fn summary(mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99), ms[ms.len() - 1])
}

/// The query's vector with `live`'s model.
async fn embed(live: &Vectorizer, query: &str) -> Vec<f32> {
    let mut out = live.embedder.embed(&[query.to_string()]).await.unwrap();
    out.remove(0).unwrap()
}

/// Searches until `stop`, returning each one's (start, milliseconds, fenced).
async fn search_loop(
    config: Config,
    t0: Instant,
    stop: CancellationToken,
) -> Vec<(f64, f64, bool)> {
    let queries = [
        "remote accounting job",
        "night nurse",
        "rust engineer",
        "welder",
    ];
    let mut live = Vectorizer::live(&resolve(config.clone()).await.unwrap())
        .await
        .unwrap();
    let mut out = Vec::new();
    let mut i = 0;
    while !stop.is_cancelled() {
        let q = queries[i % queries.len()];
        i += 1;
        let start = Instant::now();
        let v = embed(&live, q).await;
        let fenced = match live.store.search(&v, 10).await {
            Ok(hits) => {
                assert!(!hits.is_empty());
                false
            }
            Err(e) if e.downcast_ref::<ModelSwitched>().is_some() => {
                live = Vectorizer::live(&resolve(config.clone()).await.unwrap())
                    .await
                    .unwrap();
                let v = embed(&live, q).await;
                assert!(!live.store.search(&v, 10).await.unwrap().is_empty());
                true
            }
            Err(e) => panic!("search: {e:#}"),
        };
        let ms = start.elapsed().as_secs_f64() * 1e3;
        out.push(((start - t0).as_secs_f64(), ms, fenced));
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rows: usize = std::env::var("VECSYNC_BENCH_MIGRATE_ROWS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(10_000);
    let server = server_url();
    let db = format!("bench_migrate_{}", std::process::id());
    let (admin, conn) = tokio_postgres::connect(&server, NoTls).await.unwrap();
    tokio::spawn(conn);
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    let mut u = url::Url::parse(&server).unwrap();
    u.set_path(&format!("/{db}"));
    let url = u.to_string();
    let (client, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(
            "CREATE EXTENSION IF NOT EXISTS vector;
             CREATE TABLE jobs (id bigint PRIMARY KEY, title text NOT NULL,
                 company text NOT NULL, location text NOT NULL, description text NOT NULL,
                 is_active boolean NOT NULL, embedding vector(384))",
        )
        .await
        .unwrap();
    for p in vecsync::demo::generate(rows, vecsync::demo::DEFAULT_SEED) {
        client
            .execute(
                "INSERT INTO jobs VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &p.id,
                    &p.title,
                    &p.company,
                    &p.location,
                    &p.description,
                    &p.is_active,
                ],
            )
            .await
            .unwrap();
    }

    let mut config = Config {
        database_url: url.clone(),
        ..Config::default()
    };
    config.embedder = fake("fake-a", 384);
    config.validate().unwrap();
    let live = Vectorizer::live(&resolve(config.clone()).await.unwrap())
        .await
        .unwrap();
    live.drain(CancellationToken::new(), |_| {}).await.unwrap();
    vecsync::store::postgres::PostgresStore::connect(
        &url,
        &config.schema,
        &config.source,
        vecsync::store::StoreOptions::from_config(&config),
    )
    .await
    .unwrap()
    .create_hnsw_index()
    .await
    .unwrap();
    client.batch_execute("VACUUM ANALYZE jobs").await.unwrap();
    config.next_embedder = Some(fake("fake-b", 256));
    config.validate().unwrap();

    let t0 = Instant::now();
    let stop = CancellationToken::new();
    let searches = tokio::spawn(search_loop(config.clone(), t0, stop.clone()));
    tokio::time::sleep(Duration::from_secs(5)).await;
    let migrate_start = t0.elapsed().as_secs_f64();
    let steps = Arc::new(Mutex::new(Vec::new()));
    let log = steps.clone();
    let migration = Migration::open(&config).await.unwrap();
    let outcome = migration
        .run(
            true,
            &CancellationToken::new(),
            Arc::new(move |e| {
                if let Event::Step(s) = e {
                    log.lock().unwrap().push((t0.elapsed().as_secs_f64(), s));
                }
            }),
        )
        .await
        .unwrap();
    let migrate_end = t0.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.cancel();
    let searches = searches.await.unwrap();

    println!(
        "{rows} rows, fake model A (384 d) -> fake model B (256 d), HNSW on both; {outcome:?}"
    );
    for (t, s) in steps.lock().unwrap().iter() {
        println!("  {t:7.2} s  {s}");
    }
    println!("  {migrate_end:7.2} s  migrate returned");
    let phase = |from: f64, to: f64| -> Vec<f64> {
        searches
            .iter()
            .filter(|(t, _, _)| *t >= from && *t < to)
            .map(|(_, ms, _)| *ms)
            .collect()
    };
    let (b50, b99, bmax) = summary(phase(0.0, migrate_start));
    let during = phase(migrate_start, migrate_end);
    let n_during = during.len();
    let (d50, d99, dmax) = summary(during);
    let after = phase(migrate_end, f64::MAX);
    let n_after = after.len();
    let (a50, a99, amax) = summary(after);
    let fenced = searches.iter().filter(|s| s.2).count();
    println!("search latency, ms         p50      p99      max   searches");
    println!(
        "before (baseline)     {b50:8.2} {b99:8.2} {bmax:8.2} {:>10}",
        phase(0.0, migrate_start).len()
    );
    println!("during migrate        {d50:8.2} {d99:8.2} {dmax:8.2} {n_during:>10}");
    println!("after the switch      {a50:8.2} {a99:8.2} {amax:8.2} {n_after:>10}");
    println!(
        "ratios to baseline    during: p50 {:.2} p99 {:.2} max {:.2}; after: p50 {:.2} p99 {:.2}",
        d50 / b50,
        d99 / b99,
        dmax / bmax,
        a50 / b50,
        a99 / b99
    );
    println!("searches refused by the fence (then re-resolved): {fenced}; searches that failed: 0");
    // The switch: from the last step before `migrate` returned (the index, or the
    // embedding) to its return; the searches that started in that window.
    let last_step = steps.lock().unwrap().last().map_or(migrate_start, |s| s.0);
    let window = phase(last_step, migrate_end);
    let fenced_ms: Vec<f64> = searches.iter().filter(|s| s.2).map(|s| s.1).collect();
    println!(
        "the switch: {:.0} ms from the last step to migrate's return; {} searches started in it, max {:.2} ms ({:.2} x baseline p99); the fenced search(es) with the re-resolve: {fenced_ms:.2?} ms",
        (migrate_end - last_step) * 1e3,
        window.len(),
        window.iter().cloned().fold(0.0, f64::max),
        window.iter().cloned().fold(0.0, f64::max) / b99,
    );

    drop(client);
    admin
        .batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .await
        .unwrap();
}
