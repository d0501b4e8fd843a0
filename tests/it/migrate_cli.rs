//! `vecsync migrate` end to end on SQLite: the dry run (rows, tokens, cost, the DDL), the
//! refusal without `--add-column` (exit 2), switch → status → finish with the config's
//! tables in either order, and kill -9 at random moments of a migration; on PostgreSQL,
//! kill -9 (with the HNSW index built before the switch) and `vecsync work` following a
//! switch made by another process.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::cli::{assert_setup_error, json, kill_9_repeatedly, ok, vecsync, BIN};

const A: &str = "[embedder]\nprovider = \"fake\"\nmodel = \"fake-a\"\ndimensions = 8\n";
const B: &str = "[next_embedder]\nprovider = \"fake\"\nmodel = \"fake-b\"\ndimensions = 12\n";

fn write_config(dir: &Path, tables: &str) {
    let body = format!("database_url = \"sqlite://jobs.db\"\n{tables}");
    std::fs::write(dir.join("vecsync.toml"), body).unwrap();
}

fn populate(dir: &Path, rows: usize) {
    let conn = rusqlite::Connection::open(dir.join("jobs.db")).unwrap();
    vecsync::demo::populate_sqlite(&conn, rows, vecsync::demo::DEFAULT_SEED).unwrap();
}

/// (column name) of the jobs table.
fn columns(dir: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(dir.join("jobs.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info('jobs')")
        .unwrap();
    let names = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<Vec<String>>>()
        .unwrap();
    names
}

/// Rows whose `column` holds a vector of `dims` dimensions.
fn vectors_of(dir: &Path, column: &str, dims: usize) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("jobs.db")).unwrap();
    conn.query_row(
        &format!(
            "SELECT count(*) FROM jobs WHERE length({column}) = {}",
            dims * 4
        ),
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn dry_run_shows_rows_tokens_cost_and_every_statement() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 50);
    // An OpenAI-compatible model on a loopback URL: priced, and no key or request needed
    // to count its tokens.
    let next = "[next_embedder]\nprovider = \"openai\"\nmodel = \"text-embedding-3-small\"\ndimensions = 24\nbase_url = \"http://127.0.0.1:9/v1\"\nprice_per_million_tokens = 0.02\ntokens_per_minute = 60000\n";
    write_config(dir.path(), &format!("{A}{next}"));
    ok(&vecsync(dir.path(), &["backfill"]));
    let before = columns(dir.path());

    let out = ok(&vecsync(dir.path(), &["migrate", "--dry-run"]));
    assert!(
        out.contains("fake-a:8 (live, 8 dimensions) -> text-embedding-3-small:24 (24 dimensions"),
        "{out}"
    );
    assert!(out.contains("to embed: 50 rows (0 empty)"), "{out}");
    assert!(out.contains("estimated cost: $0.0"), "{out}");
    assert!(
        out.contains("4.7 KiB of vectors (50 rows x 24 dimensions x 4 bytes)"),
        "{out}"
    );
    assert!(
        out.contains("ALTER TABLE \"jobs\" ADD COLUMN \"embedding_next\" BLOB"),
        "{out}"
    );
    assert!(out.contains("needs --add-column"), "{out}");
    assert!(
        out.contains("ALTER TABLE \"jobs\" RENAME COLUMN \"embedding\" TO \"embedding_prev\""),
        "{out}"
    );
    assert!(
        out.contains("ALTER TABLE \"jobs\" RENAME COLUMN \"embedding_next\" TO \"embedding\""),
        "{out}"
    );
    assert!(
        out.contains("ALTER TABLE \"jobs\" DROP COLUMN \"embedding_prev\""),
        "{out}"
    );

    let plan = json(&vecsync(dir.path(), &["migrate", "--dry-run", "--json"]));
    assert_eq!(plan["embed"]["rows"], 50);
    let tokens = plan["embed"]["tokens"].as_u64().unwrap();
    assert!(tokens > 50 * 20, "{plan}");
    let cost = plan["embed"]["estimated_cost"].as_f64().unwrap();
    assert!((cost - tokens as f64 * 0.02 / 1e6).abs() < 1e-12, "{plan}");
    let eta = plan["eta_seconds"].as_f64().unwrap();
    assert!(
        (eta - tokens as f64 / 1000.0).abs() < 1e-9,
        "60,000 tokens a minute: {plan}"
    );
    // A dry run writes nothing.
    assert_eq!(columns(dir.path()), before);
    let status = json(&vecsync(dir.path(), &["status", "--json"]));
    assert!(status.get("migration").is_none(), "{status}");
}

