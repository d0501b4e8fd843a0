//! vecsync through a connection pooler in transaction mode: a real pgbouncer
//! (`pool_mode = transaction`, no prepared-statement support, like Supabase's port 6543) in
//! front of the test server. Every command runs as its own process, as a user would run
//! them (`init`, `backfill`, `status`, `search`, `work`, `serve`): before vecsync used
//! unnamed statements, the second process failed with `prepared statement "s0" already
//! exists`. The store conformance suite also runs through it
//! (`store_conformance::postgres_via_pgbouncer`). Each test starts its own pgbouncer
//! (`common::pgbouncer`).

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::pgbouncer::Pgbouncer;
use common::postgres::{pg_db, PgTestDb};
use common::{config_dir, TestDb, DIMS};
use tokio_util::sync::CancellationToken;
use vecsync::config::Config;
use vecsync::pipeline::{self, Mode, RunOptions};

const BIN: &str = env!("CARGO_BIN_EXE_vecsync");

/// The test's config (fake embedder, demo table), connecting through the pooler, with many
/// small batches in flight at once (each on a pooled connection of its own).
fn pooled_config(db: &PgTestDb, bouncer: &Pgbouncer, poll_seconds: u64) -> Config {
    let mut config = db.config();
    config.database_url = bouncer.url(&db.db.name);
    config.worker.poll_seconds = poll_seconds;
    config.worker.concurrency = 8;
    config.worker.claim_size = Some(10);
    config
}

fn vecsync(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .env_remove("DATABASE_URL")
        .env_remove("DIRECT_URL")
        .stdin(Stdio::null());
    c
}

fn ok(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(!stderr.contains("prepared statement"), "{stderr}");
    String::from_utf8(out.stdout).unwrap()
}

fn run(dir: &Path, args: &[&str]) -> String {
    ok(vecsync(dir, args).output().unwrap())
}

