//! The reliability suite: whatever happens, every row ends embedded from its CURRENT text,
//! or visibly failed with a reason. Real PostgreSQL, real `vecsync` processes, and the
//! hostile OpenAI-compatible mock, all on 127.0.0.1, bounded in time.
//!
//! `VECSYNC_SOAK=1` makes the scenarios longer (more rows, more kills).

use crate::common;
use crate::mock_openai;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::postgres::{pg_db, PgTestDb};
use common::TestDb;
use mock_openai::{Fault, Knobs, MockOpenAi};
use rand::{Rng, SeedableRng};

const BIN: &str = env!("CARGO_BIN_EXE_vecsync");
const DIMS: usize = 16;
const API_KEY: &str = "sk-test-SECRET-abcdef0123456789";

fn soak() -> bool {
    std::env::var("VECSYNC_SOAK").is_ok_and(|v| v == "1")
}

/// A working directory with a vecsync.toml for the mock provider and `db`.
fn workdir(db: &PgTestDb, mock: &MockOpenAi, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "database_url = \"{url}\"\n\
         [embedder]\nprovider = \"openai\"\nmodel = \"mock-embed\"\nbase_url = \"{base}\"\n\
         api_key_env = \"VECSYNC_TEST_API_KEY\"\ndimensions = {DIMS}\n\
         max_inputs_per_request = 64\nmax_concurrency = 4\ntimeout_seconds = 2\nmax_retries = 6\n\
         [worker]\nclaim_size = 64\nlease_seconds = 3\npoll_seconds = 1\nmax_attempts = 5\n{extra}",
        url = db.config().database_url,
        base = mock.base_url(),
    );
    std::fs::write(dir.path().join("vecsync.toml"), config).unwrap();
    dir
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(dir)
        .env("VECSYNC_TEST_API_KEY", API_KEY)
        .env("RUST_LOG", "info")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null());
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().unwrap()
}

fn spawn_worker(dir: &Path, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    command(dir, &["work", "--concurrency", "2"])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Status as the workers see it (same model id as the mock-backed config).
async fn status(db: &PgTestDb) -> vecsync::store::Status {
    let mut config = db.config();
    config.embedder.provider = "openai".into();
    config.embedder.model = "mock-embed".into();
    let store = vecsync::store::open(&config).await.unwrap();
    store.status().await.unwrap()
}

/// Every row's vector equals the mock's vector for the row's current text; returns
/// (current, stale, missing).
async fn audit(db: &PgTestDb) -> (usize, usize, usize) {
    audit_client(&db.client).await
}

async fn audit_client(client: &tokio_postgres::Client) -> (usize, usize, usize) {
    let rows = client
        .query(
            "SELECT title, company, location, description, embedding FROM jobs",
            &[],
        )
        .await
        .unwrap();
    let (mut current, mut stale, mut missing) = (0, 0, 0);
    for r in rows {
        let text = format!(
            "{} at {}\n{}\n\n{}",
            r.get::<_, String>(0),
            r.get::<_, String>(1),
            r.get::<_, String>(2),
            r.get::<_, String>(3)
        );
        match r.get::<_, Option<pgvector::Vector>>(4) {
            None => missing += 1,
            Some(v) => {
                let want = MockOpenAi::vector(&text, DIMS);
                let got = v.to_vec();
                let dot: f32 = want.iter().zip(&got).map(|(a, b)| a * b).sum();
                if dot > 0.9999 {
                    current += 1;
                } else {
                    stale += 1;
                }
            }
        }
    }
    (current, stale, missing)
}

/// No bookkeeping for rows that no longer exist.
async fn orphans(db: &PgTestDb) -> i64 {
    db.scalar(
        "SELECT (SELECT count(*) FROM vecsync.state s WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = s.row_id))
              + (SELECT count(*) FROM vecsync.queue q WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = q.row_id))",
    )
    .await
}

async fn wait_until(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn assert_no_secret(what: &str, text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "{what} leaks a secret: {text}");
    }
}

fn db_password(db: &PgTestDb) -> String {
    url::Url::parse(&db.config().database_url)
        .unwrap()
        .password()
        .expect("the test server uses a password")
        .to_string()
}

