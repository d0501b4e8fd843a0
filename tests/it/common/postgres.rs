//! A real PostgreSQL + pgvector for tests: one server per machine (started once per test
//! process by `scripts/start-postgres.sh`, or `VECSYNC_TEST_DATABASE_URL`), one fresh
//! database per test so tests run in parallel. The database is dropped when the
//! [`PgTestDb`] is dropped.
#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use async_trait::async_trait;
use tokio_postgres::{Client, NoTls};

use super::TestDb;
use vecsync::config::Config;

/// The server's URL (the `postgres` database), starting the server if needed.
pub fn server_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("VECSYNC_TEST_DATABASE_URL") {
            if !url.is_empty() {
                return url;
            }
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/start-postgres.sh");
        let out = Command::new("bash")
            .arg(script)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("cannot run scripts/start-postgres.sh");
        assert!(
            out.status.success(),
            "scripts/start-postgres.sh failed ({})",
            out.status
        );
        let url = String::from_utf8(out.stdout).expect("utf-8 URL");
        let url = url.trim().to_string();
        assert!(url.starts_with("postgres://"), "unexpected output {url:?}");
        url
    })
    .clone()
}

/// `url` with its database replaced by `db`.
pub fn url_for_db(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("database URL");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

/// Connects with a driver task on the current runtime.
pub async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to test database: {e:?}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Drops test databases (and then test roles, see [`super::supabase`]) left behind by test
/// processes that no longer run.
async fn drop_leftovers(admin: &Client) {
    let rows = admin
        .query(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'vecsync\\_test\\_%'",
            &[],
        )
        .await
        .unwrap_or_default();
    for r in rows {
        let name: String = r.get(0);
        let pid: Option<u32> = name.split('_').nth(2).and_then(|p| p.parse().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
    let roles = admin
        .query(
            "SELECT rolname::text FROM pg_roles WHERE rolname LIKE 'vecsync\\_test\\_role\\_%'",
            &[],
        )
        .await
        .unwrap_or_default();
    for r in roles {
        let name: String = r.get(0);
        let pid: Option<u32> = name.split('_').nth(3).and_then(|p| p.parse().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = admin
                .batch_execute(&format!("DROP ROLE IF EXISTS \"{name}\""))
                .await;
        }
    }
}

/// A fresh, empty database (with the `vector` extension, inherited from template1).
pub struct EmptyDb {
    pub name: String,
    pub url: String,
    pub admin_url: String,
}

impl EmptyDb {
    pub async fn create() -> EmptyDb {
        Self::create_from("template1").await
    }

    /// From `template0`: without pgvector.
    pub async fn create_without_pgvector() -> EmptyDb {
        Self::create_from("template0").await
    }

    async fn create_from(template: &str) -> EmptyDb {
        static CLEANED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let admin_url = server_url();
        let admin = connect(&admin_url).await;
        if !CLEANED.swap(true, Ordering::SeqCst) {
            drop_leftovers(&admin).await;
        }
        let name = unique_name("vecsync_test");
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\" TEMPLATE {template}"))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE: {e:?}"));
        EmptyDb {
            url: url_for_db(&admin_url, &name),
            name,
            admin_url,
        }
    }
}

impl Drop for EmptyDb {
    fn drop(&mut self) {
        admin_from_thread(
            &self.admin_url,
            vec![format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            )],
        );
    }
}

/// Runs `statements` as the server's superuser from a thread and runtime of its own,
/// ignoring errors: for `Drop`, where no runtime may be available (or it may be shutting
/// down).
pub fn admin_from_thread(admin_url: &str, statements: Vec<String>) {
    let admin_url = admin_url.to_string();
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            if let Ok((client, conn)) = tokio_postgres::connect(&admin_url, NoTls).await {
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                for sql in statements {
                    let _ = client.batch_execute(&sql).await;
                }
            }
        });
    })
    .join();
}

/// A PostgreSQL store for `config`, connected (not prepared).
pub async fn store_with(config: &Config) -> vecsync::store::postgres::PostgresStore {
    vecsync::store::postgres::PostgresStore::connect(
        &config.database_url,
        &config.schema,
        &config.source,
        vecsync::store::StoreOptions::from_config(config),
    )
    .await
    .expect("connect")
}

