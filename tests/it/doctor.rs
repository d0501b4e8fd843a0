//! `vecsync doctor`, and the setup errors it shares with the commands (issue 11, items 2,
//! 3, 4, 6, 8), end to end with the binary against real PostgreSQL + pgvector and SQLite:
//! the exact exit status, and a message that names the object or the setting.
//!
//! The "Supabase-shaped" database: pgvector in an `extensions` schema, a table owned by
//! another role, vecsync installed by that owner, and an application role that connects.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common::bounded;
use crate::common::postgres::{
    admin_from_thread, connect, insert_postings, jobs_table_sql, pg_db, server_url, EmptyDb,
};
use crate::mock_openai::{Knobs, MockOpenAi};
use tokio_postgres::Client;
use vecsync::config::{Config, ConfigError};
use vecsync::store;

/// The binary under test.
fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_vecsync")
}
const DIMS: usize = 16;
const ROWS: usize = 50;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The line of stdout for a check (`ok    pgvector  …`), panicking when absent.
    fn line(&self, level: &str, check: &str) -> &str {
        self.stdout
            .lines()
            .find(|l| {
                l.starts_with(level) && l[level.len()..].split_whitespace().next() == Some(check)
            })
            .unwrap_or_else(|| panic!("no `{level} {check}` line in:\n{}", self.stdout))
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }
}

/// Runs the binary in `dir` (which holds `vecsync.toml`), without the caller's DATABASE_URL.
fn vecsync(dir: &Path, args: &[&str]) -> Run {
    vecsync_env(dir, args, &[])
}

fn vecsync_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run vecsync");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A setup error: exit 2, and one error line (after progress lines, if any) on stderr,
/// naming every `needle`.
fn assert_setup_error(run: &Run, needles: &[&str]) {
    let all = format!("stdout: {}\nstderr: {}", run.stdout, run.stderr);
    assert_eq!(run.code, Some(2), "{all}");
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "one error line: {all}");
    assert_eq!(
        run.stderr.trim_end().lines().last(),
        Some(errors[0]),
        "{all}"
    );
    for n in needles {
        assert!(errors[0].contains(n), "{:?} should name {n:?}", errors[0]);
    }
}

fn assert_ok(run: &Run) {
    assert_eq!(
        run.code,
        Some(0),
        "stdout: {}\nstderr: {}",
        run.stdout,
        run.stderr
    );
}

/// The config the binary reads: the demo table, the fake embedder.
fn toml(url: &str, dims: usize, table: &str) -> String {
    format!(
        "database_url = \"{url}\"\n[source]\ntable = \"{table}\"\nfilter = \"is_active\"\n\
         [embedder]\nprovider = \"fake\"\nmodel = \"fake\"\ndimensions = {dims}\n"
    )
}

fn config(text: &str) -> Config {
    let c = Config::from_toml(text, "test").expect("config");
    c.validate().expect("valid config");
    c
}

/// A directory holding `vecsync.toml` with `text`.
fn config_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vecsync.toml"), text).unwrap();
    dir
}

/// What the catalog holds: relations, triggers, schemas, functions (a dry run or doctor
/// must leave all of them as they were).
async fn catalog(client: &Client) -> (i64, i64, i64, i64) {
    let r = client
        .query_one(
            "SELECT (SELECT count(*) FROM pg_class), (SELECT count(*) FROM pg_trigger),
                    (SELECT count(*) FROM pg_namespace), (SELECT count(*) FROM pg_proc)",
            &[],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1), r.get(2), r.get(3))
}

async fn scalar(client: &Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .get(0)
}

/// Roles made for one test; dropped when this is dropped (after the test's database, which
/// must go first: a role with privileges in a database cannot be dropped).
struct Roles {
    names: Vec<String>,
}

