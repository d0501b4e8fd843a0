//! vecsync on a Supabase-shaped PostgreSQL (`common::supabase`): installed by a role that
//! is not a superuser (and one that does not own the table), pgvector in a schema off the
//! search_path, application writes by Supabase's API roles under row-level security, and
//! the user's migrations (rename, drop, retype, new columns and constraints) that must never
//! make an application write fail.

use crate::common;

use std::time::Duration;

use common::bounded;
use common::postgres::store_with;
use common::supabase::{Role, SupabaseDb, DIMS, ROWS};
use vecsync::config::{Config, ConfigError};
use vecsync::embed::fake::FakeEmbedder;
use vecsync::store::postgres::PostgresStore;
use vecsync::store::{ClaimedRow, Completion, Store};
use vecsync::template::text_hash;

const LEASE: Duration = Duration::from_secs(60);
const TABLE: &str = "\"App\".\"Docs\"";

fn embedder(config: &Config) -> FakeEmbedder {
    FakeEmbedder::new(&config.embedder.model_id(), DIMS)
}

fn completion(e: &FakeEmbedder, row: &ClaimedRow) -> Completion {
    Completion {
        id: row.id.clone(),
        text_hash: text_hash(&row.text),
        vector: std::sync::Arc::new(e.vector(&row.text)),
    }
}

/// Claims and completes until the queue is empty; returns rows written.
async fn drain(s: &PostgresStore, e: &FakeEmbedder) -> u64 {
    let mut written = 0;
    loop {
        let rows = s.claim(100, LEASE).await.expect("claim");
        if rows.is_empty() {
            return written;
        }
        let done: Vec<Completion> = rows.iter().map(|r| completion(e, r)).collect();
        written += s.complete(&done, &[]).await.expect("complete").written;
    }
}

/// The message of a [`ConfigError`] (Display: the same text in every version of the type).
fn config_error_text(e: &anyhow::Error) -> String {
    e.chain()
        .find_map(|c| c.downcast_ref::<ConfigError>())
        .unwrap_or_else(|| panic!("expected a ConfigError, got: {e:#}"))
        .to_string()
}

async fn id_of(db: &SupabaseDb, title: &str) -> String {
    db.text(&format!(
        "SELECT id::text FROM {TABLE} WHERE \"Title\" = '{title}'"
    ))
    .await
}

async fn is_queued(db: &SupabaseDb, id: &str) -> bool {
    db.flag(&format!(
        "SELECT EXISTS (SELECT 1 FROM vecsync.queue WHERE row_id = '{id}')"
    ))
    .await
}

async fn vector_text(db: &SupabaseDb, id: &str) -> String {
    db.text(&format!(
        "SELECT coalesce(embedding::text, 'none') FROM {TABLE} WHERE id = '{id}'"
    ))
    .await
}

/// Installs as `role`, backfills, and checks that everything published is embedded.
async fn install_and_backfill(db: &SupabaseDb, role: &Role) -> (Config, PostgresStore) {
    let config = db.config(role);
    let s = store_with(&config).await;
    s.prepare(DIMS)
        .await
        .unwrap_or_else(|e| panic!("init as {}: {e:#}", role.name));
    let published = db
        .scalar(&format!(
            "SELECT count(*) FROM {TABLE} WHERE \"isPublished\""
        ))
        .await;
    assert_eq!(s.enqueue_needed().await.unwrap() as i64, published);
    assert_eq!(drain(&s, &embedder(&config)).await as i64, published);
    let st = s.status().await.unwrap();
    assert_eq!(
        (st.total as i64, st.embedded as i64),
        (published, published)
    );
    assert!(st.drift.triggers.is_empty(), "{:?}", st.drift.triggers);
    (config, s)
}