#[test]
fn migrate_refuses_to_add_the_column_without_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 10);
    write_config(dir.path(), &format!("{A}{B}"));
    ok(&vecsync(dir.path(), &["backfill"]));
    let before = columns(dir.path());
    let out = vecsync(dir.path(), &["migrate"]);
    assert_setup_error(&out, "--add-column");
    assert_setup_error(&out, "\"embedding_next\"");
    assert_eq!(columns(dir.path()), before);

    // Without [next_embedder] there is nothing to migrate to: the error names the table.
    write_config(dir.path(), A);
    assert_setup_error(
        &vecsync(dir.path(), &["migrate", "--add-column"]),
        "next_embedder",
    );
}

#[test]
fn switch_finish_and_the_config_order_rule() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 40);
    write_config(dir.path(), &format!("{A}{B}"));
    ok(&vecsync(dir.path(), &["backfill"]));

    let out = ok(&vecsync(dir.path(), &["migrate", "--add-column"]));
    assert!(out.contains("switched: \"fake-b:12\" is live"), "{out}");
    assert_eq!(vectors_of(dir.path(), "embedding", 12), 40);
    assert_eq!(vectors_of(dir.path(), "embedding_prev", 8), 40);

    // Every command uses the model the store says is live, whatever the tables' order.
    for tables in [format!("{A}{B}"), format!("{}{}", swap(B), swap(A))] {
        write_config(dir.path(), &tables);
        let status = json(&vecsync(dir.path(), &["status", "--json"]));
        assert_eq!(status["model"], "fake-b:12", "{status}");
        assert_eq!(status["embedded"], 40);
        let m = &status["migration"];
        assert_eq!(m["phase"], "switched", "{status}");
        assert_eq!(m["live_model"], "fake-b:12");
        assert_eq!(m["new_model"]["coverage"], 1.0);
        assert_eq!(m["old_model"]["model"], "fake-a:8");
        assert_eq!(m["old_model"]["role"], "prev");
        let hits = json(&vecsync(
            dir.path(),
            &["search", "nurse", "-k", "3", "--json"],
        ));
        assert_eq!(hits.as_array().unwrap().len(), 3);
    }
    // A config that names only the old model is refused, in one line.
    write_config(dir.path(), A);
    assert_setup_error(&vecsync(dir.path(), &["status"]), "embedder.model");
    assert_setup_error(&vecsync(dir.path(), &["search", "nurse"]), "fake-b:12");

    write_config(dir.path(), &format!("{A}{B}"));
    assert_setup_error(&vecsync(dir.path(), &["migrate", "--abort"]), "--abort");
    let out = ok(&vecsync(dir.path(), &["migrate", "--finish"]));
    assert!(
        out.contains("move [next_embedder] into [embedder]"),
        "{out}"
    );
    assert!(!columns(dir.path()).contains(&"embedding_prev".to_string()));
    let status = ok(&vecsync(dir.path(), &["status"]));
    assert!(
        status.contains("move [next_embedder] into [embedder]"),
        "{status}"
    );
    // Once moved, nothing more to say.
    write_config(dir.path(), &swap(B));
    let status = json(&vecsync(dir.path(), &["status", "--json"]));
    assert_eq!(status["model"], "fake-b:12");
    assert_eq!(status["migration"]["phase"], "finished");
    assert!(status["migration"]["hint"].is_null(), "{status}");
}

