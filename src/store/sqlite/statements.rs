//! The store's SQL: the `.sql` files in `sql/`, with the config's identifiers substituted
//! once when the store opens. Values are always bound parameters.
//!
//! The files name vecsync's tables `vecsync_queue`, `vecsync_state`… A model migration's
//! other vectorizer (`crate::store::migration`) gets the same SQL with its own prefix
//! (`vecsync_next_queue`…), applied to the file text before any placeholder is filled.
//!
//! A file holds one concern's statements. Each statement starts at a `-- name: NAME`
//! line; the comment lines after it say what it does and which parameters it takes.
//! Placeholders in braces (`{table}`, `{id}`, `{render}`…) stand for identifiers (quoted
//! and validated by the config) or SQL built from them, never for values.

use anyhow::Result;

use crate::config::{quote_ident, quote_qualified, SourceConfig};
use crate::config_error;
use crate::template::{sql_string_literal, Template};

/// Every statement the store runs, built once per store.
pub(super) struct Statements {
    pub setup: Setup,
    pub install: Install,
    pub enqueue: Enqueue,
    pub claim: Claim,
    pub complete: Complete,
    pub status: StatusSql,
    pub search: Search,
    pub migration: super::migration::Sql,
}

pub(super) struct Setup {
    pub table_exists: String,
    pub columns: String,
    pub filter_probe: String,
    pub wrong_dimensions: String,
    pub installed: String,
    /// Still holds `{id_type}`, known only from the catalog: see [`fill`].
    pub bookkeeping: String,
    pub uninstall: String,
}

/// Still hold the placeholders filled at install time from the catalog (see
/// `sql/install.sql`).
pub(super) struct Install {
    pub insert_trigger: String,
    pub update_trigger: String,
    pub delete_trigger: String,
    pub installed: String,
    pub drop: String,
    pub probe_insert: String,
    pub probe_update: String,
    pub probe_delete: String,
}

pub(super) struct Enqueue {
    pub first_id: String,
    pub next_id: String,
    pub chunk_end: String,
    pub chunk: String,
    pub peek: String,
    pub peek_fresh: String,
}

pub(super) struct Claim {
    pub lease: String,
    pub fetch: String,
    pub forget: String,
    pub fail_row: String,
    /// The template's columns, in the order `fetch` returns them after id and text.
    pub template_columns: Vec<String>,
}

pub(super) struct Complete {
    pub claimed: String,
    pub write: String,
    pub record_state: String,
    pub dequeue: String,
    pub source_exists: String,
    pub requeue: String,
    pub forget_state: String,
    pub fail: String,
    pub release: String,
    pub retry_failed: String,
    pub reconcile_forget: String,
}

pub(super) struct StatusSql {
    pub table_counts: String,
    pub queue_counts: String,
    pub done_without_vector: String,
    pub recent_failures: String,
    pub completions_per_minute: String,
    pub usage_totals: String,
    pub record_usage: String,
    pub now_utc: String,
}

pub(super) struct Search {
    pub nearest: String,
}

/// vecsync's tables in one namespace, without the `vecsync_` prefix.
pub(super) const TABLES: [&str; 4] = ["queue", "state", "usage", "vectorizer"];

/// `sql` with vecsync's table names (`vecsync_queue`… and the indexes named after them)
/// moved to the namespace `prefix` (`vecsync_` is the live one).
fn in_namespace(sql: &str, prefix: &str) -> String {
    TABLES.iter().fold(sql.to_string(), |sql, t| {
        sql.replace(&format!("vecsync_{t}"), &format!("{prefix}{t}"))
    })
}

impl Statements {
    /// The live vectorizer's statements.
    pub fn new(source: &SourceConfig) -> Result<Statements> {
        Statements::new_in(source, "vecsync_")
    }

