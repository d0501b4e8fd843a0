//! The privileges each command needs, and which ones the connecting role lacks.
//!
//! Checked with `has_table_privilege` / `has_column_privilege` / `has_schema_privilege` /
//! `pg_has_role` before a command runs (and by `doctor` for every command), so a missing
//! grant is named, with the statement that grants it: `vecsync needs UPDATE (embedding) on
//! public.jobs`, not "permission denied" from whichever statement hit it first, nor a
//! filter blamed for it. [`explain_denied`] turns a `42501 insufficient_privilege` raised at
//! run time into the same message.
//!
//! What each command needs (docs/postgres.md has the same list):
//!
//! | command | on the source table | on vecsync's schema |
//! |---|---|---|
//! | init | USAGE on its schema, TRIGGER | CREATE on the database; USAGE and CREATE on the schema if it exists, ownership of vecsync's functions to replace them, INSERT and UPDATE on meta, INSERT on migrations |
//! | uninstall | ownership | ownership of the schema |
//! | backfill, work | USAGE on its schema, SELECT on the id, embedding, template and filter columns, UPDATE (embedding) | USAGE; SELECT, INSERT, UPDATE, DELETE on queue and state; SELECT, INSERT, DELETE on row_counts and completions; SELECT on meta and UPDATE of its audited_at, queue_complete_for and healed_at; SELECT on migrations and vectorizer; INSERT on usage |
//! | status | SELECT on the id, embedding, template and filter columns | USAGE; SELECT on queue, state, row_counts, completions, meta, usage and vectorizer |
//! | search | SELECT on the id, embedding, display and filter columns | USAGE; SELECT on vectorizer |

use anyhow::Result;

use super::catalog::Column;
use super::errors::PgError;
use super::install::{upgrade_needed, SCHEMA_VERSION};
use super::installed::Installed;
use super::pool::Conn;
use super::PostgresStore;
use crate::config_error;

/// What a privilege check is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Init,
    Uninstall,
    /// `backfill` and `work` (and `reconcile --fix`, `retry-failed`).
    Work,
    Status,
    Search,
}

impl Command {
    pub const ALL: [Command; 5] = [
        Command::Init,
        Command::Uninstall,
        Command::Work,
        Command::Status,
        Command::Search,
    ];

    /// The commands, as a user types them.
    pub fn label(self) -> &'static str {
        match self {
            Command::Init => "init",
            Command::Uninstall => "uninstall",
            Command::Work => "backfill/work",
            Command::Status => "status",
            Command::Search => "search",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Table,
    Column,
    Schema,
    Database,
    TableOwner,
    SchemaOwner,
    FunctionOwner,
}

impl Kind {
    fn sql(self) -> &'static str {
        match self {
            Kind::Table => "table",
            Kind::Column => "column",
            Kind::Schema => "schema",
            Kind::Database => "database",
            Kind::TableOwner => "table_owner",
            Kind::SchemaOwner => "schema_owner",
            Kind::FunctionOwner => "function_owner",
        }
    }
}

/// One privilege a command needs.
#[derive(Debug, Clone)]
struct Need {
    kind: Kind,
    /// The schema of the relation or function, or the schema itself (raw names, as stored).
    schema: String,
    /// The relation or function.
    name: Option<String>,
    column: Option<String>,
    privilege: &'static str,
    /// As a user reads it: `public.jobs`, `schema vecsync`, `function vecsync.on_insert()`.
    display: String,
}

/// The privileges a command lacks, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub command: Command,
    /// `UPDATE (embedding) on public.jobs`, `USAGE on schema vecsync`, one per object and
    /// privilege (columns grouped).
    pub what: Vec<String>,
    /// The statements that grant them (or who must run the command).
    pub fixes: Vec<String>,
}

impl Missing {
    /// `vecsync needs UPDATE (embedding) on public.jobs (for backfill/work)`.
    pub fn message(&self) -> String {
        format!(
            "vecsync needs {} (for {})",
            self.what.join(", "),
            self.command.label()
        )
    }

    /// The statements to run, joined.
    pub fn fix(&self) -> String {
        self.fixes.join("; ")
    }
}

/// An identifier as a user would type it: bare when that means the same, quoted otherwise.
pub(super) fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        crate::config::quote_ident(name)
    }
}

