//! A database shaped the way Supabase sets one up, in the shared test server:
//!
//! - pgvector in a schema `extensions` that is not on anyone's search_path (and
//!   `moddatetime` next to it), in a database created from `template0`;
//! - Supabase's API roles `anon`, `authenticated`, `service_role` (cluster-wide NOLOGIN
//!   roles, created once and never dropped), with rights on the table but none on
//!   vecsync's schema; the tests write as them with `SET ROLE`;
//! - two LOGIN non-superuser roles, unique to this fixture and dropped with it: `owner`
//!   owns the table, `installer` does not (it holds SELECT, TRIGGER, UPDATE (embedding) and
//!   CREATE on the database, which is what vecsync needs);
//! - a mixed-case table in a non-public schema, `"App"."Docs"`, with uuid keys from
//!   `gen_random_uuid()`, row-level security enabled (policies for the API roles and for
//!   `installer`), and a `moddatetime` BEFORE UPDATE trigger bumping `updated_at`.
#![allow(dead_code)]

use tokio_postgres::Client;

use super::postgres::{admin_from_thread, connect, unique_name, url_for_db, EmptyDb};
use vecsync::config::Config;

/// Dimensions of the fixture's embedding column.
pub const DIMS: usize = 8;
/// Rows in the table at the start; every fifth is not published (the filter).
pub const ROWS: i64 = 40;

/// A LOGIN role of the fixture.
pub struct Role {
    pub name: String,
    /// The fixture's database, as this role.
    pub url: String,
}

pub struct SupabaseDb {
    /// Dropped before the roles (they own objects in it).
    db: Option<EmptyDb>,
    /// A superuser connection to the database.
    pub admin: Client,
    pub owner: Role,
    pub installer: Role,
}

/// Creates a cluster-wide NOLOGIN role once; concurrent tests may race to create it.
fn shared_role(name: &str, options: &str) -> String {
    format!(
        "DO $$ BEGIN CREATE ROLE {name} NOLOGIN {options};
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;"
    )
}

