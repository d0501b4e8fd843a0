//! Write path into PostgreSQL + pgvector: what vecsync's claim → complete costs next to
//! the naive and the ideal way of writing the same vectors.
//!
//! On one database (`scripts/start-postgres.sh`, or `VECSYNC_TEST_DATABASE_URL`), each
//! strategy writes the fake embedder's vectors into its own fresh copy of a table of demo
//! job postings:
//!
//! - (a) one `UPDATE … WHERE id = $1` per row, 50 in flight on one connection;
//! - (b) vecsync: `enqueue_needed`, then 2 concurrent batches of claim → embed (fake) →
//!   guarded `complete` (vector + state + queue in one statement);
//! - (c) the ceiling: `UPDATE … FROM unnest($ids, $vecs)` in 2,000-row batches over 2
//!   connections, no queue, no guard, vectors computed beforehand.
//!
//! Then (b) at 384 dimensions. (`status` on a large table: `benches/status.rs`.)
//!
//! `cargo bench --bench write_path` (env `VECSYNC_BENCH_ROWS`, default 100,000).

#[path = "support/common.rs"]
mod support;
use support::{bench_database, claim_loops, connect, env_usize};

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use tokio_postgres::Client;
use vecsync::config::Config;
use vecsync::embed::fake::FakeEmbedder;
use vecsync::store::postgres::PostgresStore;
use vecsync::store::{Store, StoreOptions};
use vecsync::template::Template;

const CLAIM: usize = 1000;

async fn create_table(client: &Client, name: &str, dims: usize) {
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {name};
             CREATE TABLE {name} (
                id bigint PRIMARY KEY, title text NOT NULL, company text NOT NULL,
                location text NOT NULL, employment_type text NOT NULL, salary text,
                description text NOT NULL, is_active boolean NOT NULL, embedding vector({dims}))"
        ))
        .await
        .unwrap();
}

async fn load(client: &Client, name: &str, postings: &[vecsync::demo::JobPosting]) {
    for chunk in postings.chunks(5_000) {
        let ids: Vec<i64> = chunk.iter().map(|p| p.id).collect();
        let t: Vec<&str> = chunk.iter().map(|p| p.title.as_str()).collect();
        let c: Vec<&str> = chunk.iter().map(|p| p.company.as_str()).collect();
        let l: Vec<&str> = chunk.iter().map(|p| p.location.as_str()).collect();
        let e: Vec<&str> = chunk.iter().map(|p| p.employment_type.as_str()).collect();
        let s: Vec<Option<&str>> = chunk.iter().map(|p| p.salary.as_deref()).collect();
        let d: Vec<&str> = chunk.iter().map(|p| p.description.as_str()).collect();
        let a: Vec<bool> = chunk.iter().map(|p| p.is_active).collect();
        client
            .execute(
                &format!(
                    "INSERT INTO {name} SELECT *, NULL FROM unnest($1::bigint[], $2::text[], $3::text[],
                        $4::text[], $5::text[], $6::text[], $7::text[], $8::bool[])"
                ),
                &[&ids, &t, &c, &l, &e, &s, &d, &a],
            )
            .await
            .unwrap();
    }
    client
        .batch_execute(&format!("VACUUM ANALYZE {name}"))
        .await
        .unwrap();
}

/// The text vecsync renders for a posting (the default template).
fn text_of(template: &Template, p: &vecsync::demo::JobPosting) -> String {
    template.render(|c| match c {
        "title" => Some(p.title.as_str()),
        "company" => Some(p.company.as_str()),
        "location" => Some(p.location.as_str()),
        "description" => Some(p.description.as_str()),
        _ => None,
    })
}

fn config_for(url: &str, table: &str, schema: &str, dims: usize) -> Config {
    let mut config = Config {
        database_url: url.to_string(),
        schema: schema.into(),
        ..Config::default()
    };
    config.source.table = table.into();
    config.embedder.provider = "fake".into();
    config.embedder.model = "fake".into();
    config.embedder.dimensions = Some(dims);
    config.validate().unwrap();
    config
}