/// The columns of the table that `filter` mentions (identifiers outside string literals;
/// unquoted names fold to lower case, as PostgreSQL does). A heuristic good enough to name
/// a column the role cannot read; the filter probe still has the last word.
pub(super) fn filter_columns(filter: &str, cols: &[Column]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut chars = filter.chars().peekable();
    let mut add = |word: String| {
        if cols.iter().any(|c| c.name == word) && !found.contains(&word) {
            found.push(word);
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                // A string literal; '' inside is an escaped quote.
                while let Some(c) = chars.next() {
                    if c == '\'' && chars.peek() != Some(&'\'') {
                        break;
                    } else if c == '\'' {
                        chars.next();
                    }
                }
            }
            '"' => {
                let mut word = String::new();
                while let Some(c) = chars.next() {
                    if c == '"' && chars.peek() == Some(&'"') {
                        chars.next();
                        word.push('"');
                    } else if c == '"' {
                        break;
                    } else {
                        word.push(c);
                    }
                }
                add(word);
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut word = c.to_lowercase().to_string();
                while let Some(&c) = chars.peek() {
                    if c.is_alphanumeric() || c == '_' || c == '$' {
                        word.extend(c.to_lowercase());
                        chars.next();
                    } else {
                        break;
                    }
                }
                add(word);
            }
            _ => {}
        }
    }
    found
}

/// Who is asking and where: for messages and GRANT statements.
pub(super) struct Who {
    /// The source table's schema and name, as stored.
    pub(super) table_schema: String,
    pub(super) table_name: String,
    pub(super) role: String,
    pub(super) database: String,
    /// The schema pgvector is installed in (`extensions` on Supabase), if it is.
    pub(super) pgvector_schema: Option<String>,
}

impl Who {
    pub(super) async fn read(c: &mut Conn, oid: u32) -> Result<Who> {
        let row = c
            .query_one(include_str!("sql/privileges/who.sql"), &[&oid])
            .await?;
        Ok(Who {
            table_schema: row.get(0),
            table_name: row.get(1),
            role: row.get(2),
            database: row.get(3),
            pgvector_schema: row.get(4),
        })
    }

    /// `public.jobs`.
    pub(super) fn table(&self) -> String {
        format!("{}.{}", ident(&self.table_schema), ident(&self.table_name))
    }
}