impl Roles {
    async fn create(admin: &Client, kinds: &[&str]) -> Roles {
        static N: AtomicU64 = AtomicU64::new(0);
        let mut names = Vec::new();
        for kind in kinds {
            let name = format!(
                "vecsync_test_{kind}_{}_{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            );
            admin
                .batch_execute(&format!(
                    "DROP ROLE IF EXISTS {name}; CREATE ROLE {name} LOGIN PASSWORD 'pw-{name}'"
                ))
                .await
                .unwrap_or_else(|e| panic!("create role: {e:?}"));
            names.push(name);
        }
        Roles { names }
    }
}

impl Drop for Roles {
    fn drop(&mut self) {
        let drop_roles = self
            .names
            .iter()
            .map(|name| format!("DROP ROLE IF EXISTS {name}"))
            .collect();
        admin_from_thread(&server_url(), drop_roles);
    }
}

/// `url` connecting as `role` (password `pw-<role>`).
fn url_as(url: &str, role: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    u.set_username(role).unwrap();
    u.set_password(Some(&format!("pw-{role}"))).unwrap();
    u.to_string()
}

/// A Supabase-shaped database, broken the way new users break it: pgvector in
/// `extensions`, `public.jobs` owned by the admin, who ran `vecsync init`; the application
/// role `app` may read the table and use vecsync's schema but not UPDATE the embedding;
/// row-level security is on with no policy; `writer` (like `authenticated`) may write the
/// table but cannot reach vecsync's schema, which the triggers need.
struct Supabase {
    // Dropped in this order: the database, then the roles.
    db: EmptyDb,
    admin: Client,
    app: String,
    writer: String,
    /// `vecsync.toml` connecting as `app`.
    dir: tempfile::TempDir,
    _roles: Roles,
}

async fn supabase_shaped() -> Supabase {
    let db = EmptyDb::create_without_pgvector().await;
    let admin = connect(&db.url).await;
    admin
        .batch_execute(&format!(
            "CREATE SCHEMA extensions;
             CREATE EXTENSION vector WITH SCHEMA extensions;
             SET search_path = public, extensions;
             {};",
            jobs_table_sql(DIMS)
        ))
        .await
        .unwrap();
    insert_postings(&admin, &vecsync::demo::generate(ROWS, 7)).await;
    let roles = Roles::create(&admin, &["app", "writer"]).await;
    let (app, writer) = (roles.names[0].clone(), roles.names[1].clone());
    // The owner installs vecsync (superuser here; the owner of the table on Supabase).
    let owner = config(&toml(&db.url, DIMS, "public.jobs"));
    store::open(&owner).await.unwrap().init().await.unwrap();
    admin
        .batch_execute(&format!(
            "GRANT USAGE ON SCHEMA extensions TO {app}, {writer};
             GRANT SELECT ON public.jobs TO {app};
             GRANT SELECT, INSERT, UPDATE ON public.jobs TO {writer};
             GRANT USAGE ON SCHEMA vecsync TO {app};
             GRANT SELECT, INSERT, UPDATE, DELETE ON vecsync.queue, vecsync.state TO {app};
             GRANT SELECT, INSERT, DELETE ON vecsync.row_counts, vecsync.completions TO {app};
             GRANT SELECT ON vecsync.meta, vecsync.migrations, vecsync.vectorizer TO {app};
             GRANT UPDATE (audited_at, queue_complete_for, healed_at) ON vecsync.meta TO {app};
             GRANT SELECT, INSERT ON vecsync.usage TO {app};
             ALTER TABLE public.jobs ENABLE ROW LEVEL SECURITY;"
        ))
        .await
        .unwrap();
    let dir = config_dir(&toml(&url_as(&db.url, &app), DIMS, "public.jobs"));
    Supabase {
        db,
        admin,
        app,
        writer,
        dir,
        _roles: roles,
    }
}

impl Supabase {
    /// What `doctor` says to do about the broken setup.
    async fn fix(&self) {
        let (app, writer) = (&self.app, &self.writer);
        self.admin
            .batch_execute(&format!(
                "GRANT UPDATE (embedding) ON public.jobs TO {app};
                 CREATE POLICY vecsync_all ON public.jobs FOR ALL TO {app} USING (true) WITH CHECK (true);
                 CREATE POLICY writer_all ON public.jobs FOR ALL TO {writer} USING (true) WITH CHECK (true);"
            ))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_on_a_broken_then_fixed_supabase_shaped_database() {
    bounded(async {
        let s = supabase_shaped().await;
        let before = catalog(&s.admin).await;
        let run = vecsync(s.dir.path(), &["doctor"]);
        eprintln!("--- doctor on the broken database ---\n{}", run.stdout);
        assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.is_empty(), "{}", run.stderr);
        assert!(run
            .line("ok", "pgvector")
            .contains("in schema \"extensions\""));
        let work = run.line("FAIL", "privileges.backfill/work");
        assert!(
            work.contains("vecsync needs UPDATE (embedding) on public.jobs (for backfill/work)"),
            "{work}"
        );
        assert!(
            work.contains(&format!(
                "GRANT UPDATE (embedding) ON public.jobs TO {}",
                s.app
            )),
            "{work}"
        );
        let rls = run.line("FAIL", "row_security");
        assert!(
            rls.contains(&format!(
                "row-level security on public.jobs hides rows from role {:?}",
                s.app
            )),
            "{rls}"
        );
        assert!(
            rls.contains("BYPASSRLS") && rls.contains("CREATE POLICY"),
            "{rls}"
        );
        // The writer has no right on vecsync's schema, and needs none: the triggers are
        // SECURITY DEFINER (app_roles is only checked for triggers of an older vecsync).
        assert!(!run.stdout.contains("app_roles"), "{}", run.stdout);
        let uninstall = run.line("warn", "privileges.uninstall");
        assert!(
            uninstall.contains("ownership of table public.jobs"),
            "{uninstall}"
        );
        run.line("ok", "privileges.status");
        run.line("ok", "privileges.search");
        run.line("ok", "triggers");
        assert!(
            run.stdout.ends_with("2 problem(s) to fix, 1 warning(s)\n"),
            "{}",
            run.stdout
        );

        let json = vecsync(s.dir.path(), &["doctor", "--json"]);
        assert_eq!(json.code, Some(1));
        let v = json.json();
        assert_eq!(v["ok"], false);
        let failing: Vec<&str> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["level"] == "fail")
            .map(|f| f["check"].as_str().unwrap())
            .collect();
        assert_eq!(failing, ["row_security", "privileges.backfill/work"]);
        assert_eq!(catalog(&s.admin).await, before, "doctor wrote nothing");

        s.fix().await;
        let run = vecsync(s.dir.path(), &["doctor"]);
        eprintln!("--- doctor after the fixes ---\n{}", run.stdout);
        assert_ok(&run);
        assert!(run
            .line("ok", "row_security")
            .contains("a policy lets the role see and update every row"));
        assert_ok(&vecsync(s.dir.path(), &["backfill"]));
        let status = vecsync(s.dir.path(), &["status", "--json"]);
        assert_ok(&status);
        assert_eq!(status.json()["coverage"], 1.0);
        assert_eq!(
            scalar(&s.admin, "SELECT count(*) FROM vecsync.queue").await,
            0
        );
        // The writer's edits go through vecsync's triggers, with no grant on its schema.
        s.admin
            .batch_execute(&format!(
                "SET ROLE {}; UPDATE public.jobs SET title = title || ' (edited)'
                 WHERE id = (SELECT min(id) FROM public.jobs WHERE is_active); RESET ROLE;",
                s.writer
            ))
            .await
            .unwrap();
        assert_eq!(
            scalar(&s.admin, "SELECT count(*) FROM vecsync.queue").await,
            1
        );
        drop(s.db);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_on_a_healthy_database_exits_0() {
    bounded(async {
        let db = pg_db(ROWS, DIMS).await;
        let dir = config_dir(&toml(&db.db.url, DIMS, "jobs"));
        assert_ok(&vecsync(dir.path(), &["backfill"]));
        let before = catalog(&db.client).await;
        let run = vecsync(dir.path(), &["doctor"]);
        eprintln!("--- doctor on a healthy database ---\n{}", run.stdout);
        assert_ok(&run);
        assert!(run.stdout.ends_with("all good\n"), "{}", run.stdout);
        assert!(run
            .line("ok", "triggers")
            .contains("matching the template, filter and columns"));
        assert!(run.line("ok", "queue").contains("0 pending"));
        assert!(run.line("ok", "pooler").contains("direct connection"));
        let v = vecsync(dir.path(), &["doctor", "--json"]).json();
        assert_eq!(v["ok"], true);
        assert!(v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["level"] == "ok"));
        assert_eq!(catalog(&db.client).await, before, "doctor wrote nothing");

        // Drift: a config whose template no longer matches the installed triggers.
        let drifted = toml(&db.db.url, DIMS, "jobs")
            .replace("[source]\n", "[source]\ntemplate = \"{title}\"\n");
        std::fs::write(dir.path().join("vecsync.toml"), drifted).unwrap();
        let run = vecsync(dir.path(), &["doctor"]);
        assert_eq!(run.code, Some(1), "{}", run.stdout);
        let triggers = run.line("FAIL", "triggers");
        assert!(
            triggers.contains("do not match the config: source.template was"),
            "{triggers}"
        );

        // A wrong password: one finding, the password hidden.
        let mut wrong = url::Url::parse(&db.db.url).unwrap();
        wrong.set_password(Some("not-the-password-42")).unwrap();
        std::fs::write(
            dir.path().join("vecsync.toml"),
            toml(wrong.as_str(), DIMS, "jobs"),
        )
        .unwrap();
        let run = vecsync(dir.path(), &["doctor"]);
        assert_eq!(run.code, Some(1), "{}", run.stdout);
        assert!(run
            .line("FAIL", "connection")
            .contains("password authentication failed"));
        assert!(
            !run.stdout.contains("not-the-password-42"),
            "{}",
            run.stdout
        );
    })
    .await;
}

/// Item 2: the missing privilege is named, at once, with exit 2, not blamed on the filter
/// nor retried as an outage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_privilege_is_named_at_once() {
    bounded(async {
        let s = supabase_shaped().await;
        s.admin
            .batch_execute("ALTER TABLE public.jobs DISABLE ROW LEVEL SECURITY")
            .await
            .unwrap();
        let started = Instant::now();
        let run = vecsync(s.dir.path(), &["backfill"]);
        assert_setup_error(
            &run,
            &[
                "vecsync needs UPDATE (embedding) on public.jobs",
                &format!("GRANT UPDATE (embedding) ON public.jobs TO {}", s.app),
            ],
        );
        assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());

        // With only the grants the old docs listed (TRIGGER, CREATE on the database), the
        // table's columns are named, not the filter.
        let db = pg_db(20, DIMS).await;
        let roles = Roles::create(&db.client, &["trig"]).await;
        let role = &roles.names[0];
        db.client
            .batch_execute(&format!(
                "GRANT TRIGGER ON jobs TO {role}; GRANT CREATE ON DATABASE \"{}\" TO {role};",
                db.db.name
            ))
            .await
            .unwrap();
        let dir = config_dir(&toml(&url_as(&db.db.url, role), DIMS, "jobs"));
        let run = vecsync(dir.path(), &["backfill"]);
        assert_setup_error(
            &run,
            &["vecsync needs SELECT (id, embedding, title, company, location, description, is_active) on public.jobs, UPDATE (embedding) on public.jobs"],
        );
        assert!(!run.stderr.contains("source.filter"), "{}", run.stderr);

        // A grant revoked while running: the statement's permission error names it.
        s.admin
            .batch_execute(&format!("GRANT UPDATE (embedding) ON public.jobs TO {}", s.app))
            .await
            .unwrap();
        let cfg = config(&toml(&url_as(&s.db.url, &s.app), DIMS, "public.jobs"));
        let app = store::open(&cfg).await.unwrap();
        app.prepare(DIMS).await.unwrap();
        app.enqueue_needed().await.unwrap();
        let rows = app.claim(5, Duration::from_secs(60)).await.unwrap();
        assert_eq!(rows.len(), 5);
        s.admin
            .batch_execute(&format!("REVOKE UPDATE (embedding) ON public.jobs FROM {}", s.app))
            .await
            .unwrap();
        let embedder = vecsync::embed::fake::FakeEmbedder::new("fake:16", DIMS);
        let done: Vec<_> = rows
            .iter()
            .map(|r| vecsync::store::Completion {
                id: r.id.clone(),
                text_hash: vecsync::template::text_hash(&r.text),
                vector: std::sync::Arc::new(embedder.vector(&r.text)),
            })
            .collect();
        let err = app.complete(&done, &[]).await.unwrap_err();
        let msg = err
            .downcast_ref::<ConfigError>()
            .unwrap_or_else(|| panic!("not a setup error: {err:#}"))
            .to_string();
        assert!(msg.contains("vecsync needs UPDATE (embedding) on public.jobs"), "{msg}");
        drop(app);
        drop(db);
        drop(roles);
    })
    .await;
}

/// Item 3: `status` never prints a coverage that row-level security hid from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_refuses_rows_hidden_by_row_security() {
    bounded(async {
        let s = supabase_shaped().await;
        s.admin
            .batch_execute(&format!(
                "GRANT UPDATE (embedding) ON public.jobs TO {}",
                s.app
            ))
            .await
            .unwrap();
        let run = vecsync(s.dir.path(), &["status", "--json"]);
        assert_setup_error(
            &run,
            &[
                &format!(
                    "row-level security on public.jobs hides rows from role {:?}",
                    s.app
                ),
                "FOR SELECT",
            ],
        );
        assert!(run.stdout.is_empty(), "no coverage printed: {}", run.stdout);
        let run = vecsync(s.dir.path(), &["backfill"]);
        assert_setup_error(&run, &["row-level security", "see and update every row"]);

        // A policy that shows every row: the real counts.
        s.admin
            .batch_execute(&format!(
                "CREATE POLICY read_all ON public.jobs FOR SELECT TO {} USING (true)",
                s.app
            ))
            .await
            .unwrap();
        let run = vecsync(s.dir.path(), &["status", "--json"]);
        assert_ok(&run);
        let v = run.json();
        let active = scalar(&s.admin, "SELECT count(*) FROM public.jobs WHERE is_active").await;
        assert_eq!(v["total"], active);
        assert_eq!(v["coverage"], 0.0);
        // Reading is not enough for backfill: it updates.
        assert_setup_error(&vecsync(s.dir.path(), &["backfill"]), &["see and update"]);
        s.admin
            .batch_execute(&format!(
                "CREATE POLICY write_all ON public.jobs FOR UPDATE TO {} USING (true)",
                s.app
            ))
            .await
            .unwrap();
        assert_ok(&vecsync(s.dir.path(), &["backfill"]));
        assert_eq!(
            vecsync(s.dir.path(), &["status", "--json"]).json()["coverage"],
            1.0
        );
    })
    .await;
}