/// A long-running command with its stderr in `dir/<name>.log`.
fn spawn(dir: &Path, name: &str, args: &[&str]) -> Child {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    vecsync(dir, args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn log(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default()
}

/// SIGTERM, then the exit status (a graceful stop exits 0).
fn stop(mut child: Child) -> std::process::ExitStatus {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    child.wait().unwrap()
}

async fn wait_until(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn insert(db: &PgTestDb, id: i64) {
    db.exec(&format!(
        "INSERT INTO jobs (id, title, company, location, employment_type, description)
         VALUES ({id}, 'Pooler nurse {id}', 'Clinic', 'Lyon', 'full-time', 'Night shifts')"
    ))
    .await;
}

async fn embedded(db: &PgTestDb, id: i64) -> bool {
    db.scalar(&format!(
        "SELECT count(*) FROM jobs WHERE id = {id} AND embedding IS NOT NULL"
    ))
    .await
        == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_works_through_a_transaction_pooler() {
    let db = pg_db(300, DIMS).await;
    let bouncer = Pgbouncer::start();
    let config = pooled_config(&db, &bouncer, 1);
    let dir = config_dir(&config);
    let dir = dir.path();
    run(dir, &["init"]);
    run(dir, &["init"]); // a second process: named statements would collide here
    let out = run(dir, &["backfill"]);
    assert!(out.contains("embedded 300 rows"), "{out}");
    let status: serde_json::Value = serde_json::from_str(&run(dir, &["status", "--json"])).unwrap();
    assert_eq!(
        (status["total"].as_u64(), status["coverage"].as_f64()),
        (Some(300), Some(1.0))
    );
    let hits: serde_json::Value =
        serde_json::from_str(&run(dir, &["search", "nurse", "-k", "3", "--json"])).unwrap();
    assert_eq!(hits.as_array().map(Vec::len), Some(3), "{hits}");
    run(dir, &["reconcile"]);
    run(dir, &["index"]);

    // Two `work` processes (8 workers each) follow inserts; each found out that
    // notifications do not arrive and said so once, with what it costs.
    let workers = [
        spawn(dir, "work-a", &["work"]),
        spawn(dir, "work-b", &["work"]),
    ];
    for name in ["work-a", "work-b"] {
        wait_until(
            &format!("{name} to find that LISTEN cannot work"),
            Duration::from_secs(60),
            async || {
                let log = log(dir, name);
                assert!(!log.contains("error:"), "{name} failed:\n{log}");
                log.contains("polls")
            },
        )
        .await;
    }
    for id in 1001..=1040 {
        insert(&db, id).await;
    }
    wait_until(
        "work to embed the new rows",
        Duration::from_secs(60),
        async || {
            db.scalar("SELECT count(*) FROM jobs WHERE id > 1000 AND embedding IS NOT NULL")
                .await
                == 40
        },
    )
    .await;
    let password = url::Url::parse(&config.database_url)
        .unwrap()
        .password()
        .unwrap()
        .to_string();
    for (name, worker) in ["work-a", "work-b"].into_iter().zip(workers) {
        assert!(stop(worker).success(), "{}", log(dir, name));
        let log = log(dir, name);
        let said: Vec<&str> = log.lines().filter(|l| l.contains("polls")).collect();
        assert_eq!(said.len(), 1, "one line about polling: {log}");
        println!("work through the pooler says: {}", said[0]);
        assert!(said[0].contains("INFO"), "{log}");
        // Decided before any LISTEN: the URL's port is not the server's (a LISTEN through a
        // transaction pooler would stay on a server connection other clients are handed).
        assert!(said[0].contains("a pooler or proxy"), "{log}");
        assert!(said[0].contains("listen_url"), "{log}");
        assert!(!log.contains("prepared statement"), "{log}");
        assert!(!log.contains(&password), "{log}");
    }
    assert_eq!(
        db.scalar("SELECT count(*) FROM jobs WHERE embedding IS NULL")
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_works_through_a_transaction_pooler() {
    let db = pg_db(50, DIMS).await;
    let bouncer = Pgbouncer::start();
    // `pgbouncer=true` (Prisma's flag) says what it is: no LISTEN is even tried.
    let mut config = pooled_config(&db, &bouncer, 1);
    config.database_url.push_str("?pgbouncer=true");
    let dir = config_dir(&config);
    let dir = dir.path();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let server = spawn(dir, "serve", &["serve", "--work", "--bind", &bind]);
    let http = reqwest::Client::new();
    let base = format!("http://{bind}");
    wait_until(
        "the backfill through serve --work",
        Duration::from_secs(60),
        async || match http.get(format!("{base}/api/status")).send().await {
            Ok(r) => r
                .json::<serde_json::Value>()
                .await
                .is_ok_and(|s| s["embedded"] == 50),
            Err(_) => false,
        },
    )
    .await;
    let hits: serde_json::Value = http
        .get(format!("{base}/api/search?q=nurse&k=2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hits.as_array().map(Vec::len), Some(2), "{hits}");
    insert(&db, 2001).await;
    wait_until(
        "serve --work to embed the new row",
        Duration::from_secs(60),
        async || embedded(&db, 2001).await,
    )
    .await;
    assert!(stop(server).success(), "{}", log(dir, "serve"));
    let log = log(dir, "serve");
    assert!(log.contains("pgbouncer=true"), "{log}");
    assert!(!log.contains("prepared statement"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_url_wakes_work_at_once_behind_a_pooler() {
    let db = pg_db(5, DIMS).await;
    let bouncer = Pgbouncer::start();
    // A poll far longer than the bound below: only LISTEN on listen_url can be this quick.
    let mut config = pooled_config(&db, &bouncer, 600);
    config.listen_url = Some(db.db.url.clone());
    let dir = config_dir(&config);
    let dir = dir.path();
    run(dir, &["backfill"]);
    let worker = spawn(dir, "work", &["work"]);
    // Wait until the worker listens (its LISTEN line), then insert.
    wait_until("work to LISTEN", Duration::from_secs(60), async || {
        log(dir, "work").contains("LISTEN on listen_url")
    })
    .await;
    let t = Instant::now();
    insert(&db, 3001).await;
    wait_until("the new row", Duration::from_secs(30), async || {
        embedded(&db, 3001).await
    })
    .await;
    assert!(t.elapsed() < Duration::from_secs(30));
    assert!(stop(worker).success(), "{}", log(dir, "work"));
    assert!(!log(dir, "work").contains("polls"), "{}", log(dir, "work"));
}

/// What the pooler costs: the time from an INSERT's commit to its vector, with `work`
/// woken by LISTEN (direct connection) and polling (through pgbouncer) every second
/// (`VECSYNC_POLL_SECONDS` to change it). Prints p50/p99; asserts only that every row
/// arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_latency_with_and_without_listen() {
    use rand::{Rng, SeedableRng};
    let poll = Duration::from_secs(
        std::env::var("VECSYNC_POLL_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1),
    );
    let samples = 30;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let db = pg_db(10, DIMS).await;
    let bouncer = Pgbouncer::start();
    let mut report = Vec::new();
    for (name, url) in [
        ("LISTEN (direct)", db.db.url.clone()),
        (
            "polling (pgbouncer, transaction mode)",
            bouncer.url(&db.db.name),
        ),
    ] {
        let mut config = db.config();
        config.database_url = url;
        let store = vecsync::store::open(&config).await.unwrap();
        let embedder = common::fake_embedder(&config);
        let options = RunOptions::new(&config, Mode::Follow { poll }, 1);
        let cancel = CancellationToken::new();
        let worker = tokio::spawn(pipeline::run(
            store,
            embedder,
            options,
            cancel.clone(),
            |_| {},
        ));
        let first = 10_000 + report.len() as i64 * 1_000;
        // The first wait sets up (and checks) LISTEN: let it settle.
        insert(&db, first).await;
        wait_until("the first row", Duration::from_secs(60), async || {
            embedded(&db, first).await
        })
        .await;
        let mut latencies = Vec::new();
        for i in 1..=samples {
            // Inserts at random phases of the poll.
            tokio::time::sleep(poll.mul_f64(rng.gen::<f64>())).await;
            let t = Instant::now();
            insert(&db, first + i).await;
            wait_until("a row", Duration::from_secs(60), async || {
                embedded(&db, first + i).await
            })
            .await;
            latencies.push(t.elapsed());
        }
        cancel.cancel();
        worker.await.unwrap().unwrap();
        latencies.sort();
        let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
        report.push(format!(
            "{name}: p50 {:?}, p99 {:?} ({samples} inserts, worker.poll_seconds = {})",
            pct(0.5),
            pct(0.99),
            poll.as_secs()
        ));
    }
    println!(
        "sync latency, INSERT commit to vector:\n  {}",
        report.join("\n  ")
    );
}

/// `vecsync doctor` through the pooler: vecsync works there (the finding is a warning, not
/// a failure), and it says what it costs and how to avoid it; with `listen_url` it is fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_the_transaction_pooler_and_its_cost() {
    let db = pg_db(5, DIMS).await;
    let bouncer = Pgbouncer::start();
    let pooler_finding = |config: &Config| {
        let dir = config_dir(config);
        let out = vecsync(dir.path(), &["doctor", "--json"]).output().unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == "pooler")
            .cloned()
            .unwrap_or_else(|| panic!("no pooler finding: {report}"))
    };
    // Prisma's flag says it is a transaction pooler.
    let mut config = pooled_config(&db, &bouncer, 7);
    config.database_url.push_str("?pgbouncer=true");
    let finding = pooler_finding(&config);
    println!("doctor through pgbouncer: {finding}");
    assert_eq!(finding["level"], "warn", "{finding}");
    let message = finding["message"].as_str().unwrap();
    for needle in [
        "transaction-mode pooler",
        "pgbouncer=true",
        "polls every 7 s",
    ] {
        assert!(
            message.contains(needle),
            "{message:?} should say {needle:?}"
        );
    }
    assert!(finding["fix"].as_str().unwrap().contains("listen_url"));
    // Without the flag: the port in the URL is not the server's.
    let finding = pooler_finding(&pooled_config(&db, &bouncer, 7));
    assert_eq!(finding["level"], "warn", "{finding}");
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("polls every 7 s"),
        "{finding}"
    );
    // With listen_url, nothing to fix.
    config.listen_url = Some(db.db.url.clone());
    let finding = pooler_finding(&config);
    assert_eq!(finding["level"], "ok", "{finding}");
}
