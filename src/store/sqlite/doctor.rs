//! `vecsync doctor` on SQLite: the file, the table and its columns, the filter, vecsync's
//! tables, vectors of the wrong size, queue health. The file is opened read-only (a
//! missing file is reported, not created), so nothing can change.

use std::path::{Path, PathBuf};

use rusqlite::{named_params, Connection, OpenFlags, OptionalExtension};

use super::setup::{check_table_exists, columns, installed};
use super::statements::Statements;
use crate::config::{Config, SourceConfig};
use crate::doctor::Finding;
use crate::template::Template;

/// Every check, on the blocking pool (rusqlite is synchronous).
pub async fn diagnose(path: &Path, config: &Config, dims: Option<usize>) -> Vec<Finding> {
    let path = path.to_path_buf();
    let source = config.source.clone();
    let model = config.embedder.model_id();
    tokio::task::spawn_blocking(move || diagnose_blocking(&path, &source, &model, dims))
        .await
        .unwrap_or_else(|e| {
            vec![Finding::fail(
                "doctor",
                format!("the checks stopped: {e}"),
                "run `vecsync doctor` again",
            )]
        })
}

fn diagnose_blocking(
    path: &PathBuf,
    source: &SourceConfig,
    model: &str,
    dims: Option<usize>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let shown = path.display();
    if !path.is_file() {
        out.push(Finding::fail(
            "database_url",
            format!("SQLite file {shown} does not exist"),
            "check the path (relative to the working directory), or run `vecsync demo` to create one",
        ));
        return out;
    }
    let conn = match Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY) {
        Ok(conn) => conn,
        Err(e) => {
            out.push(Finding::fail(
                "connection",
                format!("cannot open SQLite file {shown}: {e}"),
                "check the file's permissions and that it is a SQLite database",
            ));
            return out;
        }
    };
    let sql = match Statements::new(source) {
        Ok(sql) => sql,
        Err(e) => {
            out.push(Finding::fail(
                "source.template",
                format!("{e:#}"),
                "fix source.template in vecsync.toml",
            ));
            return out;
        }
    };
    if let Err(e) = checks(&conn, &sql, source, model, dims, &mut out) {
        out.push(Finding::fail(
            "doctor",
            format!("a check could not run on {shown}: {e:#}"),
            "check that the file is a SQLite database vecsync can read",
        ));
    }
    out
}

fn checks(
    conn: &Connection,
    sql: &Statements,
    source: &SourceConfig,
    model: &str,
    dims: Option<usize>,
    out: &mut Vec<Finding>,
) -> anyhow::Result<()> {
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    out.push(Finding::ok(
        "connection",
        format!("SQLite {} (journal mode {mode})", rusqlite::version()),
    ));
    let table = &source.table;
    if let Err(e) = check_table_exists(conn, sql, source) {
        out.push(Finding::fail(
            "source.table",
            format!("table {table:?} does not exist in this file ({e})"),
            "set source.table to a table of this database",
        ));
        return Ok(());
    }
    let cols = columns(conn, sql, source)?;
    let find = |name: &str| cols.iter().find(|(n, _)| n.eq_ignore_ascii_case(name));
    let template = Template::parse(&source.template)?;
    let missing = |setting: &str, wanted: Vec<&str>| {
        let missing: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|c| find(c).is_none())
            .collect();
        if missing.is_empty() {
            Finding::ok(setting, format!("columns {wanted:?} exist"))
        } else {
            Finding::fail(
                setting,
                format!("columns {missing:?} do not exist in table {table:?}"),
                format!("fix {setting} in vecsync.toml"),
            )
        }
    };
    out.push(missing("source.id_column", vec![source.id_column.as_str()]));
    out.push(match find(&source.embedding_column) {
        None => missing(
            "source.embedding_column",
            vec![source.embedding_column.as_str()],
        ),
        Some((name, declared)) if declared.is_empty() || declared.eq_ignore_ascii_case("BLOB") => {
            Finding::ok(
                "source.embedding_column",
                format!("column {name:?} holds BLOBs (little-endian f32 vectors)"),
            )
        }
        Some((name, declared)) => Finding::fail(
            "source.embedding_column",
            format!("column {name:?} is declared {declared}; vecsync stores vectors as BLOB"),
            format!("ALTER TABLE {table} ADD COLUMN embedding BLOB, and point source.embedding_column at it"),
        ),
    });
    out.push(missing("source.template", template.columns()));
    out.push(missing(
        "source.display_columns",
        source.display_columns.iter().map(String::as_str).collect(),
    ));
    if let Some(filter) = &source.filter {
        out.push(match conn.prepare(&sql.setup.filter_probe) {
            Ok(_) => Finding::ok(
                "source.filter",
                format!("{filter:?} works on table {table:?}"),
            ),
            Err(e) => Finding::fail(
                "source.filter",
                format!("{filter:?} does not work on table {table:?}: {e}"),
                "fix source.filter: a SQL condition over the table's columns",
            ),
        });
    }
    if !installed(conn, sql)? {
        out.push(Finding::warn(
            "install",
            "vecsync's tables are not in this file yet",
            "`vecsync init`, or the first `vecsync backfill`, creates them",
        ));
        return Ok(());
    }
    out.push(Finding::ok(
        "install",
        "vecsync_queue, vecsync_state and vecsync_usage exist",
    ));
    if let (Some(d), Some(_)) = (dims, find(&source.embedding_column)) {
        let bad: Option<(String, i64)> = conn
            .query_row(
                &sql.setup.wrong_dimensions,
                named_params! {":bytes": (d * 4) as i64, ":model": model},
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((id, bytes)) = bad {
            out.push(Finding::fail(
                "source.embedding_column",
                format!(
                    "row {id} holds a {}-dimension vector for model {model:?}, which makes {d}",
                    bytes / 4
                ),
                "set embedder.dimensions (or the model) back to what made these vectors, or clear the column to re-embed",
            ));
        }
    }
    let (pending, leased, expired, failed, top, top_count): (
        i64,
        i64,
        i64,
        i64,
        Option<String>,
        i64,
    ) = conn.query_row(
        include_str!("sql/doctor.sql"),
        named_params! {":now": super::now()},
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        },
    )?;
    crate::doctor::queue_findings(
        &crate::doctor::QueueHealth {
            pending,
            leased,
            expired,
            failed,
            top_failure: top,
            top_count,
        },
        out,
    );
    Ok(())
}
