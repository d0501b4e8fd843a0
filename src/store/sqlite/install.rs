//! The triggers that make SQLite follow the table (see `sql/install.sql`).
//!
//! They are (re)installed by `init` and `prepare` whenever what SQLite stored differs from
//! what the config asks for (a new template or filter, a column renamed by
//! `ALTER TABLE … RENAME COLUMN`, a trigger dropped by hand), in one transaction that
//! also compiles them, so a broken trigger is never left in the user's database.
//!
//! Schema changes while they are installed: `RENAME COLUMN` and `RENAME TO` rewrite the
//! triggers (vecsync then reports the config's stale column or table name on its next
//! start); `DROP COLUMN` of a column the triggers watch (the id, a template column, a
//! column the filter names) is refused by SQLite with "error in trigger vecsync_…": run
//! `vecsync uninstall` first, or change the config and run `vecsync init`. Other columns
//! can be dropped freely.

use anyhow::Result;
use rusqlite::Connection;

use super::statements::{fill, Statements};
use crate::config::{quote_ident, SourceConfig};
use crate::config_error;
use crate::template::Template;

/// Installs (or replaces) vecsync's triggers on the source table. `columns` are the
/// table's column names, in table order. Runs inside the caller's transaction.
pub(super) fn install(
    tx: &Connection,
    sql: &Statements,
    source: &SourceConfig,
    columns: &[String],
) -> Result<()> {
    let wanted = trigger_ddl(sql, source, columns)?;
    let installed: Vec<(String, String)> = tx
        .prepare(&sql.install.installed)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let up_to_date = installed.len() == wanted.len()
        && installed
            .iter()
            .all(|(name, ddl)| wanted.iter().any(|(n, d)| n == name && d == ddl));
    if up_to_date {
        return Ok(());
    }
    tracing::info!("installing vecsync triggers on {}", source.table);
    tx.execute_batch(&sql.install.drop)?;
    for (_, ddl) in &wanted {
        tx.execute_batch(ddl)?;
    }
    for probe in [
        &sql.install.probe_insert,
        &sql.install.probe_update,
        &sql.install.probe_delete,
    ] {
        tx.prepare(probe).map_err(|e| {
            config_error!(
                setting = "source.table",
                "the triggers vecsync would install on table {:?} do not compile ({e}); nothing was installed",
                source.table
            )
        })?;
    }
    Ok(())
}

/// Removes the triggers (and nothing else).
pub(super) fn uninstall(conn: &Connection, sql: &Statements) -> Result<()> {
    conn.execute_batch(&sql.install.drop)?;
    Ok(())
}

/// The three `CREATE TRIGGER` statements for the config and the table's columns, named.
fn trigger_ddl(
    sql: &Statements,
    source: &SourceConfig,
    columns: &[String],
) -> Result<Vec<(&'static str, String)>> {
    let template = Template::parse(&source.template)
        .map_err(|e| config_error!(setting = "source.template", "{e}"))?;
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    // The columns the filter reads: those whose name occurs in it (a superset, so that
    // dropping an unrelated column stays possible).
    let filter = source.filter.as_deref().unwrap_or_default().to_lowercase();
    let in_filter = columns
        .iter()
        .map(String::as_str)
        .filter(|c| filter.contains(&c.to_lowercase()));
    let mut watched: Vec<&str> = Vec::new();
    for c in template.columns().into_iter().chain(in_filter) {
        let skip = [source.id_column.as_str(), &source.embedding_column]
            .into_iter()
            .chain(watched.iter().copied())
            .any(|w| same(w, c));
        if !skip {
            watched.push(c);
        }
    }
    let changed = watched
        .iter()
        .map(|c| format!("OLD.{c} IS NOT NEW.{c}", c = quote_ident(c)))
        .collect::<Vec<_>>()
        .join(" OR ");
    let watched = std::iter::once(source.id_column.as_str())
        .chain(watched)
        .map(quote_ident)
        .collect::<Vec<_>>()
        .join(", ");
    let vars = [("watched", watched), ("changed", changed)];
    Ok(vec![
        ("vecsync_insert", fill(&sql.install.insert_trigger, &vars)),
        ("vecsync_update", fill(&sql.install.update_trigger, &vars)),
        ("vecsync_delete", fill(&sql.install.delete_trigger, &vars)),
    ])
}
