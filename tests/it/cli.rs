//! The `vecsync` binary end to end on SQLite: the demo with the real local model, setup
//! errors (exit 2, one line, no panic), dry runs, and kill -9 in the middle of a backfill.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_vecsync");

fn model_dir() -> String {
    std::env::var("VECSYNC_MODEL_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/models/all-MiniLM-L6-v2").into())
}

pub(crate) fn vecsync(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("VECSYNC_MODEL_DIR", model_dir())
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("run vecsync")
}

pub(crate) fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Starts `vecsync <args>` in `dir` `times` times and SIGKILLs it after
/// `min_ms + (0..spread_ms)` ms each time (a xorshift sequence from `seed`: the same moments
/// on every run).
pub(crate) fn kill_9_repeatedly(
    dir: &Path,
    args: &[&str],
    times: usize,
    mut seed: u64,
    min_ms: u64,
    spread_ms: u64,
) {
    for _ in 0..times {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(dir)
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(min_ms + seed % spread_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
}

pub(crate) fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).expect("JSON output")
}

/// A setup mistake: exit 2, one line on stderr naming `needle`, no panic or backtrace.
pub(crate) fn assert_setup_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(needle), "{stderr:?} should name {needle}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
}

fn write_config(dir: &Path, body: &str) {
    std::fs::write(dir.join("vecsync.toml"), body).unwrap();
}

fn populate(path: &Path, rows: usize) {
    let conn = rusqlite::Connection::open(path).unwrap();
    vecsync::demo::populate_sqlite(&conn, rows, vecsync::demo::DEFAULT_SEED).unwrap();
}

#[test]
fn demo_embeds_everything_and_searches_sensibly() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&vecsync(dir.path(), &["demo", "--rows", "400"]));
    assert!(out.contains("coverage"), "{out}");
    // The example searches run early, once the first tenth is embedded, then over all.
    let early = out.find("(40 of 400 postings embedded so far)");
    let status_at = out.find("coverage");
    let last = out.rfind("(400 of 400 postings embedded)");
    assert!(
        early.is_some() && early < status_at && status_at < last,
        "{out}"
    );
    for (query, _) in vecsync::demo::EXAMPLE_QUERIES {
        let heading = format!("vecsync search {query:?} -k 3");
        assert_eq!(out.matches(&heading).count(), 2, "{out}");
    }

    // Right after the demo, the default config describes its database.
    let status = json(&vecsync(dir.path(), &["status", "--json"]));
    for key in [
        "total", "embedded", "stale", "missing", "failed", "coverage", "model",
    ] {
        assert!(
            status.get(key).is_some(),
            "status --json lacks {key}: {status}"
        );
    }
    assert_eq!(status["total"], 400);
    assert_eq!(status["embedded"], 400);
    assert_eq!(status["coverage"], 1.0);
    assert_eq!(status["model"], "all-MiniLM-L6-v2");

    let postings = vecsync::demo::generate(400, vecsync::demo::DEFAULT_SEED);
    for (query, expect) in [
        ("night shift nurse in a hospital", "nurs"),
        ("truck driver CDL long haul", "driver"),
    ] {
        let hits = json(&vecsync(
            dir.path(),
            &["search", query, "-k", "3", "--json"],
        ));
        let hits = hits.as_array().unwrap();
        assert_eq!(hits.len(), 3);
        let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
        let top: i64 = hits[0]["id"].as_str().unwrap().parse().unwrap();
        let posting = &postings[(top - 1) as usize];
        let text = format!("{} {}", posting.title, posting.description).to_lowercase();
        assert!(text.contains(expect), "{query:?} found {:?}", posting.title);
    }

    // Rerunning the demo re-embeds nothing.
    let again = ok(&vecsync(dir.path(), &["demo", "--rows", "400"]));
    assert!(again.contains("embedded 0 rows"), "{again}");
    assert!(
        !again.contains("postings embedded so far"),
        "no early searches when all is embedded: {again}"
    );
}