impl PostgresStore {
    /// Everything `command` needs, given the table's columns and what is installed.
    fn needs(
        &self,
        command: Command,
        who: &Who,
        oid: u32,
        cols: &[Column],
        inst: &Installed,
    ) -> Vec<Need> {
        let n = &self.names;
        let need = |kind, schema: &str, name: Option<&str>, privilege, display: String| Need {
            kind,
            schema: schema.to_string(),
            name: name.map(str::to_string),
            column: None,
            privilege,
            display,
        };
        let table = |kind, privilege| {
            need(
                kind,
                &who.table_schema,
                Some(&who.table_name),
                privilege,
                who.table(),
            )
        };
        let column = |col: &str, privilege| Need {
            column: Some(col.to_string()),
            ..table(Kind::Column, privilege)
        };
        let ours = |name: &str, privilege| {
            let display = format!("{}.{name}", ident(&n.schema));
            need(Kind::Table, &n.schema, Some(name), privilege, display)
        };
        let schema = |kind, name: &str, privilege| {
            need(
                kind,
                name,
                None,
                privilege,
                format!("schema {}", ident(name)),
            )
        };
        let exists = |c: &str| cols.iter().any(|col| col.name == c);
        // The columns every reading command selects; only those that exist (a missing
        // column is a setting error, reported as such).
        let mut read: Vec<&str> = vec![&self.source.id_column, &self.source.embedding_column];
        let filter_cols = self
            .source
            .filter
            .as_deref()
            .map(|f| filter_columns(f, cols))
            .unwrap_or_default();
        let extra: Vec<&str> = match command {
            Command::Search => self
                .source
                .display_columns
                .iter()
                .map(String::as_str)
                .collect(),
            _ => self.template.columns(),
        };
        for c in extra
            .into_iter()
            .chain(filter_cols.iter().map(String::as_str))
        {
            if !read.contains(&c) {
                read.push(c);
            }
        }
        read.retain(|c| exists(c));
        let reads_table = |needs: &mut Vec<Need>| {
            needs.push(schema(Kind::Schema, &who.table_schema, "USAGE"));
            needs.extend(read.iter().map(|c| column(c, "SELECT")));
        };
        // Writing vectors and searching name pgvector's type and operator with its schema.
        let uses_pgvector = |needs: &mut Vec<Need>| {
            if let Some(s) = &who.pgvector_schema {
                needs.push(schema(Kind::Schema, s, "USAGE"));
            }
        };
        let hash = self
            .has_key_columns(cols)
            .ok()
            .map(|()| self.triggers_hash());
        let current = |check: fn(&Installed, u32, &str) -> bool| {
            hash.as_deref().is_some_and(|h| check(inst, oid, h))
        };
        let mut needs = Vec::new();
        match command {
            // An installation that matches the config: `init` has nothing to do.
            Command::Init if current(Installed::is_current) => {}
            Command::Init => {
                // `CREATE SCHEMA IF NOT EXISTS` checks CREATE on the database even when the
                // schema exists.
                needs.push(need(
                    Kind::Database,
                    "",
                    None,
                    "CREATE",
                    format!("database {}", ident(&who.database)),
                ));
                needs.push(schema(Kind::Schema, &n.schema, "USAGE"));
                needs.push(schema(Kind::Schema, &n.schema, "CREATE"));
                needs.push(schema(Kind::Schema, &who.table_schema, "USAGE"));
                // CREATE OR REPLACE TRIGGER: TRIGGER on the table creates, replaces and
                // re-enables vecsync's triggers; no ownership needed.
                needs.push(table(Kind::Table, "TRIGGER"));
                // CREATE OR REPLACE FUNCTION: the owner of the functions (one role installed
                // all four).
                let display = format!("vecsync's trigger functions in schema {}", ident(&n.schema));
                needs.push(need(
                    Kind::FunctionOwner,
                    &n.schema,
                    Some("on_insert"),
                    "",
                    display,
                ));
                needs.push(ours("meta", "INSERT"));
                needs.push(ours("meta", "UPDATE"));
                needs.push(ours("migrations", "INSERT"));
            }
            Command::Uninstall => {
                // DROP TRIGGER and DROP SCHEMA: their owners only.
                if inst.triggers + inst.disabled > 0 {
                    needs.push(table(Kind::TableOwner, ""));
                }
                if inst.schema {
                    needs.push(schema(Kind::SchemaOwner, &n.schema, ""));
                }
            }
            Command::Work => {
                reads_table(&mut needs);
                uses_pgvector(&mut needs);
                if exists(&self.source.embedding_column) {
                    needs.push(column(&self.source.embedding_column, "UPDATE"));
                }
                needs.push(schema(Kind::Schema, &n.schema, "USAGE"));
                for t in ["queue", "state"] {
                    for p in ["SELECT", "INSERT", "UPDATE", "DELETE"] {
                        needs.push(ours(t, p));
                    }
                }
                // Workers fold the row counts (the audit they start with recounts them), log
                // written batches and prune the log.
                for t in ["row_counts", "completions"] {
                    for p in ["SELECT", "INSERT", "DELETE"] {
                        needs.push(ours(t, p));
                    }
                }
                needs.push(ours("meta", "SELECT"));
                // The audit `work` starts with is recorded there; without it, `status`
                // never trusts the queue and audits every time. Workers take turns to
                // heal (`healed_at`).
                for c in ["audited_at", "queue_complete_for", "healed_at"] {
                    needs.push(Need {
                        kind: Kind::Column,
                        column: Some(c.to_string()),
                        ..ours("meta", "UPDATE")
                    });
                }
                needs.push(ours("migrations", "SELECT"));
                needs.push(ours("usage", "INSERT"));
                needs.push(ours("vectorizer", "SELECT"));
            }
            Command::Status => {
                reads_table(&mut needs);
                needs.push(schema(Kind::Schema, &n.schema, "USAGE"));
                let tables = [
                    "queue",
                    "state",
                    "row_counts",
                    "completions",
                    "meta",
                    "usage",
                    "vectorizer",
                ];
                for t in tables {
                    needs.push(ours(t, "SELECT"));
                }
            }
            // The search statement reads `vectorizer` (the model fence, docs/migration.md).
            Command::Search => {
                reads_table(&mut needs);
                uses_pgvector(&mut needs);
                needs.push(schema(Kind::Schema, &n.schema, "USAGE"));
                needs.push(ours("vectorizer", "SELECT"));
            }
        }
        needs
    }

