//! What vecsync's triggers cost the application's own writes.
//!
//! Four identical tables of demo job postings with 384-d vectors in one database
//! (`scripts/start-postgres.sh`, or `VECSYNC_TEST_DATABASE_URL`): `plain` without triggers;
//! `previous` with vecsync's triggers as they were before they were made safe for every
//! application write (`triggers_previous.sql`: invoker rights, no exception handler,
//! `UPDATE OF` every column); `synced` with vecsync installed (`init`, no filter);
//! `filtered` with vecsync installed with `filter = "is_active"` (each row's filter is
//! evaluated twice per UPDATE). Every workload runs on the four tables in turn, in a
//! transaction that is rolled back (then `VACUUM`), for several rounds; the medians and
//! their ratios to `plain` are printed.
//!
//! Workloads (`VECSYNC_BENCH_TRIGGER_ROWS` rows, default 20,000):
//! - `UPDATE … SET title = title || '!'` over every row (one statement; every row queued);
//! - `UPDATE … SET salary = …` over every row (outside the template: nothing queued);
//! - 500 single-row `UPDATE`s of the title, one statement each;
//! - `INSERT` of 1,000 rows in one statement, and 200 single-row `INSERT`s;
//! - `DELETE` of 1,000 rows;
//! - vecsync's own write of every row's embedding, with `vecsync.writing` set as
//!   `complete` sets it (the UPDATE trigger's WHEN clause skips these rows).
//!
//! `cargo bench --bench triggers` (`VECSYNC_BENCH_TRIGGER_ROUNDS`, default 5).

#[path = "support/common.rs"]
mod support;
use support::{bench_database, connect, env_usize};

use std::time::Instant;

use tokio_postgres::Client;
use vecsync::config::Config;
use vecsync::store::postgres::PostgresStore;
use vecsync::store::{Store, StoreOptions};

const DIMS: usize = 384;
const TABLES: [&str; 4] = ["plain", "previous", "synced", "filtered"];

/// A table of demo postings, each with a vector (as vecsync would have left it).
async fn create_table(client: &Client, name: &str, rows: usize) {
    let postings = vecsync::demo::generate(rows, vecsync::demo::DEFAULT_SEED);
    client
        .batch_execute(&format!(
            "CREATE TABLE {name} (
                id bigint PRIMARY KEY, title text NOT NULL, company text NOT NULL,
                location text NOT NULL, employment_type text NOT NULL, salary text,
                description text NOT NULL, is_active boolean NOT NULL, embedding vector({DIMS}))"
        ))
        .await
        .unwrap();
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
                    "INSERT INTO {name}
                     SELECT u.*, (SELECT array_agg(sin(u.id + i))::vector({DIMS})
                                  FROM generate_series(1, {DIMS}) i)
                     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                                 $6::text[], $7::text[], $8::bool[])
                          AS u(id, title, company, location, employment_type, salary,
                               description, is_active)"
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

async fn install(url: &str, table: &str, filter: Option<&str>) {
    let mut config = Config {
        database_url: url.to_string(),
        schema: format!("vecsync_{table}"),
        ..Config::default()
    };
    config.source.table = table.into();
    config.source.filter = filter.map(str::to_string);
    config.embedder.provider = "fake".into();
    config.embedder.model = "fake".into();
    config.embedder.dimensions = Some(DIMS);
    config.validate().unwrap();
    let store = PostgresStore::connect(
        &config.database_url,
        &config.schema,
        &config.source,
        StoreOptions::from_config(&config),
    )
    .await
    .unwrap();
    store.prepare(DIMS).await.unwrap();
}