/// Ctrl-C while the demo embeds the rest: it stops (no second run starts), still shows
/// status and searches over what is embedded, exits 0, and a rerun finishes the job.
#[test]
fn demo_stops_on_ctrl_c_and_resumes() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["demo", "--rows", "400"])
        .current_dir(dir.path())
        .env("VECSYNC_MODEL_DIR", model_dir())
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut out = String::new();
    while !out.contains("Embedding the rest") {
        let read = stdout.read_line(&mut out).unwrap();
        assert!(read > 0, "the demo ended before embedding the rest: {out}");
    }
    let interrupt = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupt.success());
    std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status:?}\n{out}\n{stderr}");
    assert!(stderr.contains("stopping"), "{stderr}");

    let embedded = json(&vecsync(dir.path(), &["status", "--json"]))["embedded"]
        .as_u64()
        .unwrap();
    assert!((40..400).contains(&embedded), "{embedded} embedded\n{out}");
    let over = format!("({embedded} of 400 postings embedded)");
    assert_eq!(out.matches(&over).count(), 2, "{out}");

    let again = ok(&vecsync(dir.path(), &["demo", "--rows", "400"]));
    assert!(
        again.contains(&format!("embedded {} rows", 400 - embedded)),
        "{again}"
    );
}

#[test]
fn embed_prints_one_vector_per_text() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&vecsync(dir.path(), &["embed", "hello world", "nurse"]));
    let lines: Vec<Vec<f64>> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|v| v.len() == 384));
    let norm: f64 = lines[0].iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4);
}

#[test]
fn embed_json_prints_model_dimensions_and_vector() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "[embedder]\nprovider = \"fake\"\nmodel = \"fake-model\"\ndimensions = 8\n",
    );
    let plain = ok(&vecsync(dir.path(), &["embed", "hello world", "nurse"]));
    let out = ok(&vecsync(
        dir.path(),
        &["embed", "--json", "hello world", "nurse"],
    ));
    let objects: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 2, "{out}");
    for (object, array) in objects.iter().zip(plain.lines()) {
        let keys: Vec<&str> = object
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["dimensions", "model", "vector"], "{object}");
        assert_eq!(object["model"], "fake-model");
        assert_eq!(object["dimensions"], 8);
        let vector: serde_json::Value = serde_json::from_str(array).unwrap();
        assert_eq!(
            object["vector"], vector,
            "the same vector as without --json"
        );
    }
}