/// (b): vecsync's own path, `batches` claim → embed → complete loops at once.
/// Returns (rows written, seconds, seconds spent in enqueue_needed).
async fn vecsync_path(url: &str, table: &str, dims: usize, batches: usize) -> (u64, f64, f64) {
    let config = config_for(url, table, &format!("vecsync_{table}"), dims);
    let store = Arc::new(
        PostgresStore::connect(
            &config.database_url,
            &config.schema,
            &config.source,
            StoreOptions::from_config(&config),
        )
        .await
        .unwrap(),
    );
    store.prepare(dims).await.unwrap();
    let embedder = Arc::new(FakeEmbedder::new(&config.embedder.model_id(), dims));
    let started = Instant::now();
    store.enqueue_needed().await.unwrap();
    let enqueue = started.elapsed().as_secs_f64();
    let written = claim_loops(store, embedder, batches, CLAIM).await;
    (written, started.elapsed().as_secs_f64(), enqueue)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs benches in test mode.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let rows = env_usize("VECSYNC_BENCH_ROWS", 100_000);
    let bench_db = bench_database("write").await;
    let url = bench_db.url.clone();
    let client = connect(&url).await;
    let template = Template::parse(&Config::default().source.template).unwrap();

    eprintln!("generating {rows} postings and their 1536-d vectors…");
    let postings = vecsync::demo::generate(rows, vecsync::demo::DEFAULT_SEED);
    let fake = FakeEmbedder::new("fake:1536", 1536);
    let vectors: Vec<pgvector::Vector> = postings
        .iter()
        .map(|p| pgvector::Vector::from(fake.vector(&text_of(&template, p))))
        .collect();
    for t in ["jobs_a", "jobs_b", "jobs_c"] {
        create_table(&client, t, 1536).await;
        load(&client, t, &postings).await;
    }
    let avg_len = postings
        .iter()
        .map(|p| text_of(&template, p).len())
        .sum::<usize>()
        / rows.max(1);
    eprintln!("loaded 3 × {rows} rows (average text {avg_len} bytes)");

    // (a) one UPDATE per row, 50 in flight on one connection.
    let started = Instant::now();
    let stmt = client
        .prepare("UPDATE jobs_a SET embedding = $1 WHERE id = $2")
        .await
        .unwrap();
    futures::stream::iter(postings.iter().zip(&vectors))
        .map(|(p, v)| {
            let (client, stmt) = (&client, &stmt);
            async move { client.execute(stmt, &[v, &p.id]).await.unwrap() }
        })
        .buffer_unordered(50)
        .for_each(|_| async {})
        .await;
    let a = rows as f64 / started.elapsed().as_secs_f64();
    eprintln!("(a) one UPDATE per row, 50 in flight: {a:.0} rows/s");

    // (c) the ceiling: UPDATE … FROM unnest, 2000 rows per statement, 2 connections.
    let started = Instant::now();
    let batches: Vec<(Vec<i64>, Vec<pgvector::Vector>)> = postings
        .chunks(2000)
        .zip(vectors.chunks(2000))
        .map(|(p, v)| (p.iter().map(|p| p.id).collect(), v.to_vec()))
        .collect();
    let batches = Arc::new(std::sync::Mutex::new(batches));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let batches = batches.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let c = connect(&url).await;
            let stmt = c
                .prepare(
                    "UPDATE jobs_c AS s SET embedding = u.vec
                     FROM unnest($1::bigint[], $2::vector[]) AS u(id, vec) WHERE s.id = u.id",
                )
                .await
                .unwrap();
            loop {
                let next = batches.lock().unwrap().pop();
                let Some((ids, vecs)) = next else { break };
                c.execute(&stmt, &[&ids, &vecs]).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let c = rows as f64 / started.elapsed().as_secs_f64();
    eprintln!("(c) UPDATE … FROM unnest, 2000/statement, 2 connections: {c:.0} rows/s");
    drop(vectors);

    // (b) vecsync end to end.
    let (written, secs, enqueue) = vecsync_path(&url, "jobs_b", 1536, 2).await;
    assert_eq!(written as usize, rows);
    let b = rows as f64 / secs;
    eprintln!(
        "(b) vecsync enqueue + claim → fake embed → complete, 2 batches of {CLAIM}: {b:.0} rows/s \
         (enqueue_needed {enqueue:.2} s of {secs:.2} s)"
    );

    // (b) at 384 dimensions.
    create_table(&client, "jobs_b384", 384).await;
    load(&client, "jobs_b384", &postings).await;
    let (written, secs, _) = vecsync_path(&url, "jobs_b384", 384, 2).await;
    assert_eq!(written as usize, rows);
    let b384 = rows as f64 / secs;
    eprintln!("(b) at 384-d: {b384:.0} rows/s");

    println!("write path, {rows} rows × 1536-d (fake embedder):");
    println!("  (a) one UPDATE per row, 50 in flight     {a:>9.0} rows/s");
    println!("  (b) vecsync claim → complete, 2 batches  {b:>9.0} rows/s");
    println!("  (c) UPDATE … FROM unnest ceiling         {c:>9.0} rows/s");
    println!(
        "  b/c = {:.2}   b/a = {:.1}   (b at 384-d: {b384:.0} rows/s)",
        b / c,
        b / a
    );
    drop(postings);

    drop(client);
    bench_db.drop_now().await;
}