/// `[next_embedder]` ↔ `[embedder]`.
fn swap(table: &str) -> String {
    if let Some(rest) = table.strip_prefix("[next_embedder]") {
        format!("[embedder]{rest}")
    } else {
        format!("[next_embedder]{}", &table["[embedder]".len()..])
    }
}

/// kill -9 at random moments of `vecsync migrate --add-column` (start, build, index,
/// switch): the database stays intact and a final run switches with every row current.
#[test]
fn migrate_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 8_000);
    write_config(
        dir.path(),
        &format!(
            "{}{}[worker]\nclaim_size = 50\nlease_seconds = 1\n",
            A.replace("dimensions = 8", "dimensions = 64"),
            B.replace("dimensions = 12", "dimensions = 96")
        ),
    );
    ok(&vecsync(dir.path(), &["backfill"]));
    kill_9_repeatedly(
        dir.path(),
        &["migrate", "--add-column"],
        8,
        0x9e3779b97f4a7c15,
        20,
        300,
    );
    let conn = rusqlite::Connection::open(dir.path().join("jobs.db")).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    // Rows leased by the killed runs come back when their lease runs out: now, in either
    // vectorizer's queue (a run that the kills let finish has switched already and says
    // so).
    for queue in ["vecsync_queue", "vecsync_next_queue", "vecsync_prev_queue"] {
        let _ = conn.execute(
            &format!("UPDATE {queue} SET locked_until = 0 WHERE locked_until IS NOT NULL"),
            [],
        );
    }
    drop(conn);
    let out = vecsync(dir.path(), &["migrate", "--add-column"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || stderr.contains("is already live"),
        "{stderr}"
    );
    let status = json(&vecsync(dir.path(), &["status", "--json"]));
    assert_eq!(status["migration"]["phase"], "switched", "{status}");
    assert_eq!(status["model"], "fake-b:96");
    assert_eq!(status["embedded"], 8_000, "{status}");
    assert_eq!(status["drift"]["done_without_vector"], 0);
    assert_eq!(vectors_of(dir.path(), "embedding", 96), 8_000);
    assert_eq!(vectors_of(dir.path(), "embedding_prev", 64), 8_000);
}

/// The vector in `column` of row `id` (PostgreSQL), if any.
async fn pg_vector(
    db: &crate::common::postgres::PgTestDb,
    column: &str,
    id: i64,
) -> Option<Vec<f32>> {
    let text: Option<String> = db
        .client
        .query_one(
            &format!("SELECT {column}::text FROM jobs WHERE id = $1"),
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    text.map(|t| {
        t.trim_matches(['[', ']'])
            .split(',')
            .map(|x| x.parse().unwrap())
            .collect()
    })
}

/// `vecsync work` runs both models during a migration, and when `vecsync migrate` (another
/// process) switches, it carries on with the new roles: a row edited after the switch gets
/// B's vector in the live column and A's in the kept one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_keeps_both_models_current_across_a_switch() {
    use crate::common::TestDb;
    use vecsync::embed::fake::FakeEmbedder;
    let db = crate::common::postgres::pg_db(30, 8).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vecsync.toml"),
        format!(
            "database_url = \"{}\"\n{A}{B}[worker]\npoll_seconds = 1\n",
            db.db.url
        ),
    )
    .unwrap();
    ok(&vecsync(dir.path(), &["backfill"]));
    let log = std::fs::File::create(dir.path().join("work.log")).unwrap();
    let mut work = Command::new(BIN)
        .arg("work")
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let out = ok(&vecsync(dir.path(), &["migrate", "--add-column"]));
    assert!(out.contains("switched"), "{out}");

    db.exec("UPDATE jobs SET title = 'Edited after the switch' WHERE id = 4")
        .await;
    let text = db
        .text("SELECT title || ' at ' || company || E'\\n' || location || E'\\n\\n' || description FROM jobs WHERE id = 4")
        .await;
    let a = FakeEmbedder::new("fake-a:8", 8).vector(&text);
    let b = FakeEmbedder::new("fake-b:12", 12).vector(&text);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let live = pg_vector(&db, "embedding", 4).await;
        let prev = pg_vector(&db, "embedding_prev", 4).await;
        if live.as_ref() == Some(&b) && prev.as_ref() == Some(&a) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "vecsync work did not embed the edited row with both models: {}",
            std::fs::read_to_string(dir.path().join("work.log")).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Command::new("kill")
        .args(["-TERM", &work.id().to_string()])
        .status()
        .unwrap();
    let status = work.wait().unwrap();
    let log = std::fs::read_to_string(dir.path().join("work.log")).unwrap();
    assert!(status.success(), "{log}");
    assert!(log.contains("continuing with \"fake-b:12\" live"), "{log}");
}