#[test]
fn setup_errors_are_one_line_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    populate(&dir.path().join("jobs.db"), 5);
    let base =
        "database_url = \"sqlite://jobs.db\"\n[embedder]\nprovider = \"fake\"\ndimensions = 8\n";

    write_config(dir.path(), "[source\ntable = 1");
    assert_setup_error(&vecsync(dir.path(), &["status"]), "vecsync.toml");

    write_config(dir.path(), &format!("{base}[source]\ntabel = \"jobs\"\n"));
    assert_setup_error(&vecsync(dir.path(), &["status"]), "tabel");

    // A value of the wrong type names its setting and line.
    write_config(
        dir.path(),
        "database_url = \"sqlite://jobs.db\"\n[embedder]\nprovider = \"fake\"\ndimensions = \"16\"\n",
    );
    let out = vecsync(dir.path(), &["status"]);
    assert_setup_error(&out, "embedder.dimensions");
    assert_setup_error(&out, "vecsync.toml:4");
    assert_setup_error(&out, "invalid type");

    write_config(dir.path(), &format!("{base}[source]\ntable = \"nope\"\n"));
    assert_setup_error(&vecsync(dir.path(), &["backfill"]), "source.table");

    write_config(
        dir.path(),
        &format!("{base}[source]\ntemplate = \"{{title}} {{salary_max}}\"\n"),
    );
    assert_setup_error(&vecsync(dir.path(), &["backfill"]), "salary_max");

    write_config(
        dir.path(),
        &format!("{base}[source]\ntable = \"jobs; DROP TABLE jobs\"\n"),
    );
    assert_setup_error(&vecsync(dir.path(), &["backfill"]), "source.table");

    write_config(dir.path(), "[embedder]\nprovider = \"cohere\"\n");
    assert_setup_error(&vecsync(dir.path(), &["backfill"]), "embedder.provider");

    write_config(dir.path(), "[embedder]\nquantize = \"int4\"\n");
    assert_setup_error(&vecsync(dir.path(), &["backfill"]), "embedder.quantize");

    // A model the local embedder cannot run is not recorded as if it had.
    write_config(dir.path(), "[embedder]\nmodel = \"bge-small-en-v1.5\"\n");
    assert_setup_error(&vecsync(dir.path(), &["backfill"]), "embedder.model");

    // A database file that does not exist is not created: only `demo` creates one.
    write_config(dir.path(), &base.replace("jobs.db", "typo.db"));
    for command in [
        &["status"][..],
        &["status", "--json"],
        &["init"],
        &["uninstall"],
        &["backfill"],
        &["backfill", "--dry-run"],
        &["work"],
        &["serve", "--work"],
        &["search", "welder"],
        &["retry-failed"],
        &["reconcile"],
    ] {
        assert_setup_error(&vecsync(dir.path(), command), "database_url");
    }
    assert!(!dir.path().join("typo.db").exists(), "typo.db was created");

    // onnxruntime missing, or not a library: the error names the setting and the fix.
    let not_a_library = dir.path().join("libonnxruntime.so");
    std::fs::write(&not_a_library, "not a library").unwrap();
    for lib in [dir.path().join("nowhere/libonnxruntime.so"), not_a_library] {
        write_config(
            dir.path(),
            &format!(
                "database_url = \"sqlite://jobs.db\"\n[embedder]\nonnxruntime = {:?}\n",
                lib.display().to_string()
            ),
        );
        let out = vecsync(dir.path(), &["backfill"]);
        assert_setup_error(&out, "embedder.onnxruntime");
        assert_setup_error(&out, "scripts/fetch-model.sh");
        assert_setup_error(&out, &lib.display().to_string());
    }

    // The local model missing: the error says which command fetches it.
    std::fs::remove_file(dir.path().join("vecsync.toml")).unwrap();
    let out = Command::new(BIN)
        .args(["--database-url", "sqlite://jobs.db", "backfill"])
        .current_dir(dir.path())
        .env("VECSYNC_MODEL_DIR", dir.path().join("no-model"))
        .output()
        .unwrap();
    assert_setup_error(&out, "fetch-model.sh");

    // Nothing was written by any of the failed runs.
    let conn = rusqlite::Connection::open(dir.path().join("jobs.db")).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM jobs WHERE embedding IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn dry_run_counts_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    populate(&dir.path().join("jobs.db"), 50);
    write_config(
        dir.path(),
        "database_url = \"sqlite://jobs.db\"\n[embedder]\nprovider = \"fake\"\ndimensions = 8\n",
    );
    let out = ok(&vecsync(dir.path(), &["backfill", "--dry-run"]));
    assert!(out.contains("50 rows need work"), "{out}");
    let status = json(&vecsync(dir.path(), &["status", "--json"]));
    assert_eq!(status["embedded"], 0);
    assert_eq!(status["queue"]["pending"], 0, "a dry run queues nothing");
}

/// kill -9 at random moments of a SQLite backfill, ten times: the database stays intact
/// and a final run reaches 100% without redoing finished rows.
#[test]
fn sqlite_backfill_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    populate(&db, 20_000);
    write_config(
        dir.path(),
        "database_url = \"sqlite://jobs.db\"\n[embedder]\nprovider = \"fake\"\ndimensions = 384\n[worker]\nclaim_size = 50\nlease_seconds = 1\n",
    );
    kill_9_repeatedly(dir.path(), &["backfill"], 10, 0x9e3779b97f4a7c15, 50, 250);
    let conn = rusqlite::Connection::open(&db).unwrap();
    // Rows leased by the killed runs come back when their lease runs out: make it run out
    // now (times are Unix seconds) instead of waiting.
    conn.execute(
        "UPDATE vecsync_queue SET locked_until = 0 WHERE locked_until IS NOT NULL",
        [],
    )
    .unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let before: i64 = conn
        .query_row(
            "SELECT count(*) FROM jobs WHERE embedding IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);

    let out = ok(&vecsync(dir.path(), &["backfill"]));
    let status = json(&vecsync(dir.path(), &["status", "--json"]));
    assert_eq!(status["coverage"], 1.0, "{status}");
    assert_eq!(status["embedded"], 20_000);
    assert_eq!(status["drift"]["done_without_vector"], 0);
    // The final run embedded only what the killed runs had not committed.
    let expected = format!("embedded {} rows", 20_000 - before);
    assert!(out.contains(&expected), "{out} (expected {expected})");
}