/// Milliseconds `statements` take on `table` (`{t}` stands for it), inside a transaction
/// that is rolled back; the table is vacuumed afterwards so rounds start alike.
async fn time(client: &Client, table: &str, statements: &[String]) -> f64 {
    client.batch_execute("BEGIN").await.unwrap();
    let started = Instant::now();
    for s in statements {
        client
            .batch_execute(&s.replace("{t}", table))
            .await
            .unwrap_or_else(|e| panic!("{s}: {e:?}"));
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    client.batch_execute("ROLLBACK").await.unwrap();
    client
        .batch_execute(&format!("VACUUM {table}"))
        .await
        .unwrap();
    ms
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let rows = env_usize("VECSYNC_BENCH_TRIGGER_ROWS", 20_000);
    let rounds = env_usize("VECSYNC_BENCH_TRIGGER_ROUNDS", 5);
    let bench_db = bench_database("triggers").await;
    let url = bench_db.url.clone();
    let client = connect(&url).await;
    for table in TABLES {
        create_table(&client, table, rows).await;
    }
    install(&url, "previous", None).await;
    client
        .batch_execute(include_str!("triggers_previous.sql"))
        .await
        .unwrap();
    install(&url, "synced", None).await;
    install(&url, "filtered", Some("is_active")).await;
    // State for every row, as after a backfill (the DELETE trigger forgets it).
    for table in ["previous", "synced", "filtered"] {
        client
            .batch_execute(&format!(
                "INSERT INTO vecsync_{table}.state (row_id, text_hash, model)
                 SELECT id, md5(title), 'fake' FROM {table}"
            ))
            .await
            .unwrap();
        client
            .batch_execute(&format!("VACUUM ANALYZE vecsync_{table}.state"))
            .await
            .unwrap();
    }

    let next = rows as i64 + 1;
    let workloads: Vec<(String, Vec<String>)> = vec![
        (
            format!("UPDATE title, {rows} rows, 1 statement"),
            vec!["UPDATE {t} SET title = title || '!'".into()],
        ),
        (
            format!("UPDATE salary (not in template), {rows} rows"),
            vec!["UPDATE {t} SET salary = coalesce(salary, '') || '!'".into()],
        ),
        (
            "UPDATE title, 500 statements of 1 row".into(),
            (1..=500)
                .map(|i| format!("UPDATE {{t}} SET title = title || '!' WHERE id = {}", i * 7))
                .collect(),
        ),
        (
            "INSERT 1,000 rows, 1 statement".into(),
            vec![format!(
                "INSERT INTO {{t}} (id, title, company, location, employment_type, description, is_active)
                 SELECT g, 'New job ' || g, 'Co', 'Town', 'Full-time', 'Work', g % 2 = 0
                 FROM generate_series({next}, {}) g",
                next + 999
            )],
        ),
        (
            "INSERT 200 statements of 1 row".into(),
            (0..200)
                .map(|i| {
                    format!(
                        "INSERT INTO {{t}} (id, title, company, location, employment_type, description, is_active)
                         VALUES ({}, 'New job', 'Co', 'Town', 'Full-time', 'Work', true)",
                        next + i
                    )
                })
                .collect(),
        ),
        (
            "DELETE 1,000 rows, 1 statement".into(),
            vec!["DELETE FROM {t} WHERE id <= 1000".into()],
        ),
        (
            format!("vecsync's own embedding write, {rows} rows"),
            vec![
                "SELECT set_config('vecsync.writing', 'vecsync_{t}', true)".into(),
                "UPDATE {t} SET embedding = embedding".into(),
            ],
        ),
    ];

    println!("trigger overhead: {rows} rows of 384-d demo postings, median of {rounds} rounds");
    println!(
        "| workload | no triggers | previous triggers | ratio | vecsync | ratio | vecsync + filter | ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, statements) in &workloads {
        let mut ms: [Vec<f64>; 4] = Default::default();
        for _ in 0..rounds {
            for (i, table) in TABLES.iter().enumerate() {
                ms[i].push(time(&client, table, statements).await);
            }
        }
        let [plain, previous, synced, filtered] = ms.map(median);
        println!(
            "| {name} | {plain:.0} ms | {previous:.0} ms | {:.2} | {synced:.0} ms | {:.2} | {filtered:.0} ms | {:.2} |",
            previous / plain,
            synced / plain,
            filtered / plain
        );
    }
    drop(client);
    bench_db.drop_now().await;
}
