//! Sync latency of `vecsync work`: from another connection's committed INSERT to the
//! row's vector being in the table, p50 / p99 / max over `VECSYNC_BENCH_INSERTS` inserts
//! (default 200), one at a time, each after a random pause of 0–100 ms so that inserts
//! land at every phase of SQLite's 50 ms `PRAGMA data_version` poll.
//!
//! The embedder is the fake one (the model is not under test: add its time for one row).
//! `work` runs with the default settings (`worker.poll_seconds` = 5, the safety net), so
//! a latency under a second can only come from the store's wake-ups: PostgreSQL's
//! LISTEN/NOTIFY, SQLite's data_version poll.
//!
//! - SQLite always (a temporary file of 1,000 demo postings);
//! - PostgreSQL when `VECSYNC_TEST_DATABASE_URL` or `DATABASE_URL` is set (a fresh
//!   database on that server, dropped afterwards), side by side with SQLite;
//! - what one wake-up poll costs on SQLite: `PRAGMA data_version` next to the
//!   alternative, a poll of vecsync's own queue (`SELECT … FROM vecsync_queue`).
//!
//! `cargo bench --bench sync_latency`

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use tokio_postgres::{Client, NoTls};
use tokio_util::sync::CancellationToken;
use vecsync::config::Config;
use vecsync::embed::fake::FakeEmbedder;
use vecsync::pipeline::{self, Mode, RunOptions};

const DIMS: usize = 384;
const ROWS: usize = 1_000;

fn config(database_url: String) -> Config {
    let mut config = Config {
        database_url,
        ..Config::default()
    };
    config.embedder.provider = "fake".into();
    config.embedder.model = "fake".into();
    config.embedder.dimensions = Some(DIMS);
    config.validate().expect("valid config");
    config
}

/// The connection that writes the rows and watches for their vectors.
enum Writer {
    Sqlite(rusqlite::Connection),
    Postgres(Client),
}

impl Writer {
    async fn insert(&self, id: i64) {
        let sql = format!(
            "INSERT INTO jobs (id, title, company, location, employment_type, description)
             VALUES ({id}, 'Night nurse {id}', 'Mercy', 'Boston', 'Full-time', 'ICU nights')"
        );
        match self {
            Writer::Sqlite(c) => c.execute_batch(&sql).expect("insert"),
            Writer::Postgres(c) => c.batch_execute(&sql).await.expect("insert"),
        }
    }

    async fn has_vector(&self, id: i64) -> bool {
        let sql = format!("SELECT count(*) FROM jobs WHERE id = {id} AND embedding IS NOT NULL");
        match self {
            Writer::Sqlite(c) => c.query_row(&sql, [], |r| r.get::<_, i64>(0)).unwrap() == 1,
            Writer::Postgres(c) => c.query_one(&sql, &[]).await.unwrap().get::<_, i64>(0) == 1,
        }
    }
}

/// Backfills the table, runs `work` in the background, and measures each insert's sync.
async fn measure(config: &Config, writer: &Writer, inserts: usize) -> Vec<Duration> {
    let store = vecsync::store::open(config).await.expect("open store");
    let embedder = Arc::new(FakeEmbedder::new(&config.embedder.model_id(), DIMS));
    let drain = RunOptions::new(config, Mode::Drain, 1);
    pipeline::run(
        store.clone(),
        embedder.clone(),
        drain,
        CancellationToken::new(),
        |_| {},
    )
    .await
    .expect("backfill");
    let poll = Duration::from_secs(config.worker.poll_seconds);
    let follow = RunOptions::new(config, Mode::Follow { poll }, 1);
    let cancel = CancellationToken::new();
    let work = tokio::spawn(pipeline::run(
        store,
        embedder,
        follow,
        cancel.clone(),
        |_| {},
    ));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut latencies = Vec::with_capacity(inserts);
    for i in 0..inserts {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..100))).await;
        let id = 1_000_000 + i as i64;
        writer.insert(id).await;
        let committed = Instant::now();
        while !writer.has_vector(id).await {
            assert!(
                committed.elapsed() < Duration::from_secs(30),
                "row {id} not embedded after 30 s"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        latencies.push(committed.elapsed());
    }
    cancel.cancel();
    work.await.expect("join").expect("work");
    latencies.sort();
    latencies
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn report(name: &str, l: &[Duration]) -> (f64, f64) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (p50, p99) = (ms(percentile(l, 0.50)), ms(percentile(l, 0.99)));
    println!(
        "{name:<11} {:>5} inserts   p50 {p50:>7.1} ms   p99 {p99:>7.1} ms   max {:>7.1} ms",
        l.len(),
        ms(*l.last().unwrap())
    );
    (p50, p99)
}

