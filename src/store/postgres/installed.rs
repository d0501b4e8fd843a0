//! What of vecsync is installed in the database, read without writing anything and without
//! failing on objects the role cannot read: `prepare` uses it to skip `init` when the
//! installation already matches the config (so a worker role needs no CREATE privilege),
//! the privilege checks to know what `init` would have to create or replace, and `doctor`
//! to report drift between the triggers and the config.

use anyhow::Result;

use super::install::SCHEMA_VERSION;
use super::pool::Conn;
use super::PostgresStore;
use crate::template::text_hash;

/// The row `init` writes in `<schema>.meta`.
#[derive(Debug, Clone)]
pub(super) struct Meta {
    pub(super) source_table: String,
    pub(super) source_oid: u32,
    pub(super) template: String,
    pub(super) filter: Option<String>,
    pub(super) triggers_hash: String,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Installed {
    /// vecsync's schema exists.
    pub(super) schema: bool,
    /// Its migrations table exists.
    pub(super) migrations: bool,
    /// Highest migration applied; `None` when not installed or not readable by the role.
    pub(super) version: Option<i32>,
    /// `None` when not installed, not readable by the role, or empty.
    pub(super) meta: Option<Meta>,
    /// vecsync's triggers on the source table that fire for the application's writes;
    /// those that do not, on the table or its partitions (`sql/installed/triggers.sql`).
    pub(super) triggers: i64,
    pub(super) disabled: i64,
    /// Every trigger function is SECURITY DEFINER.
    pub(super) security_definer: bool,
}

impl Installed {
    /// Reads the installation for the source table `oid`.
    pub(super) async fn read(store: &PostgresStore, c: &mut Conn, oid: u32) -> Result<Installed> {
        let n = &store.names;
        let row = c
            .query_one(include_str!("sql/installed/objects.sql"), &[&n.schema])
            .await?;
        let (schema, migrations, migrations_readable, meta_readable): (bool, bool, bool, bool) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        let mut out = Installed {
            schema,
            migrations,
            ..Installed::default()
        };
        if migrations_readable {
            let sql = n.vars().fill("SELECT max(version) FROM {migrations}");
            out.version = c.query_one(&sql, &[]).await?.get(0);
        }
        if meta_readable {
            let sql = n.vars().fill(include_str!("sql/installed/meta.sql"));
            out.meta = c.query(&sql, &[]).await?.first().map(|r| Meta {
                source_table: r.get(0),
                source_oid: r.get(1),
                template: r.get(2),
                filter: r.get(3),
                triggers_hash: r.get(4),
            });
        }
        let row = c
            .query_one(
                include_str!("sql/installed/triggers.sql"),
                &[&oid, &n.schema],
            )
            .await?;
        (out.triggers, out.disabled, out.security_definer) = (row.get(0), row.get(1), row.get(2));
        Ok(out)
    }

    /// Whether the triggers on the table are the ones the config asks for: their DDL
    /// hashes to `triggers_hash` (`init` records it), all four are there and enabled.
    pub(super) fn triggers_current(&self, oid: u32, triggers_hash: &str) -> bool {
        self.meta
            .as_ref()
            .is_some_and(|m| m.source_oid == oid && m.triggers_hash == triggers_hash)
            && self.triggers == 4
            && self.disabled == 0
    }

    /// Whether `init` would change nothing: every migration applied and the triggers current.
    pub(super) fn is_current(&self, oid: u32, triggers_hash: &str) -> bool {
        self.version == Some(SCHEMA_VERSION) && self.triggers_current(oid, triggers_hash)
    }
}

impl PostgresStore {
    /// The hash `init` records for the triggers it would install with this config.
    pub(super) fn triggers_hash(&self) -> String {
        text_hash(&self.trigger_ddl())
    }
}
