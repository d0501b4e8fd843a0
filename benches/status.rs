//! What `status` costs on a large table, next to a plain `count(*)` of the same table.
//!
//! One database (`scripts/start-postgres.sh`, or `VECSYNC_TEST_DATABASE_URL`), one table of
//! `VECSYNC_BENCH_STATUS_ROWS` demo job postings (default 1,000,000; text ~1.4 KB a row),
//! every row embedded by vecsync's own claim → complete with the fake embedder (384-d);
//! then 1% of the rows get a new title through the triggers (queued, stale) and 0.1% lose
//! their vector (missing, unqueued). Then, for `VECSYNC_BENCH_STATUS_ROUNDS` rounds
//! (default 5), in turn:
//!
//! - `SELECT count(*) FROM t` and `SELECT count(*) FROM t WHERE is_active` (the baselines);
//! - `status()`: the queue plus one pass over the table reading whether each embedding is
//!   NULL (`sql/status/rows.sql`, `queued.sql`);
//! - `audit()`: `sql/status/categories.sql`, the query `status()` ran before it was made
//!   cheap (its SELECT is unchanged): every row's text rendered and hashed.
//!
//! Prints the medians (p50) and their ratios to `count(*)`.
//!
//! `cargo bench --bench status`.

use std::sync::Arc;
use std::time::Instant;

use tokio_postgres::Client;
use vecsync::config::Config;
use vecsync::embed::fake::FakeEmbedder;
use vecsync::store::postgres::PostgresStore;
use vecsync::store::{Store, StoreOptions};

#[path = "support/common.rs"]
mod support;
use support::{claim_loops, connect, env_usize, server_url, with_db};

const DIMS: usize = 384;
const CLAIM: usize = 2000;

/// `rows` demo postings in `jobs`, without vectors, generated in slices to bound memory.
async fn load(client: &Client, rows: usize) {
    client
        .batch_execute(&format!(
            "CREATE TABLE jobs (
                id bigint PRIMARY KEY, title text NOT NULL, company text NOT NULL,
                location text NOT NULL, employment_type text NOT NULL, salary text,
                description text NOT NULL, is_active boolean NOT NULL, embedding vector({DIMS}))"
        ))
        .await
        .unwrap();
    let mut first = 0usize;
    while first < rows {
        let n = (rows - first).min(100_000);
        let part = vecsync::demo::generate(n, vecsync::demo::DEFAULT_SEED + first as u64);
        for chunk in part.chunks(5_000) {
            let ids: Vec<i64> = (0..chunk.len()).map(|i| (first + i + 1) as i64).collect();
            let t: Vec<&str> = chunk.iter().map(|p| p.title.as_str()).collect();
            let c: Vec<&str> = chunk.iter().map(|p| p.company.as_str()).collect();
            let l: Vec<&str> = chunk.iter().map(|p| p.location.as_str()).collect();
            let e: Vec<&str> = chunk.iter().map(|p| p.employment_type.as_str()).collect();
            let s: Vec<Option<&str>> = chunk.iter().map(|p| p.salary.as_deref()).collect();
            let d: Vec<&str> = chunk.iter().map(|p| p.description.as_str()).collect();
            let a: Vec<bool> = chunk.iter().map(|p| p.is_active).collect();
            client
                .execute(
                    "INSERT INTO jobs SELECT *, NULL FROM unnest($1::bigint[], $2::text[],
                        $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bool[])",
                    &[&ids, &t, &c, &l, &e, &s, &d, &a],
                )
                .await
                .unwrap();
            first += chunk.len();
        }
    }
}