/// Every published row has a vector for its current text, and nothing is queued.
async fn assert_all_current(s: &PostgresStore) {
    let st = s.status().await.unwrap();
    assert_eq!(
        (st.embedded, st.stale, st.missing, st.drift.unqueued),
        (st.total, 0, 0, 0),
        "{st:?}"
    );
    assert_eq!(st.queue.pending + st.queue.leased, 0, "{st:?}");
    assert!(st.drift.triggers.is_empty(), "{:?}", st.drift.triggers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installed_by_a_plain_role_it_syncs_the_writes_of_every_app_role() {
    bounded(async {
        for installer_owns_the_table in [false, true] {
            let db = SupabaseDb::create().await;
            let role = if installer_owns_the_table {
                &db.owner
            } else {
                &db.installer
            };
            // The fixture is what it claims: pgvector is off the role's search_path.
            let plain = common::postgres::connect(&role.url).await;
            let e = plain
                .batch_execute("SELECT '[1,2]'::vector")
                .await
                .expect_err("vector must not be on the search_path");
            assert!(format!("{e:?}").contains("does not exist"), "{e:?}");
            let is_super: bool = plain
                .query_one("SELECT rolsuper FROM pg_roles WHERE rolname = current_user", &[])
                .await
                .unwrap()
                .get(0);
            assert!(!is_super);

            let (config, s) = install_and_backfill(&db, role).await;
            let e = embedder(&config);

            // The API roles have no right on vecsync's schema or functions; the functions
            // run as their owner with a fixed search_path.
            for api in ["anon", "authenticated", "service_role"] {
                assert!(
                    !db.flag(&format!("SELECT has_schema_privilege('{api}', 'vecsync', 'USAGE')"))
                        .await
                );
                assert!(
                    !db.flag(&format!(
                        "SELECT has_function_privilege('{api}', 'vecsync.on_update()', 'EXECUTE')"
                    ))
                    .await
                );
            }
            assert_eq!(
                db.scalar(
                    "SELECT count(*) FROM pg_proc WHERE pronamespace = 'vecsync'::regnamespace
                       AND prosecdef AND proconfig = '{\"search_path=pg_catalog, pg_temp\"}'"
                )
                .await,
                4
            );

            // The application writes, as each API role and as the table's owner.
            db.app_write(
                "authenticated",
                &format!("INSERT INTO {TABLE} (\"Title\", company, body) VALUES ('Night nurse', 'Mercy', 'ICU nights')"),
            )
            .await;
            let nurse = id_of(&db, "Night nurse").await;
            assert!(is_queued(&db, &nurse).await);
            db.app_write(
                "anon",
                &format!("INSERT INTO {TABLE} (\"Title\", company, body) VALUES ('Welder', 'Acme', 'MIG'), ('Cook', 'Diner', 'Grill')"),
            )
            .await;
            let t3 = id_of(&db, "Title 3").await;
            db.app_write(
                "authenticated",
                &format!("UPDATE {TABLE} SET \"Title\" = 'Title 3 (senior)' WHERE id = '{t3}'"),
            )
            .await;
            assert!(is_queued(&db, &t3).await);
            let updated: bool = db
                .flag(&format!("SELECT updated_at > now() - interval '1 minute' FROM {TABLE} WHERE id = '{t3}'"))
                .await;
            assert!(updated, "moddatetime ran");
            let t4 = id_of(&db, "Title 4").await;
            db.app_write(
                "service_role",
                &format!("UPDATE {TABLE} SET body = 'new body' WHERE id = '{t4}'"),
            )
            .await;
            assert!(is_queued(&db, &t4).await);
            // A queued row that stops passing the filter leaves the queue.
            db.app_write(
                "service_role",
                &format!("UPDATE {TABLE} SET \"isPublished\" = false WHERE id = '{t4}'"),
            )
            .await;
            assert!(!is_queued(&db, &t4).await);
            // An unrelated column changes nothing.
            db.app_write(
                "authenticated",
                &format!("UPDATE {TABLE} SET author_id = gen_random_uuid() WHERE \"Title\" = 'Title 6'"),
            )
            .await;
            let t6 = id_of(&db, "Title 6").await;
            assert!(!is_queued(&db, &t6).await);
            let t7 = id_of(&db, "Title 7").await;
            db.app_write(
                "authenticated",
                &format!("DELETE FROM {TABLE} WHERE id = '{t7}'"),
            )
            .await;
            assert_eq!(
                db.scalar(&format!("SELECT count(*) FROM vecsync.state WHERE row_id = '{t7}'"))
                    .await,
                0
            );
            let owner = common::postgres::connect(&db.owner.url).await;
            owner
                .batch_execute(&format!(
                    "UPDATE {TABLE} SET company = 'Owner Co' WHERE \"Title\" = 'Title 8'"
                ))
                .await
                .unwrap();
            let t8 = id_of(&db, "Title 8").await;
            assert!(is_queued(&db, &t8).await);

            assert_eq!(drain(&s, &e).await, 5, "nurse, welder, cook, title 3, title 8");
            assert_all_current(&s).await;

            // Search with pgvector's type and operator off the search_path.
            let text = "Night nurse at Mercy: ICU nights";
            let hits = s.search(&e.vector(text), 3).await.unwrap();
            assert_eq!(hits[0].id, nurse);
            assert!((hits[0].score - 1.0).abs() < 1e-4, "{}", hits[0].score);
            assert_eq!(hits[0].fields["Title"], "Night nurse");
            if installer_owns_the_table {
                // Building an index needs the table's owner.
                s.create_hnsw_index().await.unwrap();
                let def = db
                    .text("SELECT indexdef FROM pg_indexes WHERE indexname = 'Docs_embedding_hnsw'")
                    .await;
                assert!(def.contains("extensions.vector_cosine_ops"), "{def}");
                assert_eq!(s.search(&e.vector(text), 1).await.unwrap()[0].id, nurse);
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_never_make_an_application_write_fail() {
    bounded(async {
        let db = SupabaseDb::create().await;
        let (mut config, s) = install_and_backfill(&db, &db.installer).await;
        let e = embedder(&config);
        // Every kind of application write, as an API role, after each migration.
        let writes = |round: usize| {
            format!(
                "INSERT INTO {TABLE} (\"Title\") VALUES ('Inserted {round}');
                 UPDATE {TABLE} SET \"Title\" = \"Title\" || ' *' WHERE \"Title\" = 'Title {t}';
                 UPDATE {TABLE} SET author_id = gen_random_uuid() WHERE \"Title\" = 'Title 11';
                 DELETE FROM {TABLE} WHERE \"Title\" = 'Title {d}'",
                t = round + 1,
                d = round + 21,
            )
        };

        // 1. A template column is renamed.
        db.exec(&format!(
            "ALTER TABLE {TABLE} RENAME COLUMN company TO employer"
        ))
        .await;
        let t1 = id_of(&db, "Title 1").await;
        let before = vector_text(&db, &t1).await;
        db.app_write("authenticated", &writes(0)).await;
        db.app_write(
            "authenticated",
            &format!("UPDATE {TABLE} SET employer = 'Renamed Co' WHERE id = '{t1}'"),
        )
        .await;
        assert_eq!(
            vector_text(&db, &t1).await,
            before,
            "rows keep their vectors"
        );
        // A running vecsync and a new one both say what happened, as a setup error.
        let msg = config_error_text(&s.status().await.unwrap_err());
        assert!(
            msg.contains("company") && msg.contains("vecsync init"),
            "{msg}"
        );
        let msg = config_error_text(&store_with(&config).await.status().await.unwrap_err());
        assert!(
            msg.starts_with(
                "source.template: column \"company\" does not exist in table \"App.Docs\""
            ),
            "{msg}"
        );
        assert!(
            msg.contains("application writes go on and rows keep their vectors"),
            "{msg}"
        );
        // The user fixes the config: status says the triggers are stale until `init`.
        config.source.template = "{Title} at {employer}: {body}".into();
        config.source.display_columns = vec!["Title".into(), "employer".into()];
        let s = store_with(&config).await;
        let st = s.status().await.unwrap();
        assert_eq!(st.drift.triggers.len(), 1, "{:?}", st.drift.triggers);
        assert!(st.drift.triggers[0].contains("run `vecsync init`"));
        s.prepare(DIMS).await.unwrap();
        s.enqueue_needed().await.unwrap();
        drain(&s, &e).await;
        assert_all_current(&s).await;
        assert_ne!(
            vector_text(&db, &t1).await,
            before,
            "re-embedded once fixed"
        );
        db.app_write(
            "authenticated",
            &format!("UPDATE {TABLE} SET employer = 'Again' WHERE id = '{t1}'"),
        )
        .await;
        assert!(
            is_queued(&db, &t1).await,
            "the triggers read the new column"
        );
        drain(&s, &e).await;

        // 2. A template column is dropped (with vecsync's old `UPDATE OF` trigger, PostgreSQL
        // refused this migration: "trigger ... depends on column").
        db.exec(&format!("ALTER TABLE {TABLE} DROP COLUMN body"))
            .await;
        db.app_write("authenticated", &writes(1)).await;
        let msg = config_error_text(&store_with(&config).await.status().await.unwrap_err());
        assert!(msg.starts_with("source.template: column \"body\""), "{msg}");
        config.source.template = "{Title} at {employer}".into();
        let s = store_with(&config).await;
        s.prepare(DIMS).await.unwrap();
        s.enqueue_needed().await.unwrap();
        drain(&s, &e).await;
        assert_all_current(&s).await;

        // 3. Template columns are retyped (refused before: "cannot alter type of a column
        // used in a trigger definition"), one to json, which has no equality operator.
        db.exec(&format!(
            "ALTER TABLE {TABLE} ALTER COLUMN \"Title\" TYPE varchar(200);
             ALTER TABLE {TABLE} ALTER COLUMN employer TYPE json USING to_json(employer)"
        ))
        .await;
        db.app_write("authenticated", &writes(2)).await;
        db.app_write(
            "authenticated",
            &format!("UPDATE {TABLE} SET employer = '\"Json Co\"' WHERE id = '{t1}'"),
        )
        .await;
        assert!(is_queued(&db, &t1).await);
        let s = store_with(&config).await;
        s.prepare(DIMS).await.unwrap();
        s.enqueue_needed().await.unwrap();
        drain(&s, &e).await;
        assert_all_current(&s).await;

        // 4. The filter column is renamed.
        db.exec(&format!(
            "ALTER TABLE {TABLE} RENAME COLUMN \"isPublished\" TO published"
        ))
        .await;
        db.app_write("authenticated", &writes(3)).await;
        let msg = config_error_text(&store_with(&config).await.status().await.unwrap_err());
        assert!(
            msg.starts_with(
                "source.filter: \"\\\"isPublished\\\"\" does not work on table \"App.Docs\""
            ),
            "{msg}"
        );
        assert!(msg.contains("rows keep their vectors"), "{msg}");
        config.source.filter = Some("published".into());
        let s = store_with(&config).await;
        s.prepare(DIMS).await.unwrap();
        s.enqueue_needed().await.unwrap();
        drain(&s, &e).await;
        assert_all_current(&s).await;

        // 5. New columns and constraints.
        db.exec(&format!(
            "ALTER TABLE {TABLE} ADD COLUMN tags text[] NOT NULL DEFAULT '{{}}';
             ALTER TABLE {TABLE} ADD CONSTRAINT title_not_empty CHECK (\"Title\" <> '')"
        ))
        .await;
        db.app_write("authenticated", &writes(4)).await;
        let inserted = id_of(&db, "Inserted 4").await;
        assert!(is_queued(&db, &inserted).await);

        // 6. The id column is renamed: writes go on, vecsync says so.
        db.exec(&format!("ALTER TABLE {TABLE} RENAME COLUMN id TO doc_id"))
            .await;
        db.app_write("authenticated", &writes(5)).await;
        let msg = config_error_text(&store_with(&config).await.status().await.unwrap_err());
        assert!(msg.starts_with("source.id_column: column \"id\""), "{msg}");
        db.exec(&format!("ALTER TABLE {TABLE} RENAME COLUMN doc_id TO id"))
            .await;

        // 7. A trigger disabled behind vecsync's back: status says so, `init` repairs it.
        db.exec(&format!(
            "ALTER TABLE {TABLE} DISABLE TRIGGER vecsync_update"
        ))
        .await;
        let st = s.status().await.unwrap();
        assert_eq!(st.drift.triggers.len(), 1, "{:?}", st.drift.triggers);
        assert!(
            st.drift.triggers[0].starts_with("1 of vecsync's 4 triggers"),
            "{:?}",
            st.drift.triggers
        );
        s.init().await.unwrap();
        assert!(s.status().await.unwrap().drift.triggers.is_empty());
        s.enqueue_needed().await.unwrap();
        drain(&s, &e).await;
        assert_all_current(&s).await;
        assert_eq!(
            db.scalar(&format!(
                "SELECT count(*) FROM {TABLE} WHERE \"Title\" LIKE 'Inserted %'"
            ))
            .await,
            6,
            "every application INSERT went through"
        );
        let _ = ROWS;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_options_reach_the_server_unchanged() {
    bounded(async {
        let db = SupabaseDb::create().await;
        let mut config = db.config(&db.owner);
        // The table only resolves unqualified, and the vector type only without a schema,
        // if the server got `search_path="App",extensions` as written.
        config.database_url = format!(
            "{}?options=-c%20search_path%3D%22App%22%2Cextensions",
            db.owner.url
        );
        config.source.table = "Docs".into();
        let s = store_with(&config).await;
        s.prepare(DIMS).await.unwrap();
        let published = db
            .scalar(&format!(
                "SELECT count(*) FROM {TABLE} WHERE \"isPublished\""
            ))
            .await;
        assert_eq!(s.enqueue_needed().await.unwrap() as i64, published);
        assert_eq!(drain(&s, &embedder(&config)).await as i64, published);
    })
    .await;
}

/// `vecsync` in `dir` (its vecsync.toml), without DATABASE_URL from the environment.
fn vecsync_cli(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_vecsync"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run vecsync")
}

/// A setup mistake: exit 2, one line on stderr naming `needle`.
fn assert_setup_error(out: &std::process::Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains(needle),
        "{stderr:?} should contain {needle:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_refuses_a_typo_before_installing_anything() {
    bounded(async {
        let db = SupabaseDb::create().await;
        // A function the installer finds on its own search_path, but the triggers do not.
        db.exec(
            "CREATE FUNCTION public.visible(t text) RETURNS boolean LANGUAGE sql IMMUTABLE
             AS $$ SELECT t <> '' $$",
        )
        .await;
        let dir = tempfile::tempdir().unwrap();
        let write_config = |template: &str, filter: &str| {
            std::fs::write(
                dir.path().join("vecsync.toml"),
                format!(
                    "database_url = {url:?}\n\
                     [source]\ntable = \"App.Docs\"\nid_column = \"id\"\n\
                     template = {template:?}\nembedding_column = \"embedding\"\n\
                     filter = {filter:?}\ndisplay_columns = [\"Title\"]\n\
                     [embedder]\nprovider = \"fake\"\nmodel = \"fake\"\ndimensions = {DIMS}\n",
                    url = db.installer.url,
                ),
            )
            .unwrap();
        };
        let nothing_installed = || async {
            assert!(!db.flag("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'vecsync')").await);
            assert_eq!(
                db.scalar(&format!(
                    "SELECT count(*) FROM pg_trigger WHERE tgrelid = '{TABLE}'::regclass AND NOT tgisinternal"
                ))
                .await,
                1,
                "only the application's moddatetime trigger"
            );
        };
        for (template, filter, error) in [
            (
                "{title} at {company}",
                "\"isPublished\"",
                "source.template: column \"title\" does not exist in table \"App.Docs\" (did you mean \"Title\"?",
            ),
            (
                "{Title} at {company}",
                "isPublished",
                "source.filter: \"isPublished\" does not work on table \"App.Docs\": column \"ispublished\" does not exist",
            ),
            (
                "{Title} at {company}",
                "visible(\"Title\")",
                "source.filter: \"visible(\\\"Title\\\")\" does not work in vecsync's triggers, which run with search_path = pg_catalog",
            ),
        ] {
            write_config(template, filter);
            assert_setup_error(&vecsync_cli(dir.path(), &["init"]), error);
            nothing_installed().await;
        }
        write_config("{Title} at {company}", "public.visible(\"Title\") AND \"isPublished\"");
        let out = vecsync_cli(dir.path(), &["init"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = vecsync_cli(dir.path(), &["backfill"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        db.app_write(
            "authenticated",
            &format!("INSERT INTO {TABLE} (\"Title\", company) VALUES ('Queued by the trigger', 'x')"),
        )
        .await;
        let id = id_of(&db, "Queued by the trigger").await;
        assert!(is_queued(&db, &id).await, "the qualified filter works in the trigger");

        // After a migration, `status` says what happened and what to do.
        db.exec(&format!("ALTER TABLE {TABLE} RENAME COLUMN company TO employer"))
            .await;
        assert_setup_error(
            &vecsync_cli(dir.path(), &["status"]),
            "source.template: column \"company\" does not exist in table \"App.Docs\"; if it was renamed or dropped, application writes go on",
        );
    })
    .await;
}
