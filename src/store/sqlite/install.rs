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
use rusqlite::{Connection, TransactionBehavior};

use super::statements::{fill, Statements};
use crate::config::{quote_ident, SourceConfig};
use crate::config_error;
use crate::template::Template;

/// Installs (or replaces) vecsync's triggers on the source table. `columns` are the
/// table's column names, in table order.
pub(super) fn install(
    conn: &mut Connection,
    sql: &Statements,
    source: &SourceConfig,
    columns: &[String],
) -> Result<()> {
    let wanted = trigger_ddl(conn, sql, source, columns)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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
                "source: the triggers vecsync would install on table {:?} do not work ({e}); nothing was installed",
                source.table
            )
        })?;
    }
    tx.commit()?;
    Ok(())
}

/// Removes the triggers (and nothing else).
pub(super) fn uninstall(conn: &Connection, sql: &Statements) -> Result<()> {
    conn.execute_batch(&sql.install.drop)?;
    Ok(())
}

/// The three `CREATE TRIGGER` statements for the config and the table's columns, named.
fn trigger_ddl(
    conn: &Connection,
    sql: &Statements,
    source: &SourceConfig,
    columns: &[String],
) -> Result<Vec<(&'static str, String)>> {
    let template =
        Template::parse(&source.template).map_err(|e| config_error!("source.template: {e}"))?;
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let passed = filter_columns(conn, sql, source, columns)?;
    let mut watched: Vec<&str> = vec![&source.id_column];
    for c in template.columns().into_iter().chain(passed.iter().copied()) {
        if !watched.iter().any(|w| same(w, c)) && !same(c, &source.embedding_column) {
            watched.push(c);
        }
    }
    let changed = template
        .columns()
        .iter()
        .map(|c| format!("OLD.{c} IS NOT NEW.{c}", c = quote_ident(c)))
        .collect::<Vec<_>>()
        .join(" OR ");
    let passes = |record: &str| match &source.filter {
        Some(_) => fill(
            &sql.install.passes,
            &[("projection", projection(&passed, Some(record)))],
        ),
        None => "1".to_string(),
    };
    let vars = [
        (
            "watched",
            watched
                .iter()
                .map(|c| quote_ident(c))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("changed", changed),
        ("passes_new", passes("NEW")),
        ("passes_old", passes("OLD")),
    ];
    Ok(vec![
        ("vecsync_insert", fill(&sql.install.insert_trigger, &vars)),
        ("vecsync_update", fill(&sql.install.update_trigger, &vars)),
        ("vecsync_delete", fill(&sql.install.delete_trigger, &vars)),
    ])
}

/// The columns the triggers pass to the filter: those whose name occurs in it (a superset
/// of what it reads, so that dropping an unrelated column stays possible), or every
/// column when that is not enough for SQLite to compile it.
fn filter_columns<'a>(
    conn: &Connection,
    sql: &Statements,
    source: &SourceConfig,
    columns: &'a [String],
) -> Result<Vec<&'a str>> {
    let Some(filter) = &source.filter else {
        return Ok(Vec::new());
    };
    let lower = filter.to_lowercase();
    let named: Vec<&str> = columns
        .iter()
        .filter(|c| lower.contains(&c.to_lowercase()))
        .map(String::as_str)
        .collect();
    let all: Vec<&str> = columns.iter().map(String::as_str).collect();
    let mut last_error = None;
    for candidate in [named, all] {
        let probe = fill(
            &sql.install.filter_probe,
            &[("projection", projection(&candidate, None))],
        );
        match conn.prepare(&probe) {
            Ok(_) => return Ok(candidate),
            Err(e) => last_error = Some(e),
        }
    }
    Err(config_error!(
        "source.filter: {filter:?} cannot be evaluated by a trigger on one row ({}); use only the table's own columns",
        last_error.expect("tried at least once")
    ))
}

/// `SELECT NEW."a" AS "a", …` (or `NULL AS "a"` for the probe): the row as a one-row
/// table for the filter. Without columns, one dummy column keeps it valid SQL.
fn projection(columns: &[&str], record: Option<&str>) -> String {
    if columns.is_empty() {
        return "SELECT NULL AS vecsync_none".into();
    }
    let items: Vec<String> = columns
        .iter()
        .map(|c| {
            let c = quote_ident(c);
            match record {
                Some(r) => format!("{r}.{c} AS {c}"),
                None => format!("NULL AS {c}"),
            }
        })
        .collect();
    format!("SELECT {}", items.join(", "))
}