/// Embeds every row through vecsync's own claim → complete, two loops at once.
async fn embed_all(store: Arc<PostgresStore>, embedder: Arc<FakeEmbedder>) -> u64 {
    store.enqueue_needed().await.unwrap();
    claim_loops(store, embedder, 2, CLAIM).await
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs benches in test mode.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let rows = env_usize("VECSYNC_BENCH_STATUS_ROWS", 1_000_000);
    let rounds = env_usize("VECSYNC_BENCH_STATUS_ROUNDS", 5).max(1);
    let server = server_url();
    let admin = connect(&server).await;
    let db = format!("vecsync_status_bench_{}", std::process::id());
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    let url = with_db(&server, &db);
    let client = connect(&url).await;

    let started = Instant::now();
    load(&client, rows).await;
    eprintln!(
        "loaded {rows} rows in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let mut config = Config {
        database_url: url.clone(),
        ..Config::default()
    };
    config.embedder.provider = "fake".into();
    config.embedder.model = "fake".into();
    config.embedder.dimensions = Some(DIMS);
    config.validate().unwrap();
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
    store.prepare(DIMS).await.unwrap();
    let started = Instant::now();
    let embedder = Arc::new(FakeEmbedder::new(&config.embedder.model_id(), DIMS));
    let written = embed_all(store.clone(), embedder).await;
    eprintln!(
        "embedded {written} rows in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    // 1% stale through the triggers (queued), 0.1% missing behind vecsync's back.
    for sql in [
        "UPDATE jobs SET title = title || ' (updated)' WHERE id % 100 = 0",
        "UPDATE jobs SET embedding = NULL WHERE id % 1000 = 1",
        "VACUUM ANALYZE jobs",
        "VACUUM ANALYZE vecsync.state",
        "VACUUM ANALYZE vecsync.queue",
    ] {
        client.batch_execute(sql).await.unwrap();
    }

    let (mut count, mut filtered, mut cheap, mut audit) = (vec![], vec![], vec![], vec![]);
    let (mut last_cheap, mut last_audit) = (None, None);
    for round in 0..rounds {
        let t = Instant::now();
        let n: i64 = client
            .query_one("SELECT count(*) FROM jobs", &[])
            .await
            .unwrap()
            .get(0);
        count.push(t.elapsed().as_secs_f64());
        assert_eq!(n as usize, rows);
        let t = Instant::now();
        client
            .query_one("SELECT count(*) FROM jobs WHERE is_active", &[])
            .await
            .unwrap();
        filtered.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        last_cheap = Some(store.status().await.unwrap());
        cheap.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        last_audit = Some(store.audit().await.unwrap());
        audit.push(t.elapsed().as_secs_f64());
        eprintln!(
            "round {round}: count {:.3} s, filtered count {:.3} s, status {:.3} s, audit {:.3} s",
            count[round], filtered[round], cheap[round], audit[round]
        );
    }
    let (c, a) = (last_cheap.unwrap(), last_audit.unwrap());
    assert!(!c.audited, "status() audited instead of counting cheaply");
    for s in [&c, &a] {
        println!(
            "{:>6}: total {}, embedded {}, stale {}, missing {}, unqueued {}, done without vector {}",
            if s == &c { "status" } else { "audit" },
            s.total,
            s.embedded,
            s.stale,
            s.missing,
            s.drift.unqueued,
            s.drift.done_without_vector
        );
    }
    let (count, filtered, cheap, audit) = (
        median(count),
        median(filtered),
        median(cheap),
        median(audit),
    );
    println!("p50 over {rounds} rounds on {rows} rows (384-d, ~1.4 KB of text a row):");
    println!("  count(*)                    {:>8.3} s", count);
    println!("  count(*) WHERE is_active    {:>8.3} s", filtered);
    println!(
        "  status()                    {:>8.3} s   {:.2}x count(*), {:.2}x filtered count(*)",
        cheap,
        cheap / count,
        cheap / filtered
    );
    println!(
        "  audit() (status before)     {:>8.3} s   {:.2}x count(*), {:.1}x status()",
        audit,
        audit / count,
        audit / cheap
    );

    drop(client);
    let _ = admin
        .batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .await;
}
