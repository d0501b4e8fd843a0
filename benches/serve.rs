//! `vecsync serve` figures:
//!
//! 1. `/v1/embeddings` throughput against calling the same embedder in-process, over the
//!    same batches, one request at a time: the local model (when its files are there) and
//!    the fake embedder (which isolates the HTTP + JSON cost per request).
//! 2. `/api/search` latency (p50/p99, sequential requests) on SQLite (exact scan) and, when
//!    a test PostgreSQL is available, on PostgreSQL without and with an HNSW index. The
//!    fake embedder embeds the query, so the figures are the server's and the database's.
//!
//! `cargo bench --bench serve`; knobs (env): `VECSYNC_BENCH_TEXTS` (256),
//! `VECSYNC_BENCH_BATCH` (32), `VECSYNC_BENCH_SEARCH_ROWS` (5000),
//! `VECSYNC_BENCH_QUERIES` (300), `VECSYNC_BENCH_PG` (1; 0 skips PostgreSQL).

#[path = "../tests/it/common/mod.rs"]
mod common;

#[path = "support/common.rs"]
mod support;
use support::env_usize;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestDb;
use serde_json::json;
use vecsync::config::{Config, EmbedderConfig};
use vecsync::embed::Embedder;
use vecsync::server::{router, AppState, ServerOptions};

/// Serves `state` on 127.0.0.1:0; returns the base URL.
async fn start(state: AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = state.shutdown_token();
    let app = router(state);
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
    });
    format!("http://{addr}")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap()
}

fn texts(n: usize) -> Vec<String> {
    vecsync::demo::generate(n, 7)
        .iter()
        .map(|p| {
            format!(
                "{} at {}\n{}\n\n{}",
                p.title, p.company, p.location, p.description
            )
        })
        .collect()
}

/// Seconds for all `batches` in-process, and over HTTP with each encoding.
async fn embeddings_round(
    embedder: &Arc<dyn Embedder>,
    base: &str,
    model: &str,
    batches: &[Vec<String>],
) -> (f64, f64, f64) {
    let t = Instant::now();
    for b in batches {
        let r = embedder.embed(b).await.unwrap();
        assert!(r.iter().all(|v| v.is_ok()));
    }
    let direct = t.elapsed().as_secs_f64();
    let client = http();
    let mut over_http = [0.0; 2];
    for (i, format) in ["float", "base64"].iter().enumerate() {
        let t = Instant::now();
        for b in batches {
            let r = client
                .post(format!("{base}/v1/embeddings"))
                .json(&json!({"model": model, "input": b, "encoding_format": format}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["data"].as_array().unwrap().len(), b.len());
        }
        over_http[i] = t.elapsed().as_secs_f64();
    }
    (direct, over_http[0], over_http[1])
}

async fn bench_embeddings(name: &str, config: Config, rounds: usize) {
    let n = env_usize("VECSYNC_BENCH_TEXTS", 256);
    let batch = env_usize("VECSYNC_BENCH_BATCH", 32);
    let state = AppState::open(config.clone(), ServerOptions::default())
        .await
        .unwrap();
    let embedder = state.embedder();
    let base = start(state).await;
    let batches: Vec<Vec<String>> = texts(n).chunks(batch).map(|c| c.to_vec()).collect();
    // Warm-up (model pages, connection pool).
    embeddings_round(&embedder, &base, &config.embedder.model, &batches[..1]).await;
    let mut best = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..rounds {
        let (d, f, b) = embeddings_round(&embedder, &base, &config.embedder.model, &batches).await;
        best = (best.0.min(d), best.1.min(f), best.2.min(b));
    }
    let (d, f, b) = best;
    let reqs = batches.len() as f64;
    println!(
        "/v1/embeddings [{name}] {n} texts in {} requests of {batch}, best of {rounds}:\n  \
         in-process {:>9.1} texts/s\n  \
         HTTP float {:>9.1} texts/s  (x{:.3} time, +{:.2} ms/request)\n  \
         HTTP b64   {:>9.1} texts/s  (x{:.3} time, +{:.2} ms/request)",
        batches.len(),
        n as f64 / d,
        n as f64 / f,
        f / d,
        (f - d) * 1e3 / reqs,
        n as f64 / b,
        b / d,
        (b - d) * 1e3 / reqs,
    );
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Sequential `/api/search` requests; prints p50/p99 in milliseconds.
async fn bench_search(name: &str, state: AppState) {
    let queries = env_usize("VECSYNC_BENCH_QUERIES", 300);
    let base = start(state).await;
    let client = http();
    let words = [
        "nurse",
        "truck driver",
        "accountant remote",
        "chef",
        "rust engineer",
    ];
    let mut lat = Vec::with_capacity(queries);
    for i in 0..queries + 10 {
        let q = format!("{} {i}", words[i % words.len()]);
        let t = Instant::now();
        let r = client
            .get(format!("{base}/api/search"))
            .query(&[("q", q.as_str()), ("k", "10")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let hits: serde_json::Value = r.json().await.unwrap();
        assert_eq!(hits.as_array().unwrap().len(), 10);
        if i >= 10 {
            lat.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "/api/search [{name}] k=10, {queries} sequential queries: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
}

async fn backfilled(config: &Config) {
    let store = vecsync::store::open(config).await.unwrap();
    let embedder = vecsync::embed::from_config(config).unwrap();
    common::backfill_with(store, embedder, config)
        .await
        .unwrap();
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // Fake embedder: what HTTP + JSON cost per request.
    let db = common::sqlite_db_dims(1, 384);
    bench_embeddings("fake, 384 dims", db.config(), 5).await;

    let dir = common::model_dir();
    if dir.join("model.safetensors").exists() {
        let db = common::sqlite_db_dims(1, 384);
        let mut config = db.config();
        config.embedder = EmbedderConfig {
            model_dir: Some(dir),
            ..Default::default()
        };
        bench_embeddings("local all-MiniLM-L6-v2", config, 2).await;
    } else {
        println!("(local model not found: scripts/fetch-model.sh; skipping its figures)");
    }

    let rows = env_usize("VECSYNC_BENCH_SEARCH_ROWS", 5000);
    let db = common::sqlite_db_dims(rows, 384);
    let config = db.config();
    backfilled(&config).await;
    let state = AppState::open(config, ServerOptions::default())
        .await
        .unwrap();
    bench_search(&format!("SQLite exact scan, {rows} rows x 384"), state).await;

    if env_usize("VECSYNC_BENCH_PG", 1) == 1 {
        let pg = common::postgres::pg_db(rows, 384).await;
        let config = pg.pg_config();
        backfilled(&config).await;
        let state = AppState::open(config.clone(), ServerOptions::default())
            .await
            .unwrap();
        bench_search(&format!("PostgreSQL, no index, {rows} rows x 384"), state).await;
        let url = config.database_url.clone();
        let store = vecsync::store::postgres::PostgresStore::connect(
            &url,
            &config.schema,
            &config.source,
            vecsync::store::StoreOptions::from_config(&config),
        )
        .await
        .unwrap();
        store.create_hnsw_index().await.unwrap();
        let state = AppState::open(config, ServerOptions::default())
            .await
            .unwrap();
        bench_search(&format!("PostgreSQL, HNSW, {rows} rows x 384"), state).await;
    }
}