    /// The privileges `command` needs that the connecting role lacks (`None` when it has
    /// them all).
    pub(super) async fn missing_privileges(
        &self,
        c: &mut Conn,
        command: Command,
        oid: u32,
        cols: &[Column],
        inst: &Installed,
    ) -> Result<Option<Missing>> {
        let who = Who::read(c, oid).await?;
        let needs = self.needs(command, &who, oid, cols, inst);
        let kinds: Vec<&str> = needs.iter().map(|n| n.kind.sql()).collect();
        let schemas: Vec<&str> = needs.iter().map(|n| n.schema.as_str()).collect();
        let names: Vec<Option<&str>> = needs.iter().map(|n| n.name.as_deref()).collect();
        let columns: Vec<Option<&str>> = needs.iter().map(|n| n.column.as_deref()).collect();
        let privileges: Vec<&str> = needs.iter().map(|n| n.privilege).collect();
        let rows = c
            .query(
                include_str!("sql/privileges/missing.sql"),
                &[&kinds, &schemas, &names, &columns, &privileges],
            )
            .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let lacking: Vec<(&Need, Option<String>)> = rows
            .iter()
            .map(|r| (&needs[r.get::<_, i32>(0) as usize - 1], r.get(1)))
            .collect();
        Ok(Some(describe(command, &who, &lacking)))
    }

    /// A setup error when the role lacks a privilege `command` needs or, for commands that
    /// read the table, when row-level security hides rows from it.
    pub(super) async fn check_access(
        &self,
        c: &mut Conn,
        command: Command,
        oid: u32,
        cols: &[Column],
    ) -> Result<()> {
        let inst = Installed::read(self, c, oid).await?;
        if let Some(m) = self
            .missing_privileges(c, command, oid, cols, &inst)
            .await?
        {
            let upgrade = match inst.version {
                Some(v) if command == Command::Init && v < SCHEMA_VERSION => format!(
                    "{}, or grant this role what the upgrade needs. ",
                    upgrade_needed(&self.names.schema, v)
                ),
                _ => String::new(),
            };
            return Err(config_error!("{upgrade}{}: {}", m.message(), m.fix()));
        }
        match command {
            Command::Work => self.refuse_hidden_rows(c, oid, true).await,
            Command::Status => self.refuse_hidden_rows(c, oid, false).await,
            _ => Ok(()),
        }
    }
}

/// Groups what is missing (the columns of one privilege on a table, the privileges on one
/// relation or schema) and writes the statements that fix it.
fn describe(command: Command, who: &Who, lacking: &[(&Need, Option<String>)]) -> Missing {
    let role = ident(&who.role);
    // Needs on the same object, in order of first appearance.
    struct Group<'a> {
        need: &'a Need,
        privileges: Vec<&'static str>,
        columns: Vec<String>,
        owner: &'a Option<String>,
    }
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (need, owner) in lacking {
        let same = |g: &&mut Group<'_>| {
            g.need.kind == need.kind
                && g.need.display == need.display
                && (need.kind != Kind::Column || g.need.privilege == need.privilege)
        };
        match groups.iter_mut().find(same) {
            Some(g) if matches!(need.kind, Kind::Table | Kind::Schema) => {
                g.privileges.push(need.privilege)
            }
            Some(g) if need.kind == Kind::Column => {
                g.columns.extend(need.column.as_deref().map(ident))
            }
            _ => groups.push(Group {
                need,
                privileges: vec![need.privilege],
                columns: need.column.as_deref().map(ident).into_iter().collect(),
                owner,
            }),
        }
    }
    let mut what: Vec<String> = Vec::new();
    let mut fixes: Vec<String> = Vec::new();
    for Group {
        need,
        privileges,
        columns,
        owner,
    } in groups
    {
        let privileges = privileges.join(", ");
        let owner = owner.clone().unwrap_or_else(|| "its owner".into());
        let on = &need.display;
        match need.kind {
            Kind::Column => {
                let cols = columns.join(", ");
                what.push(format!("{privileges} ({cols}) on {on}"));
                fixes.push(format!("GRANT {privileges} ({cols}) ON {on} TO {role}"));
            }
            Kind::Table => {
                what.push(format!("{privileges} on {on}"));
                fixes.push(format!("GRANT {privileges} ON {on} TO {role}"));
            }
            Kind::Schema => {
                what.push(format!("{privileges} on {on}"));
                fixes.push(format!(
                    "GRANT {privileges} ON SCHEMA {} TO {role}",
                    ident(&need.schema)
                ));
            }
            Kind::Database => {
                what.push(format!("{privileges} on {on}"));
                fixes.push(format!(
                    "GRANT CREATE ON DATABASE {} TO {role}",
                    ident(&who.database)
                ));
            }
            Kind::TableOwner | Kind::SchemaOwner | Kind::FunctionOwner => {
                let noun = if need.kind == Kind::TableOwner {
                    "table "
                } else {
                    ""
                };
                what.push(format!("ownership of {noun}{on} (owned by {owner})"));
                let verb = match command {
                    Command::Uninstall => "uninstall",
                    _ => "init",
                };
                fixes.push(format!(
                    "run `vecsync {verb}` as {owner} (or GRANT {owner} TO {role})"
                ));
            }
        }
    }
    fixes.dedup();
    Missing {
        command,
        what,
        fixes,
    }
}

