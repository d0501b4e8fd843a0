//! What `init` installs and `uninstall` removes: vecsync's schema, its tables (numbered
//! migrations in `migrations/`), the trigger functions and triggers on the source table
//! (`sql/install/triggers/`), and, on request, the HNSW index.

use anyhow::Result;

use super::errors::PgResultExt;
use super::pool::Tx;
use super::statements::storage_of;
use super::PostgresStore;
use crate::config::quote_ident;
use crate::config_error;
use crate::template::sql_string_literal;

/// Versioned migrations, applied in order, once each, by `init`.
const MIGRATIONS: [(i32, &str); 6] = [
    (1, include_str!("migrations/001_queue_state_meta.sql")),
    (2, include_str!("migrations/002_usage.sql")),
    (3, include_str!("migrations/003_vectorizer.sql")),
    (4, include_str!("migrations/004_audit.sql")),
    (5, include_str!("migrations/005_counts.sql")),
    (6, include_str!("migrations/006_storage.sql")),
];
/// Version of the objects `init` installs.
pub(super) const SCHEMA_VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// What to do about a schema at `version`, older than this vecsync's.
pub(super) fn upgrade_needed(schema: &str, version: i32) -> String {
    format!(
        "vecsync's schema {schema:?} is at version {version} and this vecsync needs version {SCHEMA_VERSION}: run `vecsync init` once as the role that installed it (usually the table's owner)"
    )
}

/// Serializes `init` and `uninstall` of one schema (several workers starting at once).
const LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(hashtext($1::text))";

impl PostgresStore {
    fn trigger_name(&self, op: &str) -> String {
        let schema = &self.names.schema;
        quote_ident(&format!("{}_{op}", &schema[..schema.len().min(50)]))
    }

    /// The trigger functions and triggers for the current config (see the header of each
    /// file in `sql/install/triggers/`). They name no column of the table by position or
    /// type, so they depend on the config alone.
    pub(super) fn trigger_ddl(&self) -> String {
        let passes = |rec: &str| match &self.source.filter {
            Some(_) => self
                .names
                .vars()
                .with("record", rec)
                .fill("EXISTS (SELECT 1 FROM (SELECT {record}.*) AS {alias} WHERE {filter})"),
            None => "true".to_string(),
        };
        // Whether a template column changed as text, between records `old` and `new`.
        let template_changed = |old: &str, new: &str| {
            self.template
                .columns()
                .iter()
                .map(|c| {
                    format!(
                        "{old}.{c}::text IS DISTINCT FROM {new}.{c}::text",
                        c = quote_ident(c)
                    )
                })
                .collect::<Vec<_>>()
                .join(" OR ")
        };
        let vars = self
            .names
            .vars()
            .with("template_changed", template_changed("OLD", "NEW"))
            .with("template_changed_pairs", template_changed("o", "n"))
            .with("old_passes", passes("OLD"))
            .with("new_passes", passes("NEW"))
            .with("table_name", sql_string_literal(&self.names.table))
            .with("storage", storage_of("TG_RELID::regclass"))
            .with("insert_trigger", self.trigger_name("insert"))
            .with("update_trigger", self.trigger_name("update"))
            .with("delete_trigger", self.trigger_name("delete"))
            .with("truncate_trigger", self.trigger_name("truncate"));
        [
            include_str!("sql/install/triggers/on_insert.sql"),
            include_str!("sql/install/triggers/on_update.sql"),
            include_str!("sql/install/triggers/on_delete.sql"),
            include_str!("sql/install/triggers/on_truncate.sql"),
            include_str!("sql/install/triggers/create.sql"),
        ]
        .map(|sql| vars.fill(sql))
        .join("\n")
    }
}