/// Item 4: a provider that ignores `dimensions` stops the run at its first answer: one line
/// naming embedder.dimensions, a non-zero exit, rows released without an attempt counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_ignores_dimensions_stops_the_run() {
    bounded(async {
        let mock = MockOpenAi::start(Knobs {
            ignore_dimensions: true,
            dims: 48,
            ..Knobs::default()
        })
        .await;
        let pg = pg_db(30, DIMS).await;
        let sqlite = tempfile::tempdir().unwrap();
        let file = sqlite.path().join("jobs.db");
        let conn = rusqlite::Connection::open(&file).unwrap();
        vecsync::demo::populate_sqlite(&conn, 30, 7).unwrap();
        let openai = |url: &str| {
            format!(
                "database_url = \"{url}\"\n[embedder]\nprovider = \"openai\"\n\
                 model = \"text-embedding-3-small\"\ndimensions = {DIMS}\nbase_url = \"{}\"\n\
                 api_key_env = \"VECSYNC_TEST_DOCTOR_KEY\"\n",
                mock.base_url()
            )
        };
        let key = [("VECSYNC_TEST_DOCTOR_KEY", "sk-test-doctor")];
        for (url, queue) in [
            (pg.db.url.clone(), "vecsync.queue"),
            (format!("sqlite://{}", file.display()), "vecsync_queue"),
        ] {
            mock.reset_log();
            let dir = config_dir(&openai(&url));
            let run = vecsync_env(dir.path(), &["backfill"], &key);
            assert_setup_error(&run, &["embedder.dimensions", "48-dimension vectors", "but 16 were asked for"]);
            assert_eq!(mock.request_count(), 1, "stopped at the first answer");
            let status = vecsync(dir.path(), &["status", "--json"]).json();
            assert_eq!(status["embedded"], 0);
            assert_eq!(status["queue"]["leased"], 0, "rows released");
            assert_eq!(status["queue"]["failed"], 0);
            let (rows, touched) = if queue.starts_with("vecsync.") {
                let q = format!("SELECT count(*), count(*) FILTER (WHERE attempts > 0 OR locked_until IS NOT NULL OR last_error IS NOT NULL) FROM {queue}");
                let r = pg.client.query_one(&q, &[]).await.unwrap();
                (r.get::<_, i64>(0), r.get::<_, i64>(1))
            } else {
                let q = format!("SELECT count(*), count(*) FILTER (WHERE attempts > 0 OR locked_until IS NOT NULL OR last_error IS NOT NULL) FROM {queue}");
                conn.query_row(&q, [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap()
            };
            assert!(rows > 0);
            assert_eq!(touched, 0, "no attempt counted, no lease left");

            // doctor says the same.
            let run = vecsync_env(dir.path(), &["doctor"], &key);
            assert_eq!(run.code, Some(1), "{}", run.stdout);
            assert!(run.line("FAIL", "provider").contains("embedder.dimensions"), "{}", run.stdout);
        }
    })
    .await;
}

/// Item 6: a dry run changes nothing anywhere, before and after `init`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_change_nothing() {
    bounded(async {
        let db = pg_db(20, DIMS).await;
        let dir = config_dir(&toml(&db.db.url, DIMS, "jobs"));
        let before = catalog(&db.client).await;
        let run = vecsync(dir.path(), &["backfill", "--dry-run"]);
        assert_ok(&run);
        let active = scalar(&db.client, "SELECT count(*) FROM jobs WHERE is_active").await;
        assert!(
            run.stdout.contains(&format!("{active} rows need work")),
            "{}",
            run.stdout
        );
        assert_eq!(
            catalog(&db.client).await,
            before,
            "no schema, table, trigger or function"
        );

        assert_ok(&vecsync(dir.path(), &["backfill", "--limit", "5"]));
        let queue = "SELECT count(*) + coalesce(sum(attempts), 0) FROM vecsync.queue";
        let (catalog_before, queue_before) =
            (catalog(&db.client).await, scalar(&db.client, queue).await);
        let run = vecsync(dir.path(), &["backfill", "--dry-run"]);
        assert_ok(&run);
        assert!(
            run.stdout
                .contains(&format!("{} rows need work", active - 5)),
            "{}",
            run.stdout
        );
        assert_eq!(catalog(&db.client).await, catalog_before);
        assert_eq!(scalar(&db.client, queue).await, queue_before);

        // SQLite: no table of vecsync's appears.
        let sqlite = tempfile::tempdir().unwrap();
        let file = sqlite.path().join("jobs.db");
        let conn = rusqlite::Connection::open(&file).unwrap();
        vecsync::demo::populate_sqlite(&conn, 20, 7).unwrap();
        let master = || -> String {
            conn.query_row(
                "SELECT group_concat(type || ':' || name, ',') FROM sqlite_master",
                [],
                |r| r.get(0),
            )
            .unwrap()
        };
        let before = master();
        let dir = config_dir(&toml(&format!("sqlite://{}", file.display()), DIMS, "jobs"));
        let run = vecsync(dir.path(), &["backfill", "--dry-run"]);
        assert_ok(&run);
        assert!(run.stdout.contains("rows need work"), "{}", run.stdout);
        assert_eq!(master(), before);
        assert!(!before.contains("vecsync_"), "{before}");
    })
    .await;
}