/// A `42501 insufficient_privilege` from a statement of `command` becomes a setup error
/// naming what the role lacks (looked up on a fresh connection: the one that failed may be
/// in an aborted transaction); any other error is returned as it was. This is the one
/// place that maps permission errors; connection-error classification can call it.
pub(super) async fn explain_denied(
    store: &PostgresStore,
    command: Command,
    error: anyhow::Error,
) -> anyhow::Error {
    let denied = error.chain().any(|e| {
        e.downcast_ref::<PgError>()
            .and_then(|pg| pg.error.code())
            .is_some_and(|code| *code == tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
    });
    if !denied {
        return error;
    }
    let named = async {
        let mut c = store.pool.get().await?;
        let table = store.inspect(&mut c).await?;
        let inst = Installed::read(store, &mut c, table.oid).await?;
        store
            .missing_privileges(&mut c, command, table.oid, &table.columns, &inst)
            .await
    };
    match named.await {
        Ok(Some(m)) => config_error!("{}: {}", m.message(), m.fix()),
        // The catalog says nothing is missing (e.g. row-level security, or a grant that
        // came back meanwhile): still a setup problem, with the database's own words.
        _ => config_error!("{}: permission denied ({error:#})", command.label()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str) -> Column {
        Column {
            name: name.into(),
            display_type: "text".into(),
            typname: "text".into(),
            typmod: -1,
            virtual_generated: false,
        }
    }

    #[test]
    fn filter_columns_skips_literals_and_folds_case() {
        let cols: Vec<Column> = ["is_active", "Status", "title", "salary"]
            .into_iter()
            .map(col)
            .collect();
        assert_eq!(
            filter_columns(
                "IS_ACTIVE AND \"Status\" = 'title''s salary' AND status <> 'x'",
                &cols
            ),
            vec!["is_active", "Status"]
        );
        assert_eq!(
            filter_columns("jobs.salary IS NOT NULL", &cols),
            vec!["salary"]
        );
    }

    #[test]
    fn missing_privileges_are_grouped_with_their_grants() {
        let who = Who {
            table_schema: "public".into(),
            pgvector_schema: None,
            table_name: "jobs".into(),
            role: "App".into(),
            database: "app".into(),
        };
        let sel = |c: &str| Need {
            kind: Kind::Column,
            schema: "public".into(),
            name: Some("jobs".into()),
            column: Some(c.into()),
            privilege: "SELECT",
            display: "public.jobs".into(),
        };
        let upd = Need {
            privilege: "UPDATE",
            ..sel("embedding")
        };
        let usage = Need {
            kind: Kind::Schema,
            schema: "vecsync".into(),
            name: None,
            column: None,
            privilege: "USAGE",
            display: "schema vecsync".into(),
        };
        let create = Need {
            privilege: "CREATE",
            ..usage.clone()
        };
        let (a, b) = (sel("title"), sel("Company"));
        let m = describe(
            Command::Work,
            &who,
            &[
                (&a, None),
                (&upd, None),
                (&usage, None),
                (&b, None),
                (&create, None),
            ],
        );
        assert_eq!(
            m.message(),
            "vecsync needs SELECT (title, \"Company\") on public.jobs, UPDATE (embedding) on public.jobs, USAGE, CREATE on schema vecsync (for backfill/work)"
        );
        assert_eq!(
            m.fix(),
            "GRANT SELECT (title, \"Company\") ON public.jobs TO \"App\"; GRANT UPDATE (embedding) ON public.jobs TO \"App\"; GRANT USAGE, CREATE ON SCHEMA vecsync TO \"App\""
        );
    }
}