/// Checks the table against the config, then creates vecsync's schema and tables (the migrations not
/// applied yet) and installs the triggers when they are missing, disabled, or differ from
/// what the config asks for; records what the schema is installed for. Refuses a schema
/// that holds someone else's objects or serves another table. Nothing is installed when a
/// check fails.
pub(super) async fn install(store: &PostgresStore) -> Result<()> {
    let mut c = store.pool.get().await?;
    let (table, shape) = store.validate(&mut c).await?;
    let filter_immutable = store.filter_immutable(&mut c, &table).await?;
    if filter_immutable.is_none() {
        tracing::warn!(
            "could not check whether source.filter depends on the row alone (this role may not create temporary tables): `status` will audit every time; run `vecsync init` as a role that may"
        );
    }
    let oid = table.oid;
    let n = &store.names;
    let vars = n.vars().with("id_type", shape.id_type.clone());
    let tx = c.transaction().await.pg()?;
    tx.execute(LOCK_SQL, &[&format!("vecsync:{}", n.schema)])
        .await
        .pg()?;
    let foreign: Option<String> = tx
        .query_one(include_str!("sql/install/foreign_object.sql"), &[&n.schema])
        .await
        .pg()?
        .get(0);
    if let Some(object) = foreign {
        return Err(config_error!(
            setting = "schema",
            "{:?} already holds {object}, which vecsync did not create; choose a schema of vecsync's own",
            n.schema
        ));
    }
    tx.batch_execute(&vars.fill(include_str!("sql/install/bootstrap.sql")))
        .await
        .pg()?;
    let current: i32 = tx
        .query_one(
            &vars.fill("SELECT coalesce(max(version), 0) FROM {migrations}"),
            &[],
        )
        .await
        .pg()?
        .get(0);
    if current > SCHEMA_VERSION {
        return Err(config_error!(
            setting = "schema",
            "{:?} was set up by a newer vecsync (version {current}, this one knows {SCHEMA_VERSION}); upgrade vecsync",
            n.schema
        ));
    }
    for (version, sql) in MIGRATIONS {
        if version > current {
            tx.batch_execute(&vars.fill(sql)).await.pg()?;
            tx.execute(
                &vars.fill("INSERT INTO {migrations} (version) VALUES ($1)"),
                &[&version],
            )
            .await
            .pg()?;
        }
    }
    let meta = tx
        .query(
            &vars.fill("SELECT source_table, source_oid, triggers_hash FROM {meta}"),
            &[],
        )
        .await
        .pg()?;
    let ddl = store.trigger_ddl();
    let hash = crate::template::text_hash(&ddl);
    let mut up_to_date = false;
    if let Some(row) = meta.first() {
        let (table, old_oid, old_hash): (String, u32, String) =
            (row.get(0), row.get(1), row.get(2));
        if old_oid != oid && table != store.source.table {
            return Err(config_error!(
                setting = "schema",
                "{:?} is installed for table {table:?}, not {:?}; run `vecsync uninstall` with the settings it was installed with, or choose another schema",
                n.schema,
                store.source.table
            ));
        }
        up_to_date = old_oid == oid && old_hash == hash;
    }
    let triggers = tx
        .query_one(
            include_str!("sql/installed/triggers.sql"),
            &[&oid, &n.schema],
        )
        .await
        .pg()?;
    let (firing, not_firing): (i64, i64) = (triggers.get(0), triggers.get(1));
    if !up_to_date || firing != 4 || not_firing > 0 {
        tracing::info!("installing vecsync triggers on {}", store.source.table);
        tx.batch_execute(&ddl).await.pg()?;
    }
    let source = &store.source;
    tx.execute(
        &vars.fill(include_str!("sql/install/meta_upsert.sql")),
        &[
            &source.table,
            &oid,
            &source.id_column,
            &source.embedding_column,
            &source.template,
            &source.filter,
            &hash,
            &filter_immutable,
        ],
    )
    .await
    .pg()?;
    tx.commit().await.pg()?;
    Ok(())
}

/// Drops vecsync's triggers (on any table) and its schema, and nothing else; refuses a
/// schema that holds objects vecsync did not create. Nothing installed: nothing to do.
pub(super) async fn uninstall(store: &PostgresStore) -> Result<()> {
    let n = &store.names;
    {
        let mut c = store.pool.get().await?;
        let tx = c.transaction().await.pg()?;
        tx.execute(LOCK_SQL, &[&format!("vecsync:{}", n.schema)])
            .await
            .pg()?;
        let exists: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1::text)",
                &[&n.schema],
            )
            .await
            .pg()?
            .get(0);
        if !exists {
            return Ok(());
        }
        let ours: bool = tx
            .query_one("SELECT to_regclass($1::text) IS NOT NULL", &[&n.migrations])
            .await
            .pg()?
            .get(0);
        let foreign: Option<String> = tx
            .query_one(include_str!("sql/install/foreign_object.sql"), &[&n.schema])
            .await
            .pg()?
            .get(0);
        if !ours || foreign.is_some() {
            return Err(config_error!(
                setting = "schema",
                "{:?} holds {}, which vecsync did not create; not dropping it",
                n.schema,
                foreign.unwrap_or_else(|| "objects".into())
            ));
        }
        drop_triggers(&tx, &n.schema).await?;
        tx.batch_execute(&format!("DROP SCHEMA {} CASCADE", n.qs))
            .await
            .pg()?;
        tx.commit().await.pg()?;
    }
    store.pool.reset();
    store.listen.forget().await;
    Ok(())
}

/// Drops the triggers (on the source table) that call functions in `schema`.
pub(super) async fn drop_triggers(tx: &Tx<'_>, schema: &str) -> Result<()> {
    let triggers = tx
        .query(include_str!("sql/install/triggers_to_drop.sql"), &[&schema])
        .await
        .pg()?;
    for t in &triggers {
        let (name, table): (String, String) = (t.get(0), t.get(1));
        tx.batch_execute(&format!(
            "DROP TRIGGER IF EXISTS {} ON {table}",
            quote_ident(&name)
        ))
        .await
        .pg()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order() {
        for (i, (version, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version, i as i32 + 1);
        }
        assert_eq!(SCHEMA_VERSION, 6);
    }
}