/// Item 8: hints where the fix is known.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hints_for_hnsw_limits_untyped_columns_and_mixed_sizes() {
    bounded(async {
        // More than 2,000 dimensions: HNSW refuses them.
        let big = pg_db(5, 2048).await;
        let dir = config_dir(&toml(&big.db.url, 2048, "jobs"));
        assert_setup_error(
            &vecsync(dir.path(), &["index"]),
            &["2000", "vector(2048)", "embedder.dimensions", "halfvec"],
        );

        // An untyped vector column: say which dimension to give it.
        let db = pg_db(ROWS, DIMS).await;
        db.client
            .batch_execute("ALTER TABLE jobs ALTER COLUMN embedding TYPE vector")
            .await
            .unwrap();
        let dir = config_dir(&toml(&db.db.url, DIMS, "jobs"));
        assert_ok(&vecsync(dir.path(), &["backfill"]));
        let index = vecsync(dir.path(), &["index"]);
        let fix = "ALTER TABLE \"jobs\" ALTER COLUMN \"embedding\" TYPE public.vector(16)";
        assert_setup_error(&index, &["without a dimension", fix]);
        let doctor = vecsync(dir.path(), &["doctor"]);
        let line = doctor.line("warn", "source.embedding_column");
        assert!(
            line.contains("vector without a dimension")
                && line.ends_with(
                    "ALTER TABLE \"public\".\"jobs\" ALTER COLUMN \"embedding\" TYPE public.vector(16)"
                ),
            "{line}"
        );
        // The fix is SQL that works as printed (tried, then rolled back: the column stays
        // untyped for what follows).
        db.client
            .batch_execute(&format!("BEGIN; {fix}; ROLLBACK"))
            .await
            .unwrap();

        // Vectors of two sizes (a change of embedder.dimensions half done): search explains.
        std::fs::write(dir.path().join("vecsync.toml"), toml(&db.db.url, 8, "jobs")).unwrap();
        assert_ok(&vecsync(dir.path(), &["backfill", "--limit", "10"]));
        assert_setup_error(
            &vecsync(dir.path(), &["search", "night nurse"]),
            &[
                "vectors of another size",
                "different vector dimensions",
                "embedder.dimensions",
                "vecsync backfill",
            ],
        );
    })
    .await;
}