/// kill -9 at random moments of `vecsync migrate --add-column` on PostgreSQL, with an
/// HNSW index on the live column (start, build, concurrent index build, switch): a final
/// run switches with every row current, and the new live column has a valid index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_survives_kill_9_on_postgres() {
    let db = crate::common::postgres::pg_db(3_000, 64).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vecsync.toml"),
        format!(
            "database_url = \"{}\"\n{}{}[worker]\nclaim_size = 50\n",
            db.db.url,
            A.replace("dimensions = 8", "dimensions = 64"),
            B.replace("dimensions = 12", "dimensions = 96")
        ),
    )
    .unwrap();
    ok(&vecsync(dir.path(), &["backfill"]));
    ok(&vecsync(dir.path(), &["index"]));
    kill_9_repeatedly(
        dir.path(),
        &["migrate", "--add-column"],
        8,
        0x2545f4914f6cdd1d,
        50,
        600,
    );
    // A killed client's statement may still run on the server: wait until its sessions
    // are gone, then let their leases run out now (in whichever schema holds the next
    // model).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let others: i64 = db
            .client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if others == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{others} sessions stay"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for schema in ["vecsync", "vecsync_next", "vecsync_prev"] {
        let _ = db
            .client
            .batch_execute(&format!(
                "UPDATE {schema}.queue SET locked_until = now() - interval '1 second'
                 WHERE locked_until IS NOT NULL"
            ))
            .await;
    }
    let out = vecsync(dir.path(), &["migrate", "--add-column"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || stderr.contains("is already live"),
        "{stderr}"
    );
    let status = json(&vecsync(dir.path(), &["status", "--json"]));
    assert_eq!(status["migration"]["phase"], "switched", "{status}");
    assert_eq!(status["model"], "fake-b:96");
    assert_eq!(status["embedded"], 3_000, "{status}");
    let count = |sql: &str| {
        let sql = sql.to_string();
        let client = &db.client;
        async move { client.query_one(&sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(
        count("SELECT count(*) FROM jobs WHERE vector_dims(embedding) = 96").await,
        3_000
    );
    assert_eq!(
        count("SELECT count(*) FROM jobs WHERE vector_dims(embedding_prev) = 64").await,
        3_000
    );
    // The live column's index is the one built before the switch, valid, and the only
    // HNSW index on it.
    assert_eq!(
        count(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
             WHERE i.indrelid = 'jobs'::regclass AND a.attname = 'embedding' AND i.indisvalid"
        )
        .await,
        1
    );
}

/// A `serve` started before a switch runs the old model: it stops by itself, with one
/// line and exit 2, rather than answering searches with the fence's error and a status
/// that counts every vector as stale.
#[test]
fn serve_stops_when_migrate_switches_models() {
    let dir = tempfile::tempdir().unwrap();
    populate(dir.path(), 20);
    write_config(dir.path(), &format!("{A}{B}"));
    ok(&vecsync(dir.path(), &["backfill"]));
    let mut serve = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    ok(&vecsync(dir.path(), &["migrate", "--add-column"]));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = serve.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = serve.kill();
            panic!("serve still runs the old model after the switch");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut serve.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("switched models while serve ran"),
        "{stderr}"
    );
}