/// Scenario 1: three workers, a worker killed with SIGKILL twenty times at random moments
/// and restarted. Nothing is lost, nothing is stale, nothing fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_kill_9_workers() {
    let rows = if soak() { 50_000 } else { 20_000 };
    let kills = if soak() { 60 } else { 20 };
    let db = pg_db(rows, DIMS).await;
    let mock = MockOpenAi::start(Knobs {
        latency: Duration::from_millis(150),
        dims: DIMS,
        ..Knobs::default()
    })
    .await;
    let dir = workdir(&db, &mock, "");
    let log = dir.path().join("workers.log");
    let started = Instant::now();
    let mut workers: Vec<Child> = (0..3).map(|_| spawn_worker(dir.path(), &log)).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..700))).await;
        let i = rng.gen_range(0..workers.len());
        workers[i].kill().unwrap(); // SIGKILL
        workers[i].wait().unwrap();
        workers[i] = spawn_worker(dir.path(), &log);
    }
    wait_until("coverage 100%", Duration::from_secs(240), async || {
        status(&db).await.embedded == rows as u64
    })
    .await;
    let elapsed = started.elapsed();
    // SIGTERM: workers finish what they hold and exit 0.
    for w in &workers {
        sigterm(w);
    }
    for w in &mut workers {
        let code = w.wait().unwrap();
        assert!(code.success(), "worker exited with {code}");
    }
    let s = status(&db).await;
    assert_eq!((s.coverage, s.failed), (1.0, 0));
    assert_eq!(s.drift, Default::default());
    let (current, stale, missing) = audit(&db).await;
    assert_eq!((current, stale, missing), (rows, 0, 0));
    // Only batches in flight at a kill may be embedded twice.
    let embedded_inputs: usize = mock
        .requests()
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.inputs.len())
        .sum();
    let duplicates = embedded_inputs.saturating_sub(rows);
    println!(
        "crash: {kills} kills survived, {rows} rows in {elapsed:.1?}, {duplicates} rows embedded more than once, 0 stale, 0 failed"
    );
    assert!(
        duplicates <= kills * 2 * 64 * 2,
        "{duplicates} duplicates is more than the batches in flight at {kills} kills"
    );
}