/// Item 8: a non-owner can run `init` (nothing to do) but not `uninstall`: refused up front,
/// nothing dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_by_a_non_owner_is_refused_up_front() {
    bounded(async {
        let s = supabase_shaped().await;
        assert_ok(&vecsync(s.dir.path(), &["init"]));
        let run = vecsync(s.dir.path(), &["uninstall"]);
        assert_setup_error(
            &run,
            &[
                "ownership of table public.jobs",
                "ownership of schema vecsync",
                "run `vecsync uninstall` as",
            ],
        );
        assert_eq!(
            scalar(
                &s.admin,
                "SELECT count(*) FROM pg_namespace WHERE nspname = 'vecsync'"
            )
            .await,
            1
        );
        assert_eq!(
            scalar(
                &s.admin,
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.jobs'::regclass"
            )
            .await,
            4
        );
    })
    .await;
}

#[test]
fn sqlite_doctor() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.db");
    let conn = rusqlite::Connection::open(&file).unwrap();
    vecsync::demo::populate_sqlite(&conn, 30, 7).unwrap();
    let master = || -> String {
        conn.query_row(
            "SELECT group_concat(name, ',') FROM sqlite_master",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    std::fs::write(
        dir.path().join("vecsync.toml"),
        toml("sqlite://jobs.db", DIMS, "jobs"),
    )
    .unwrap();
    // Before anything ran: nothing to fix, and doctor creates nothing.
    let before = master();
    let run = vecsync(dir.path(), &["doctor"]);
    assert_ok(&run);
    assert!(run.line("warn", "install").contains("not in this file yet"));
    assert_eq!(master(), before);

    assert_ok(&vecsync(dir.path(), &["backfill"]));
    let run = vecsync(dir.path(), &["doctor"]);
    eprintln!("--- doctor on a healthy SQLite file ---\n{}", run.stdout);
    assert_ok(&run);
    assert!(run.stdout.ends_with("all good\n"), "{}", run.stdout);

    // A template column that does not exist.
    std::fs::write(
        dir.path().join("vecsync.toml"),
        toml("sqlite://jobs.db", DIMS, "jobs")
            .replace("[source]\n", "[source]\ntemplate = \"{title} {salry}\"\n"),
    )
    .unwrap();
    let run = vecsync(dir.path(), &["doctor"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(run.line("FAIL", "source.template").contains("\"salry\""));

    // A file that does not exist is reported, not created.
    std::fs::write(
        dir.path().join("vecsync.toml"),
        toml("sqlite://missing.db", DIMS, "jobs"),
    )
    .unwrap();
    let run = vecsync(dir.path(), &["doctor", "--json"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.json()["findings"][0]["check"], "database_url");
    assert!(!dir.path().join("missing.db").exists());
}

/// A pooler in front of the server is reported (the URL's port is not the server's own),
/// and doctor's checks still run through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_a_pooler() {
    bounded(async {
        let db = pg_db(20, DIMS).await;
        let bouncer = crate::common::pgbouncer::Pgbouncer::start();
        let dir = config_dir(&toml(&bouncer.url(&db.db.name), DIMS, "jobs"));
        let run = vecsync(dir.path(), &["doctor"]);
        assert_ok(&run);
        let server_port = url::Url::parse(&server_url()).unwrap().port().unwrap();
        let line = run.line("warn", "pooler");
        assert!(
            line.contains(&format!(
                "forwards port {} to the server's port {server_port}",
                bouncer.port
            )),
            "{line}"
        );
        assert!(line.contains("transaction mode"), "{line}");
        run.line("ok", "privileges.backfill/work");
    })
    .await;
}

/// The grants docs/postgres.md gives a worker role, column by column, are enough for
/// backfill, status and search, on a table with more columns than vecsync reads and a
/// filter: vecsync reads only the columns the config names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_column_grants_are_enough() {
    bounded(async {
        let db = pg_db(ROWS, DIMS).await;
        let admin = &db.client;
        admin
            .batch_execute("ALTER TABLE jobs ADD COLUMN owner_notes text DEFAULT 'private'")
            .await
            .unwrap();
        let owner = toml(&db.db.url, DIMS, "public.jobs");
        store::open(&config(&owner))
            .await
            .unwrap()
            .init()
            .await
            .unwrap();
        let roles = Roles::create(admin, &["worker"]).await;
        let worker = &roles.names[0];
        admin
            .batch_execute(&format!(
                "GRANT SELECT (id, embedding, title, company, location, description, is_active),
                        UPDATE (embedding) ON public.jobs TO {worker};
                 GRANT USAGE ON SCHEMA vecsync TO {worker};
                 GRANT SELECT, INSERT, UPDATE, DELETE ON vecsync.queue, vecsync.state TO {worker};
                 GRANT SELECT, INSERT, DELETE ON vecsync.row_counts, vecsync.completions TO {worker};
                 GRANT SELECT ON vecsync.meta, vecsync.migrations, vecsync.vectorizer TO {worker};
                 GRANT UPDATE (audited_at, queue_complete_for, healed_at) ON vecsync.meta TO {worker};
                 GRANT SELECT, INSERT ON vecsync.usage TO {worker};"
            ))
            .await
            .unwrap();
        let dir = config_dir(&toml(&url_as(&db.db.url, worker), DIMS, "public.jobs"));
        assert_ok(&vecsync(dir.path(), &["backfill"]));
        let status = vecsync(dir.path(), &["status", "--json"]);
        assert_ok(&status);
        assert_eq!(status.json()["coverage"], 1.0);
        assert_eq!(status.json()["audited"], false, "the backfill's audit was recorded");
        let search = vecsync(dir.path(), &["search", "nurse", "-k", "2"]);
        assert_ok(&search);
        drop(db);
    })
    .await;
}

/// Upgrading a schema of the previous version (4, before `row_counts`) asks for no new
/// GRANT: a worker with the grants documented then runs `backfill` and `status` after the
/// owner's `init`, which gives it what it holds on the queue on `row_counts` too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_keeps_what_the_roles_could_do() {
    bounded(async {
        let db = pg_db(ROWS, DIMS).await;
        let admin = &db.client;
        let owner = config(&toml(&db.db.url, DIMS, "public.jobs"));
        store::open(&owner).await.unwrap().init().await.unwrap();
        // Back to version 4, as the previous vecsync left it, with the grants its docs
        // asked for (a status role without SELECT on meta).
        admin
            .batch_execute(
                "DROP TABLE vecsync.row_counts, vecsync.completions;
                 ALTER TABLE vecsync.queue DROP COLUMN has_vector;
                 ALTER TABLE vecsync.meta DROP COLUMN filter_immutable, DROP COLUMN healed_at;
                 DELETE FROM vecsync.migrations WHERE version >= 5",
            )
            .await
            .unwrap();
        let roles = Roles::create(admin, &["worker", "reader"]).await;
        let (worker, reader) = (&roles.names[0], &roles.names[1]);
        admin
            .batch_execute(&format!(
                "GRANT SELECT, UPDATE (embedding) ON public.jobs TO {worker};
                 GRANT SELECT ON public.jobs TO {reader};
                 GRANT USAGE ON SCHEMA vecsync TO {worker}, {reader};
                 GRANT SELECT, INSERT, UPDATE, DELETE ON vecsync.queue, vecsync.state TO {worker};
                 GRANT SELECT ON vecsync.queue, vecsync.state, vecsync.usage, vecsync.vectorizer
                   TO {reader};
                 GRANT SELECT ON vecsync.meta, vecsync.migrations, vecsync.vectorizer TO {worker};
                 GRANT SELECT, INSERT ON vecsync.usage TO {worker};"
            ))
            .await
            .unwrap();
        store::open(&owner).await.unwrap().init().await.unwrap();
        let dir = config_dir(&toml(&url_as(&db.db.url, worker), DIMS, "public.jobs"));
        assert_ok(&vecsync(dir.path(), &["backfill"]));
        let dir = config_dir(&toml(&url_as(&db.db.url, reader), DIMS, "public.jobs"));
        let status = vecsync(dir.path(), &["status", "--json"]);
        assert_ok(&status);
        assert_eq!(status.json()["coverage"], 1.0);
        assert_eq!(status.json()["audited"], false, "the backfill recounted");
        // The reader got SELECT only.
        let can_delete: bool = admin
            .query_one(
                &format!(
                    "SELECT has_table_privilege('{reader}', 'vecsync.row_counts', 'DELETE')
                         OR has_table_privilege('{reader}', 'vecsync.completions', 'DELETE')"
                ),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert!(!can_delete);
        drop(db);
    })
    .await;
}

/// The search reads the model fence (`vecsync.vectorizer`, docs/migration.md): a role that
/// may read the table but not the fence is told the GRANT in one line, and searches once
/// it has it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_names_the_grant_the_model_fence_needs() {
    bounded(async {
        let db = pg_db(20, DIMS).await;
        let owner = config(&toml(&db.db.url, DIMS, "jobs"));
        store::open(&owner).await.unwrap().init().await.unwrap();
        let roles = Roles::create(&db.client, &["reader"]).await;
        let role = &roles.names[0];
        db.client
            .batch_execute(&format!(
                "GRANT SELECT ON jobs TO {role}; GRANT USAGE ON SCHEMA vecsync TO {role};"
            ))
            .await
            .unwrap();
        let dir = config_dir(&toml(&url_as(&db.db.url, role), DIMS, "jobs"));
        let run = vecsync(dir.path(), &["search", "nurse"]);
        assert_setup_error(
            &run,
            &[
                "vecsync.vectorizer",
                &format!("GRANT SELECT ON vecsync.vectorizer TO {role}"),
            ],
        );
        db.client
            .batch_execute(&format!("GRANT SELECT ON vecsync.vectorizer TO {role}"))
            .await
            .unwrap();
        assert_ok(&vecsync(dir.path(), &["search", "nurse"]));
    })
    .await
}

/// doctor asks the provider once: a server that answers 500 is reported at once, with no
/// retry (doctor used to run the full retry schedule, half a minute and more).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_asks_a_failing_provider_once() {
    bounded(async {
        let mock = MockOpenAi::start(Knobs {
            always: Some(crate::mock_openai::Fault::Status(500)),
            ..Knobs::default()
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jobs.db");
        let conn = rusqlite::Connection::open(&file).unwrap();
        vecsync::demo::populate_sqlite(&conn, 5, 7).unwrap();
        std::fs::write(
            dir.path().join("vecsync.toml"),
            format!(
                "database_url = \"sqlite://{}\"\n[embedder]\nprovider = \"openai\"\n\
                 model = \"text-embedding-3-small\"\ndimensions = {DIMS}\nbase_url = \"{}\"\n\
                 api_key_env = \"VECSYNC_TEST_DOCTOR_KEY\"\nmax_retries = 8\n",
                file.display(),
                mock.base_url()
            ),
        )
        .unwrap();
        let run = vecsync_env(
            dir.path(),
            &["doctor"],
            &[("VECSYNC_TEST_DOCTOR_KEY", "sk-test-doctor")],
        );
        assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
        assert!(
            run.line("FAIL", "provider").contains("500"),
            "{}",
            run.stdout
        );
        assert_eq!(mock.request_count(), 1, "one request, no retries");
    })
    .await;
}

/// A config whose vectors the column cannot hold: `status` says so like `backfill` does
/// (one line naming source.embedding_column, exit 2) instead of counting every vector as
/// stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_refuses_a_dimension_the_column_cannot_hold() {
    bounded(async {
        let db = pg_db(10, DIMS).await;
        let dir = config_dir(&toml(&db.db.url, DIMS, "jobs"));
        assert_ok(&vecsync(dir.path(), &["backfill"]));
        std::fs::write(
            dir.path().join("vecsync.toml"),
            toml(&db.db.url, 2 * DIMS, "jobs"),
        )
        .unwrap();
        for args in [&["status"][..], &["status", "--json"], &["backfill"]] {
            assert_setup_error(
                &vecsync(dir.path(), args),
                &["source.embedding_column", "vector(16)", "32 dimensions"],
            );
        }
    })
    .await;
}

/// pgvector in `extensions` (Supabase): writing vectors and searching name its type and
/// operator with that schema, so a role without USAGE on it is told so up front, by the
/// command and by doctor, not by a "permission denied" in the middle of a backfill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_on_pgvectors_schema_is_named() {
    bounded(async {
        let s = supabase_shaped().await;
        s.fix().await;
        s.admin
            .batch_execute(&format!("REVOKE USAGE ON SCHEMA extensions FROM {}", s.app))
            .await
            .unwrap();
        let run = vecsync(s.dir.path(), &["doctor"]);
        let work = run.line("FAIL", "privileges.backfill/work");
        assert!(work.contains("USAGE on schema extensions"), "{work}");
        assert!(run
            .line("FAIL", "privileges.search")
            .contains("USAGE on schema extensions"));
        assert_setup_error(
            &vecsync(s.dir.path(), &["backfill"]),
            &[
                "USAGE on schema extensions",
                "GRANT USAGE ON SCHEMA extensions",
            ],
        );
        s.admin
            .batch_execute(&format!("GRANT USAGE ON SCHEMA extensions TO {}", s.app))
            .await
            .unwrap();
        assert_ok(&vecsync(s.dir.path(), &["backfill"]));
        drop(s.db);
    })
    .await;
}

/// A role without USAGE on the table's schema cannot see the table at all: doctor says
/// which GRANT opens it (one finding, a fix that works as printed), not "a check could
/// not run".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_usage_on_the_tables_schema_is_one_finding_with_its_grant() {
    bounded(async {
        let db = pg_db(5, DIMS).await;
        db.client
            .batch_execute("CREATE SCHEMA \"App\"; ALTER TABLE jobs SET SCHEMA \"App\"")
            .await
            .unwrap();
        let roles = Roles::create(&db.client, &["reader"]).await;
        let reader = &roles.names[0];
        let dir = config_dir(&toml(&url_as(&db.db.url, reader), DIMS, "App.jobs"));
        let run = vecsync(dir.path(), &["doctor"]);
        let line = run.line("FAIL", "source.table");
        let grant = format!("GRANT USAGE ON SCHEMA \"App\" TO {reader}");
        assert!(line.contains(&grant), "{line}");
        assert!(!run.stdout.contains("could not run"), "{}", run.stdout);
        db.client.batch_execute(&grant).await.unwrap();
        let run = vecsync(dir.path(), &["doctor"]);
        assert!(!run.stdout.contains("cannot read table"), "{}", run.stdout);
        drop(db);
    })
    .await;
}