impl SupabaseDb {
    pub async fn create() -> SupabaseDb {
        let db = EmptyDb::create_without_pgvector().await;
        let admin = connect(&db.url).await;
        let prefix = unique_name("vecsync_test_role");
        let password = format!("pw_{}", &prefix[prefix.len() - 9..]);
        let role = |suffix: &str| {
            let name = format!("{prefix}_{suffix}");
            let mut url = url::Url::parse(&url_for_db(&db.admin_url, &db.name)).unwrap();
            url.set_username(&name).unwrap();
            url.set_password(Some(&password)).unwrap();
            Role {
                name,
                url: url.to_string(),
            }
        };
        let (owner, installer) = (role("owner"), role("installer"));
        let (o, i, d) = (&owner.name, &installer.name, &db.name);
        let setup = format!(
            "{anon}{authenticated}{service_role}
             CREATE SCHEMA extensions;
             CREATE EXTENSION vector SCHEMA extensions;
             CREATE EXTENSION moddatetime SCHEMA extensions;
             CREATE ROLE {o} LOGIN PASSWORD '{password}';
             CREATE ROLE {i} LOGIN PASSWORD '{password}';
             GRANT CREATE ON DATABASE \"{d}\" TO {o}, {i};
             GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role, {o}, {i};
             CREATE SCHEMA \"App\" AUTHORIZATION {o};
             GRANT USAGE ON SCHEMA \"App\" TO anon, authenticated, service_role, {i};
             SET ROLE {o};
             CREATE TABLE \"App\".\"Docs\" (
                 id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                 \"Title\" text NOT NULL,
                 company text,
                 body text,
                 \"isPublished\" boolean NOT NULL DEFAULT true,
                 author_id uuid,
                 updated_at timestamptz NOT NULL DEFAULT now(),
                 embedding extensions.vector({DIMS})
             );
             CREATE TRIGGER handle_updated_at BEFORE UPDATE ON \"App\".\"Docs\"
                 FOR EACH ROW EXECUTE FUNCTION extensions.moddatetime(updated_at);
             ALTER TABLE \"App\".\"Docs\" ENABLE ROW LEVEL SECURITY;
             CREATE POLICY \"api roles\" ON \"App\".\"Docs\" TO anon, authenticated
                 USING (true) WITH CHECK (true);
             CREATE POLICY vecsync ON \"App\".\"Docs\" TO {i} USING (true) WITH CHECK (true);
             GRANT SELECT, INSERT, UPDATE, DELETE ON \"App\".\"Docs\"
                 TO anon, authenticated, service_role;
             GRANT SELECT, TRIGGER ON \"App\".\"Docs\" TO {i};
             GRANT UPDATE (embedding) ON \"App\".\"Docs\" TO {i};
             INSERT INTO \"App\".\"Docs\" (\"Title\", company, body, \"isPublished\")
                 SELECT 'Title ' || g, 'Company ' || g % 7, 'Body ' || g, g % 5 <> 0
                 FROM generate_series(1, {ROWS}) g;
             RESET ROLE;",
            anon = shared_role("anon", ""),
            authenticated = shared_role("authenticated", ""),
            service_role = shared_role("service_role", "BYPASSRLS"),
        );
        admin
            .batch_execute(&setup)
            .await
            .unwrap_or_else(|e| panic!("Supabase-shaped fixture: {e:?}"));
        SupabaseDb {
            db: Some(db),
            admin,
            owner,
            installer,
        }
    }

    /// A config for `role` with the fake embedder: the table, a template over a mixed-case
    /// column, a filter on a mixed-case column, display columns.
    pub fn config(&self, role: &Role) -> Config {
        let mut config = Config {
            database_url: role.url.clone(),
            ..Config::default()
        };
        config.source.table = "App.Docs".into();
        config.source.id_column = "id".into();
        config.source.template = "{Title} at {company}: {body}".into();
        config.source.embedding_column = "embedding".into();
        config.source.filter = Some("\"isPublished\"".into());
        config.source.display_columns = vec!["Title".into(), "company".into()];
        config.embedder.provider = "fake".into();
        config.embedder.model = "fake".into();
        config.embedder.dimensions = Some(DIMS);
        config.validate().expect("valid fixture config");
        config
    }

    /// Runs `sql` in one transaction as `role` (`SET LOCAL ROLE`, from the superuser), the
    /// way an application role writes; the transaction's error, if any.
    pub async fn write_as(&self, role: &str, sql: &str) -> Result<(), tokio_postgres::Error> {
        let client = connect(&self.db.as_ref().expect("live").url).await;
        client
            .batch_execute(&format!("BEGIN; SET LOCAL ROLE {role}; {sql}; COMMIT;"))
            .await
    }

    /// Like [`Self::write_as`], failing the test with the database's message.
    pub async fn app_write(&self, role: &str, sql: &str) {
        if let Err(e) = self.write_as(role, sql).await {
            let msg = e
                .as_db_error()
                .map(|d| d.message().to_string())
                .unwrap_or_else(|| e.to_string());
            panic!("the application's write failed as {role}: {msg}\n{sql}");
        }
    }

    /// Runs a superuser statement (DDL, checks) and fails the test on error.
    pub async fn exec(&self, sql: &str) {
        self.admin
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        self.admin
            .query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
            .get(0)
    }

    pub async fn text(&self, sql: &str) -> String {
        self.admin
            .query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
            .get(0)
    }

    pub async fn flag(&self, sql: &str) -> bool {
        self.admin
            .query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
            .get(0)
    }
}

impl Drop for SupabaseDb {
    fn drop(&mut self) {
        let Some(db) = self.db.take() else { return };
        let admin_url = db.admin_url.clone();
        drop(db);
        let drop_roles = [&self.owner.name, &self.installer.name]
            .map(|role| format!("DROP ROLE IF EXISTS \"{role}\""));
        admin_from_thread(&admin_url, drop_roles.to_vec());
    }
}