/// The demo `jobs` table in a fresh database.
pub struct PgTestDb {
    pub db: EmptyDb,
    pub client: Client,
    pub dims: usize,
}

/// The demo table: the fields of [`vecsync::demo::JobPosting`] and `embedding vector(dims)`.
pub fn jobs_table_sql(dims: usize) -> String {
    format!(
        "CREATE TABLE jobs (
            id bigint PRIMARY KEY,
            title text NOT NULL,
            company text NOT NULL,
            location text NOT NULL,
            employment_type text NOT NULL,
            salary text,
            description text NOT NULL,
            is_active boolean NOT NULL DEFAULT true,
            embedding vector({dims})
        )"
    )
}

/// Inserts demo postings (ids `first_id..`) in batches of 5,000 rows.
pub async fn insert_postings(client: &Client, postings: &[vecsync::demo::JobPosting]) {
    for chunk in postings.chunks(5_000) {
        let ids: Vec<i64> = chunk.iter().map(|p| p.id).collect();
        let titles: Vec<&str> = chunk.iter().map(|p| p.title.as_str()).collect();
        let companies: Vec<&str> = chunk.iter().map(|p| p.company.as_str()).collect();
        let locations: Vec<&str> = chunk.iter().map(|p| p.location.as_str()).collect();
        let types: Vec<&str> = chunk.iter().map(|p| p.employment_type.as_str()).collect();
        let salaries: Vec<Option<&str>> = chunk.iter().map(|p| p.salary.as_deref()).collect();
        let descriptions: Vec<&str> = chunk.iter().map(|p| p.description.as_str()).collect();
        let active: Vec<bool> = chunk.iter().map(|p| p.is_active).collect();
        client
            .execute(
                "INSERT INTO jobs (id, title, company, location, employment_type, salary, description, is_active)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                                      $6::text[], $7::text[], $8::bool[])",
                &[&ids, &titles, &companies, &locations, &types, &salaries, &descriptions, &active],
            )
            .await
            .unwrap_or_else(|e| panic!("insert demo rows: {e:?}"));
    }
}

/// A fresh database with the `jobs` table holding `rows` demo postings and an
/// `embedding vector(dims)` column.
pub async fn pg_db(rows: usize, dims: usize) -> PgTestDb {
    let db = EmptyDb::create().await;
    let client = connect(&db.url).await;
    client
        .batch_execute(&jobs_table_sql(dims))
        .await
        .unwrap_or_else(|e| panic!("create jobs: {e:?}"));
    let postings = vecsync::demo::generate(rows, vecsync::demo::DEFAULT_SEED);
    insert_postings(&client, &postings).await;
    client.batch_execute("ANALYZE jobs").await.expect("analyze");
    PgTestDb { db, client, dims }
}

impl PgTestDb {
    /// The config the tests use: this database, the demo table, the fake embedder (the
    /// same settings as the SQLite fixture).
    pub fn pg_config(&self) -> Config {
        super::test_config(self.db.url.clone(), self.dims)
    }
}

#[async_trait]
impl TestDb for PgTestDb {
    fn config(&self) -> Config {
        super::test_config(self.db.url.clone(), self.dims)
    }

    async fn text(&self, sql: &str) -> String {
        self.client
            .query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
            .get(0)
    }

    fn bookkeeping_table(&self, name: &str) -> String {
        format!("vecsync.{name}")
    }

    async fn expire_leases(&self) {
        self.exec(
            "UPDATE vecsync.queue SET locked_until = now() - interval '1 second'
             WHERE locked_until IS NOT NULL",
        )
        .await;
    }

    async fn exec(&self, sql: &str) {
        self.client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    async fn scalar(&self, sql: &str) -> i64 {
        let row = self
            .client
            .query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        row.try_get::<_, i64>(0)
            .or_else(|_| row.try_get::<_, i32>(0).map(i64::from))
            .or_else(|_| row.try_get::<_, Option<i64>>(0).map(|v| v.unwrap_or(0)))
            .unwrap_or_else(|e| panic!("{sql}: not a bigint: {e:?}"))
    }
}