    /// The statements of the vectorizer whose tables start with `prefix`.
    pub fn new_in(source: &SourceConfig, prefix: &str) -> Result<Statements> {
        let template = Template::parse(&source.template)
            .map_err(|e| config_error!(setting = "source.template", "{e}"))?;
        let render = template.to_sql(
            |c| format!("coalesce(CAST(s.{} AS TEXT), '')", quote_ident(c)),
            sql_string_literal,
            |pieces| format!("({})", pieces.join(" || ")),
        );
        let filter = match &source.filter {
            Some(f) => format!("({f})"),
            None => "1".into(),
        };
        let (table_schema, table_name) = match source.table.split_once('.') {
            Some((schema, name)) => (quote_ident(schema), quote_ident(name)),
            None => ("main".into(), quote_ident(&source.table)),
        };
        let template_columns: Vec<String> =
            template.columns().into_iter().map(String::from).collect();
        let display_columns: String = source
            .display_columns
            .iter()
            .map(|c| format!(", s.{}", quote_ident(c)))
            .collect();
        let mut vars = vec![
            ("table", quote_qualified(&source.table)),
            ("table_schema", table_schema),
            ("table_name", table_name),
            ("id", quote_ident(&source.id_column)),
            ("emb", quote_ident(&source.embedding_column)),
            ("render", render),
            ("filter", filter),
            ("display_columns", display_columns),
            (
                "template_columns",
                template_columns
                    .iter()
                    .map(|c| format!(", s.{}", quote_ident(c)))
                    .collect(),
            ),
        ];
        let needs_work = fill(
            &strip_comments(&in_namespace(include_str!("sql/needs_work.sql"), prefix)),
            &vars,
        );
        vars.push(("needs_work", needs_work));
        let load = |name, text| File::load(name, &in_namespace(text, prefix), &vars);

        let mut f = load("setup.sql", include_str!("sql/setup.sql"));
        let setup = Setup {
            table_exists: f.take("table_exists"),
            columns: f.take("columns"),
            filter_probe: f.take("filter_probe"),
            wrong_dimensions: f.take("wrong_dimensions"),
            installed: f.take("installed"),
            bookkeeping: f.take("bookkeeping"),
            uninstall: f.take("uninstall"),
        };
        let mut f = load("install.sql", include_str!("sql/install.sql"));
        let install = Install {
            insert_trigger: f.take("insert_trigger"),
            update_trigger: f.take("update_trigger"),
            delete_trigger: f.take("delete_trigger"),
            installed: f.take("installed"),
            drop: f.take("drop"),
            probe_insert: f.take("probe_insert"),
            probe_update: f.take("probe_update"),
            probe_delete: f.take("probe_delete"),
        };
        let mut f = load("enqueue.sql", include_str!("sql/enqueue.sql"));
        let enqueue = Enqueue {
            first_id: f.take("first_id"),
            next_id: f.take("next_id"),
            chunk_end: f.take("chunk_end"),
            chunk: f.take("chunk"),
            peek: f.take("peek"),
            peek_fresh: f.take("peek_fresh"),
        };
        let mut f = load("claim.sql", include_str!("sql/claim.sql"));
        let claim = Claim {
            lease: f.take("lease"),
            fetch: f.take("fetch"),
            forget: f.take("forget"),
            fail_row: f.take("fail_row"),
            template_columns,
        };
        let mut f = load("complete.sql", include_str!("sql/complete.sql"));
        let complete = Complete {
            claimed: f.take("claimed"),
            write: f.take("write"),
            record_state: f.take("record_state"),
            dequeue: f.take("dequeue"),
            source_exists: f.take("source_exists"),
            requeue: f.take("requeue"),
            forget_state: f.take("forget_state"),
            fail: f.take("fail"),
            release: f.take("release"),
            retry_failed: f.take("retry_failed"),
            reconcile_forget: f.take("reconcile_forget"),
        };
        let mut f = load("status.sql", include_str!("sql/status.sql"));
        let status = StatusSql {
            table_counts: f.take("table_counts"),
            queue_counts: f.take("queue_counts"),
            done_without_vector: f.take("done_without_vector"),
            recent_failures: f.take("recent_failures"),
            completions_per_minute: f.take("completions_per_minute"),
            usage_totals: f.take("usage_totals"),
            record_usage: f.take("record_usage"),
            now_utc: f.take("now_utc"),
        };
        let mut f = load("search.sql", include_str!("sql/search.sql"));
        let search = Search {
            nearest: f.take("nearest"),
        };
        let mut f = load("migration.sql", include_str!("sql/migration.sql"));
        let migration = super::migration::Sql::take(|name| f.take(name));
        Ok(Statements {
            setup,
            install,
            enqueue,
            claim,
            complete,
            status,
            search,
            migration,
        })
    }
}

/// The named statements of one `.sql` file, placeholders filled.
struct File {
    name: &'static str,
    statements: Vec<(String, String)>,
}

impl File {
    fn load(name: &'static str, text: &str, vars: &[(&str, String)]) -> File {
        let mut statements = Vec::new();
        let mut current: Option<(String, String)> = None;
        for line in text.lines() {
            if let Some(n) = line.strip_prefix("-- name:") {
                statements.extend(current.take());
                current = Some((n.trim().to_string(), String::new()));
            } else if let Some((_, body)) = current.as_mut() {
                body.push_str(line);
                body.push('\n');
            }
        }
        statements.extend(current);
        let statements = statements
            .into_iter()
            .map(|(n, body)| (n, fill(&strip_comments(&body), vars)))
            .collect();
        File { name, statements }
    }

    /// The statement `name`; a missing one is a bug in this crate (every statement runs in
    /// the test suite).
    fn take(&mut self, name: &str) -> String {
        let i = self
            .statements
            .iter()
            .position(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("sql/{}: no statement named {name}", self.name));
        self.statements.swap_remove(i).1
    }
}

/// The SQL without its comment lines (they document the file, not the statement).
fn strip_comments(sql: &str) -> String {
    sql.lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// Replaces every `{name}` whose name is in `vars`, in one pass: substituted text (a
/// filter, or a template literal holding braces) is never scanned again. Unknown
/// placeholders are left as they are, for a later `fill` (e.g. `{id_type}`).
pub(super) fn fill(sql: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (v, close))
        });
        match value {
            Some((v, close)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_rename_tables_only() {
        let s = Statements::new_in(&SourceConfig::default(), "vecsync_next_").unwrap();
        assert!(s
            .setup
            .bookkeeping
            .contains("vecsync_next_queue_claim ON vecsync_next_queue"));
        assert!(
            s.complete.write.contains("vecsync_md5("),
            "functions keep their names"
        );
        assert!(!s.status.table_counts.contains("vecsync_state "));
        assert!(s.migration.fence.contains("vecsync_next_vectorizer"));
    }

    #[test]
    fn fill_is_one_pass() {
        let vars = vec![("a", "{b}".to_string()), ("b", "x".to_string())];
        assert_eq!(fill("{a} {b} {c} {", &vars), "{b} x {c} {");
    }

    #[test]
    fn every_statement_is_filled() {
        let source = SourceConfig {
            filter: Some("is_active AND title <> '{x}'".into()),
            ..SourceConfig::default()
        };
        let s = Statements::new(&source).unwrap();
        assert!(s.claim.fetch.contains("(is_active AND title <> '{x}')"));
        assert!(s
            .claim
            .fetch
            .contains("coalesce(CAST(s.\"title\" AS TEXT), '')"));
        assert!(!s.status.table_counts.contains("{needs_work}"));
        assert!(s.setup.bookkeeping.contains("{id_type}"));
        assert!(!s.complete.fail.contains("--"));
    }
}