/// Nanoseconds per call of `sql` (returning one integer) on `conn`, over `n` calls.
fn per_call(conn: &rusqlite::Connection, sql: &str, n: u32) -> f64 {
    let mut stmt = conn.prepare(sql).unwrap();
    let started = Instant::now();
    for _ in 0..n {
        let _: i64 = stmt.query_row([], |r| r.get(0)).unwrap();
    }
    started.elapsed().as_nanos() as f64 / n as f64
}

fn poll_cost(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let n = 20_000;
    let version = per_call(&conn, "PRAGMA data_version", n);
    let queue = per_call(
        &conn,
        "SELECT count(*) FROM (SELECT 1 FROM vecsync_queue WHERE status = 'pending' LIMIT 1)",
        n,
    );
    println!(
        "one wake-up poll on SQLite: PRAGMA data_version {:.1} µs, polling vecsync_queue {:.1} µs ({:.1}x); at 20 polls/s: {:.3}% of a core",
        version / 1000.0,
        queue / 1000.0,
        queue / version,
        version * 20.0 / 1e9 * 100.0
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let inserts = std::env::var("VECSYNC_BENCH_INSERTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    vecsync::demo::populate_sqlite(&conn, ROWS, vecsync::demo::DEFAULT_SEED).unwrap();
    conn.busy_timeout(Duration::from_secs(30)).unwrap();
    let sqlite = config(format!("sqlite://{}", path.display()));
    let sqlite_latency = measure(&sqlite, &Writer::Sqlite(conn), inserts).await;
    let (_, sqlite_p99) = report("SQLite", &sqlite_latency);
    poll_cost(&path);

    let url = ["VECSYNC_TEST_DATABASE_URL", "DATABASE_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| u.starts_with("postgres")));
    let Some(url) = url else {
        println!("PostgreSQL: skipped (set VECSYNC_TEST_DATABASE_URL or DATABASE_URL)");
        return;
    };
    let admin = connect(&url).await;
    let name = format!("vecsync_bench_sync_{}", std::process::id());
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let db_url = {
        let mut u = url::Url::parse(&url).unwrap();
        u.set_path(&format!("/{name}"));
        u.to_string()
    };
    let client = connect(&db_url).await;
    client
        .batch_execute(&format!(
            "CREATE EXTENSION IF NOT EXISTS vector;
             CREATE TABLE jobs (
                id bigint PRIMARY KEY, title text NOT NULL, company text NOT NULL,
                location text NOT NULL, employment_type text NOT NULL, salary text,
                description text NOT NULL, is_active boolean NOT NULL DEFAULT true,
                embedding vector({DIMS}));
             INSERT INTO jobs (id, title, company, location, employment_type, description)
             SELECT i, 'Job ' || i, 'Company ' || (i % 97), 'City ' || (i % 13), 'Full-time',
                    'Description of job ' || i
             FROM generate_series(1, {ROWS}) AS i;"
        ))
        .await
        .expect("create jobs");
    let pg_latency = measure(&config(db_url), &Writer::Postgres(client), inserts).await;
    let (_, pg_p99) = report("PostgreSQL", &pg_latency);
    println!("p99 SQLite / PostgreSQL: {:.2}", sqlite_p99 / pg_p99);
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .expect("drop database");
}

async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}