/// `--limit` is exact even with several batches in flight.
#[test]
fn backfill_limit_is_exact_with_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    populate(&dir.path().join("jobs.db"), 100);
    write_config(
        dir.path(),
        "database_url = \"sqlite://jobs.db\"\n[embedder]\nprovider = \"fake\"\ndimensions = 8\n[worker]\nclaim_size = 25\n",
    );
    let out = ok(&vecsync(
        dir.path(),
        &["backfill", "--limit", "30", "--concurrency", "3"],
    ));
    assert!(out.contains("embedded 30 rows"), "{out}");
    let status = json(&vecsync(dir.path(), &["status", "--json"]));
    assert_eq!(status["embedded"], 30);
}

/// `vecsync status | head -5` and `vecsync embed … | head -1`: when the reader of stdout
/// has gone away, vecsync stops quietly (exit 0, nothing on stderr) instead of panicking
/// with "failed printing to stdout: Broken pipe".
#[test]
fn closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    populate(&dir.path().join("jobs.db"), 5);
    write_config(
        dir.path(),
        "database_url = \"sqlite://jobs.db\"\n[embedder]\nprovider = \"fake\"\ndimensions = 8\n",
    );
    for args in [&["status"][..], &["status", "--json"], &["embed", "a", "b"]] {
        // The reader is closed before vecsync starts, so its first write meets a broken
        // pipe every time (what `head` does after its lines, without the race).
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr, "", "vecsync {args:?}");
        assert_eq!(out.status.code(), Some(0), "vecsync {args:?}: {stderr}");
    }
}

/// A key the provider refuses (401) is a setup mistake: exit 2, one line, the key never
/// shown (the mock echoes it in its error message, as OpenAI does).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_api_key_is_a_setup_error() {
    use crate::mock_openai::{Knobs, MockOpenAi};
    let mock = MockOpenAi::start(Knobs {
        api_key: Some("the-right-key".into()),
        ..Knobs::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &format!(
            "[embedder]\nprovider = \"openai\"\nmodel = \"text-embedding-3-small\"\nbase_url = {:?}\napi_key_env = \"VECSYNC_TEST_WRONG_KEY\"\nmax_retries = 0\n",
            mock.base_url()
        ),
    );
    let wrong_key = "sk-wrong-key-0123456789";
    let out = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || {
            Command::new(BIN)
                .args(["embed", "text"])
                .current_dir(&dir)
                .env("VECSYNC_TEST_WRONG_KEY", wrong_key)
                .env_remove("DATABASE_URL")
                .stdin(Stdio::null())
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert_setup_error(&out, "API key");
    assert!(mock.count_status(401) >= 1, "the provider was asked");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(wrong_key));
}

/// `PGPASSWORD` supplies the password a `database_url` leaves out (as libpq does), and
/// never shows in an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgpassword_is_used_when_the_url_has_none() {
    let db = crate::common::postgres::pg_db(5, 8).await;
    let mut url = url::Url::parse(&db.db.url).unwrap();
    let password = percent_encoding::percent_decode_str(url.password().expect("a password"))
        .decode_utf8()
        .unwrap()
        .into_owned();
    url.set_password(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &format!(
            "database_url = {:?}\n[embedder]\nprovider = \"fake\"\ndimensions = 8\n",
            url.as_str()
        ),
    );
    let vecsync_pg = |args: &[&str], pgpassword: &str| {
        Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .env("PGPASSWORD", pgpassword)
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    ok(&vecsync_pg(&["init"], &password));
    assert_eq!(
        json(&vecsync_pg(&["status", "--json"], &password))["total"],
        5
    );
    let wrong = "wrong-pgpassword-4f1c";
    let out = vecsync_pg(&["status", "--json"], wrong);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("password"), "{stderr}");
    assert!(!stderr.contains(wrong), "{stderr}");
}