/// SIGTERM: the graceful stop.
fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Scenario 3: 30% of requests fail (429 with Retry-After, 500, timeouts, malformed
/// bodies); the backfill still reaches 100%, and Retry-After is honoured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_provider() {
    let rows = 3_000;
    let db = pg_db(rows, DIMS).await;
    let mock = MockOpenAi::start(Knobs {
        latency: Duration::from_millis(20),
        dims: DIMS,
        ..Knobs::default()
    })
    .await;
    // A deterministic sequence where 30% of requests meet one of the faults.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let faults: Vec<Option<Fault>> = (0..2_000)
        .map(|_| {
            if rng.gen_bool(0.7) {
                return None;
            }
            Some(match rng.gen_range(0..4) {
                0 => Fault::RateLimited {
                    retry_after_ms: Some(300),
                    retry_after_s: None,
                },
                1 => Fault::Status(500),
                2 => Fault::Hang(Duration::from_secs(5)),
                _ => Fault::Malformed,
            })
        })
        .collect();
    // The mock takes one fault per request from its queue; a healthy answer is a 0 ms hang.
    mock.set(|k| {
        k.faults = faults
            .into_iter()
            .map(|f| f.unwrap_or(Fault::Hang(Duration::ZERO)))
            .collect()
    });
    let dir = workdir(&db, &mock, "");
    let started = Instant::now();
    let out = run(dir.path(), &["backfill"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = status(&db).await;
    assert_eq!((s.coverage, s.failed), (1.0, 0), "{s:?}");
    assert_eq!(audit(&db).await, (rows, 0, 0));

    // Retry-After: the retry of a request answered 429 comes at least 300 ms later.
    // (Measured per request: another request already on the wire when the 429 arrived may
    // land sooner, and that is not a retry.)
    let log = mock.requests();
    let mut min_gap = Duration::MAX;
    for r in log.iter().filter(|r| r.status == 429) {
        let done = r.done.unwrap_or(r.at);
        let retry = log
            .iter()
            .filter(|n| n.at > done && n.inputs == r.inputs)
            .map(|n| n.at)
            .min();
        if let Some(next) = retry {
            min_gap = min_gap.min(next - done);
        }
    }
    let count = |s: u16| log.iter().filter(|r| r.status == s).count();
    println!(
        "hostile provider: {} requests, {} x 429, {} x 500, finished in {:.1?}, min gap after 429: {min_gap:?}",
        log.len(),
        count(429),
        count(500),
        started.elapsed()
    );
    assert!(count(429) > 0);
    assert!(
        min_gap >= Duration::from_millis(280),
        "Retry-After not honoured: {min_gap:?}"
    );
}

/// Scenario 4: while a backfill runs, another process updates 5,000 texts, deletes 500
/// rows and inserts 500. At the end: nothing stale, no orphans, new rows embedded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers() {
    let rows = 10_000;
    let db = pg_db(rows, DIMS).await;
    let mock = MockOpenAi::start(Knobs {
        latency: Duration::from_millis(40),
        dims: DIMS,
        ..Knobs::default()
    })
    .await;
    let dir = workdir(&db, &mock, "");
    let log = dir.path().join("worker.log");
    let mut worker = spawn_worker(dir.path(), &log);
    let writer = common::postgres::connect(&db.config().database_url).await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let extra = vecsync::demo::generate(rows + 500, 99);
    for i in 0..5_000 {
        let id = rng.gen_range(1..=rows as i64);
        writer
            .execute(
                "UPDATE jobs SET description = description || $2 WHERE id = $1",
                &[&id, &format!(" (edit {i})")],
            )
            .await
            .unwrap();
        if i % 10 == 0 {
            let victim = rng.gen_range(1..=rows as i64);
            writer
                .execute("DELETE FROM jobs WHERE id = $1", &[&victim])
                .await
                .unwrap();
            let p = &extra[rows + i / 10];
            writer
                .execute(
                    "INSERT INTO jobs (id, title, company, location, employment_type, description, is_active)
                     VALUES ($1, $2, $3, $4, $5, $6, true)",
                    &[&(p.id + 100_000), &p.title, &p.company, &p.location, &p.employment_type, &p.description],
                )
                .await
                .unwrap();
        }
    }
    let total = db.scalar("SELECT count(*) FROM jobs").await as u64;
    wait_until("coverage 100%", Duration::from_secs(180), async || {
        let s = status(&db).await;
        s.embedded == total && s.queue.pending + s.queue.leased == 0
    })
    .await;
    sigterm(&worker);
    assert!(worker.wait().unwrap().success());
    let (current, stale, missing) = audit(&db).await;
    let inserted = db
        .scalar("SELECT count(*) FROM jobs WHERE id > 100000")
        .await;
    let inserted_embedded = db
        .scalar("SELECT count(*) FROM jobs WHERE id > 100000 AND embedding IS NOT NULL")
        .await;
    let orphans = orphans(&db).await;
    println!(
        "concurrent writers: {total} rows, {current} current, {stale} stale, {missing} missing, {orphans} orphans, {inserted_embedded}/{inserted} inserted rows embedded"
    );
    assert_eq!((current, stale, missing), (total as usize, 0, 0));
    assert_eq!(orphans, 0);
    assert_eq!(inserted, inserted_embedded);
}

/// Scenario 5: odd and poison input either embeds (truncated where needed) or fails with a
/// stated reason; the rest of the batch is written and `status` lists the failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_and_odd_input() {
    let db = pg_db(100, DIMS).await;
    let huge = "word ".repeat(200_000); // 1 MB
    let odd: Vec<(i64, &str, &str)> = vec![
        (1001, "", ""),                                    // empty
        (1002, "   ", "\n\t  "),                           // whitespace only
        (1003, "Control \u{1}\u{7}\u{1b} chars", "x"),     // control characters
        (1004, "Lone surrogate escape \\ud800", "y"),      // not valid UTF-16, stored as text
        (1005, "Barista ☕🚀👩🏽‍⚕️", "emoji"),                 // emoji
        (1006, "ممرضة ليلية في المستشفى", "עברית"),        // right-to-left
        (1007, "POISON row", "the provider refuses this"), // 400 from the provider
        (1008, "Huge description", huge.as_str()),         // 1 MB
    ];
    for (id, title, description) in &odd {
        db.client
            .execute(
                "INSERT INTO jobs (id, title, company, location, employment_type, description, is_active)
                 VALUES ($1, $2, '', '', 'Full-time', $3, true)",
                &[id, title, description],
            )
            .await
            .unwrap();
    }
    let mock = MockOpenAi::start(Knobs {
        dims: DIMS,
        ..Knobs::default()
    })
    .await;
    let dir = workdir(&db, &mock, "");
    let out = run(dir.path(), &["backfill"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = status(&db).await;
    let reasons: HashMap<String, String> = s
        .failures
        .iter()
        .map(|f| (f.id.clone(), f.reason.clone()))
        .collect();
    println!("poison: {s:#?}");
    assert_eq!(reasons.get("1001").map(String::as_str), Some("empty text"));
    assert_eq!(reasons.get("1002").map(String::as_str), Some("empty text"));
    assert!(reasons["1007"].contains("not allowed"), "{reasons:?}");
    assert_eq!(s.failed, 3, "{reasons:?}");
    assert_eq!(s.embedded, s.total - 3);
    let text = String::from_utf8_lossy(&run(dir.path(), &["status"]).stdout).to_string();
    assert!(text.contains("failed row 1007"), "{text}");
}

/// Scenario 6 (PostgreSQL part) and 7: setup mistakes are one line, exit 2, nothing
/// written; neither the API key nor the database password appears anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_and_secrets() {
    let db = pg_db(20, DIMS).await;
    db.exec("CREATE TABLE texty (id bigint PRIMARY KEY, title text NOT NULL, company text NOT NULL, location text NOT NULL, description text NOT NULL, embedding text)")
        .await;
    db.exec("INSERT INTO texty VALUES (1, 'a', 'b', 'c', 'd', NULL)")
        .await;
    let mock = MockOpenAi::start(Knobs {
        dims: DIMS,
        api_key: Some(API_KEY.into()),
        ..Knobs::default()
    })
    .await;
    let password = db_password(&db);
    let secrets = [API_KEY, password.as_str()];
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "[source]\ntable = \"nope\"\n",
            vec!["backfill"],
            "source.table",
        ),
        (
            "[source]\nembedding_column = \"nope\"\n",
            vec!["backfill"],
            "nope",
        ),
        (
            "[source]\ntemplate = \"{title} {nope}\"\n",
            vec!["backfill"],
            "nope",
        ),
        (
            "[source]\ntable = \"texty\"\n",
            vec!["backfill"],
            "source.embedding_column",
        ),
        (
            "[source]\ntable = \"jobs\\\"; DROP TABLE jobs; --\"\n",
            vec!["backfill"],
            "source.table",
        ),
    ];
    for (extra, args, needle) in cases {
        let dir = workdir(&db, &mock, extra);
        let out = run(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra}: {stderr}");
        assert!(stderr.contains(needle), "{stderr:?} should name {needle}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert_no_secret("error", &stderr, &secrets);
    }
    // Wrong vector dimension: the table is vector(16), the provider makes 32.
    let dir = workdir(&db, &mock, "");
    let toml = std::fs::read_to_string(dir.path().join("vecsync.toml")).unwrap();
    std::fs::write(
        dir.path().join("vecsync.toml"),
        toml.replace("dimensions = 16", "dimensions = 32"),
    )
    .unwrap();
    let out = run(dir.path(), &["backfill"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("32"), "{stderr}");
    // Missing API key (the mock wants one): stops at once, marks nothing failed.
    let dir = workdir(&db, &mock, "");
    let out = command(dir.path(), &["backfill"])
        .env("VECSYNC_TEST_API_KEY", "sk-wrong")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_no_secret("error", &stderr, &["sk-wrong"]);
    // Unreachable provider at start: a setup error naming the setting, quickly.
    let toml = std::fs::read_to_string(dir.path().join("vecsync.toml")).unwrap();
    std::fs::write(
        dir.path().join("vecsync.toml"),
        toml.replace(&mock.base_url(), "http://127.0.0.1:1/v1"),
    )
    .unwrap();
    let started = Instant::now();
    let out = run(dir.path(), &["backfill"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("embedder.base_url"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(30));
    std::fs::write(dir.path().join("vecsync.toml"), toml).unwrap();
    // Unreachable database at start: a clear error without the password.
    let bad_url = db.config().database_url.replace(
        &format!(
            ":{}/",
            url::Url::parse(&db.config().database_url)
                .unwrap()
                .port()
                .unwrap()
        ),
        ":1/",
    );
    let out = command(dir.path(), &["--database-url", &bad_url, "status"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("127.0.0.1"), "{stderr}");
    assert_no_secret("error", &stderr, &secrets);
    assert_eq!(
        db.scalar("SELECT count(*) FROM jobs WHERE embedding IS NOT NULL")
            .await,
        0,
        "nothing was written by the failed runs"
    );
    assert_eq!(
        db.scalar("SELECT count(*) FROM vecsync.queue WHERE status = 'failed'")
            .await,
        0
    );

    // Now a good run with verbose logs: no secret in logs, status or errors.
    let out = run(dir.path(), &["-vv", "backfill"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_secret("stdout", &String::from_utf8_lossy(&out.stdout), &secrets);
    assert_no_secret("logs", &String::from_utf8_lossy(&out.stderr), &secrets);
    for args in [vec!["status"], vec!["status", "--json"], vec!["reconcile"]] {
        let out = run(dir.path(), &args);
        assert!(out.status.success());
        assert_no_secret("status", &String::from_utf8_lossy(&out.stdout), &secrets);
        assert_no_secret("status", &String::from_utf8_lossy(&out.stderr), &secrets);
    }
    // Provider usage is recorded and reported by status.
    let status: serde_json::Value =
        serde_json::from_slice(&run(dir.path(), &["status", "--json"]).stdout).unwrap();
    assert!(status["usage"]["tokens"].as_u64().unwrap() > 0, "{status}");
    assert!(
        status["usage"]["requests"].as_u64().unwrap() > 0,
        "{status}"
    );
    // The key really was sent (so the check above means something).
    assert!(mock
        .requests()
        .iter()
        .any(|r| r.key.as_deref() == Some(API_KEY)));
}

/// A free port for a server that restarts on it: below the kernel's ephemeral range
/// (32768–60999 by default), from which every outgoing connection takes its local port,
/// so none can take it between a stop and a start (the test server's 55432 is in that
/// range, and the port derived from the pid this replaces could be 55432 itself).
fn listen_port() -> u16 {
    let first = 20_000 + (std::process::id() % 5_000) as u16;
    (first..first + 1_000)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("no free port in 1,000 tries")
}

/// A private PostgreSQL (own data directory and port) that a test may restart; stopped
/// when dropped.
struct PrivateServer {
    state: tempfile::TempDir,
    port: u16,
}

impl PrivateServer {
    fn script(&self, name: &str) -> Output {
        Command::new("bash")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/").to_string() + name)
            .env("VECSYNC_PG_STATE_DIR", self.state.path())
            .env("VECSYNC_PG_PORT", self.port.to_string())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn start(&self) -> String {
        let out = self.script("start-postgres.sh");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn stop(&self) {
        let out = self.script("stop-postgres.sh");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = self.script("stop-postgres.sh");
    }
}

/// Scenario 2: PostgreSQL restarts twice during a backfill; the backfill reconnects with
/// backoff, says so, and finishes at 100% with nothing stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_restart_during_backfill() {
    let rows = 4_000;
    let server = PrivateServer {
        state: tempfile::tempdir().unwrap(),
        port: listen_port(),
    };
    let url = server.start();
    let client = common::postgres::connect(&url).await;
    client
        .batch_execute(&common::postgres::jobs_table_sql(DIMS))
        .await
        .unwrap();
    let postings = vecsync::demo::generate(rows, vecsync::demo::DEFAULT_SEED);
    common::postgres::insert_postings(&client, &postings).await;
    drop(client);
    let mock = MockOpenAi::start(Knobs {
        latency: Duration::from_millis(100),
        dims: DIMS,
        ..Knobs::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vecsync.toml"),
        format!(
            "database_url = \"{url}\"\n[embedder]\nprovider = \"openai\"\nmodel = \"mock-embed\"\n\
             base_url = \"{}\"\ndimensions = {DIMS}\nmax_inputs_per_request = 32\n\
             [worker]\nclaim_size = 32\nlease_seconds = 3\n",
            mock.base_url()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let backfill = command(dir.path(), &["backfill"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        server.stop();
        tokio::time::sleep(Duration::from_millis(1000)).await;
        server.start();
    }
    let out = backfill.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("retrying"),
        "no reconnect was logged: {stderr}"
    );
    let password = url::Url::parse(&url)
        .unwrap()
        .password()
        .unwrap()
        .to_string();
    assert_no_secret("logs", &stderr, &[password.as_str()]);
    let client = common::postgres::connect(&url).await;
    let failed: i64 = client
        .query_one(
            "SELECT count(*) FROM vecsync.queue WHERE status = 'failed'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // Every vector belongs to its row's current text.
    let (current, stale, missing) = audit_client(&client).await;
    println!(
        "database restart: 2 restarts survived, {rows} rows in {:.1?}, {missing} missing, {failed} failed, {stale} stale",
        started.elapsed()
    );
    assert_eq!((current, missing, failed, stale), (rows, 0, 0, 0));
}
