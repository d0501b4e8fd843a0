//! Setup: checks of the source table against the config, vecsync's own tables, and its
//! triggers ([`install`]).

use anyhow::Result;
use rusqlite::{named_params, Connection, OptionalExtension};

use super::install;
use super::statements::{fill, Statements};
use crate::config::SourceConfig;
use crate::config_error;
use crate::store::StoreOptions;
use crate::template::Template;

/// The table name without its schema (what `sqlite_master` and `table_info` know it by),
/// and the schema ("main" unless the config names one).
fn split_table(table: &str) -> (&str, &str) {
    match table.split_once('.') {
        Some((schema, name)) => (schema, name),
        None => ("main", table),
    }
}

pub(super) fn check_table_exists(
    conn: &Connection,
    sql: &Statements,
    source: &SourceConfig,
) -> Result<()> {
    let (_, name) = split_table(&source.table);
    let exists: bool = conn.query_row(
        &sql.setup.table_exists,
        named_params! {":name": name},
        |r| r.get(0),
    )?;
    if exists {
        Ok(())
    } else {
        Err(config_error!(
            setting = "source.table",
            "table {:?} does not exist in this database",
            source.table
        ))
    }
}

/// Declared column types of the source table: (name, type) in table order.
pub(super) fn columns(
    conn: &Connection,
    sql: &Statements,
    source: &SourceConfig,
) -> Result<Vec<(String, String)>> {
    let (schema, name) = split_table(&source.table);
    let mut stmt = conn.prepare(&sql.setup.columns)?;
    let rows = stmt
        .query_map(named_params! {":name": name, ":schema": schema}, |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Creates vecsync's tables if missing; `id_type` is the source id column's declared type.
fn create_bookkeeping(conn: &Connection, sql: &Statements, id_type: &str) -> Result<()> {
    // A declared type is a name (with spaces, e.g. "UNSIGNED BIG INT"); anything else
    // (parentheses, quotes) is left out rather than pasted into DDL. INTEGER becomes INT:
    // the same affinity, but not an alias of the rowid, which refuses values that are not
    // integers: the trigger that queues the text id of an `id INTEGER UNIQUE` column must
    // not fail the application's INSERT with "datatype mismatch".
    let id_type = if id_type.eq_ignore_ascii_case("INTEGER") {
        "INT"
    } else if id_type
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == ' ')
    {
        id_type
    } else {
        ""
    };
    conn.execute_batch(&fill(
        &sql.setup.bookkeeping,
        &[("id_type", id_type.to_string())],
    ))?;
    conn.execute_batch(&sql.migration.bookkeeping)?;
    Ok(())
}

/// [`crate::store::Store::init`]: checks the source table against the config (see
/// [`check_source`]), then creates vecsync's tables and installs its triggers, in one
/// transaction.
pub(super) fn init(conn: &mut Connection, sql: &Statements, source: &SourceConfig) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    init_in(&tx, sql, source)?;
    tx.commit()?;
    Ok(())
}

/// [`init`] inside the caller's transaction (a model migration's steps).
pub(super) fn init_in(conn: &Connection, sql: &Statements, source: &SourceConfig) -> Result<()> {
    let cols = check_source(conn, sql, source)?;
    create_in(conn, sql, source, &cols)
}

/// vecsync's tables and triggers for a checked source table with these columns (name,
/// declared type), inside the caller's transaction.
fn create_in(
    conn: &Connection,
    sql: &Statements,
    source: &SourceConfig,
    cols: &[(String, String)],
) -> Result<()> {
    let id_type = cols
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&source.id_column))
        .map(|(_, t)| t.as_str())
        .unwrap_or_default();
    create_bookkeeping(conn, sql, id_type)?;
    let names: Vec<String> = cols.iter().map(|(n, _)| n.clone()).collect();
    install::install(conn, sql, source, &names)
}

/// Drops the triggers first: while they exist, the application's writes need vecsync's
/// tables.
pub(super) fn uninstall(conn: &mut Connection, sql: &Statements) -> Result<()> {
    install::uninstall(conn, sql)?;
    conn.execute_batch(&sql.setup.uninstall)?;
    conn.execute_batch(&sql.migration.uninstall)?;
    Ok(())
}

/// Whether vecsync's tables exist.
pub(super) fn installed(conn: &Connection, sql: &Statements) -> Result<bool> {
    Ok(conn.query_row(&sql.setup.installed, [], |r| r.get(0))?)
}

/// [`crate::store::Store::prepare`]: [`verify`], then creates the bookkeeping and
/// installs the triggers.
pub(super) fn prepare(
    conn: &mut Connection,
    sql: &Statements,
    source: &SourceConfig,
    options: &StoreOptions,
    dimensions: usize,
) -> Result<()> {
    let cols = verify(conn, sql, source, options, dimensions)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    create_in(&tx, sql, source, &cols)?;
    tx.commit()?;
    Ok(())
}

/// Writing nothing: the source table exists, every column the config names exists, the
/// embedding column can hold BLOBs and the filter is valid SQL. Returns the table's
/// columns, (name, declared type) in table order.
fn check_source(
    conn: &Connection,
    sql: &Statements,
    source: &SourceConfig,
) -> Result<Vec<(String, String)>> {
    check_table_exists(conn, sql, source)?;
    let cols = columns(conn, sql, source)?;
    let find = |name: &str| cols.iter().find(|(n, _)| n.eq_ignore_ascii_case(name));
    let template = Template::parse(&source.template)
        .map_err(|e| config_error!(setting = "source.template", "{e}"))?;
    for (setting, column) in crate::store::required_columns(source, &template) {
        if find(column).is_none() {
            return Err(config_error!(
                "{setting}: column {column:?} does not exist in table {:?}",
                source.table
            ));
        }
    }
    let (_, emb_type) = find(&source.embedding_column).expect("checked above");
    let emb_type = emb_type.to_ascii_uppercase();
    if !(emb_type.is_empty() || emb_type == "BLOB") {
        return Err(config_error!(
            setting = "source.embedding_column",
            "column {:?} is declared {emb_type}; vecsync stores vectors as BLOB (little-endian f32)",
            source.embedding_column
        ));
    }
    if let Some(f) = &source.filter {
        conn.prepare(&sql.setup.filter_probe).map_err(|e| {
            config_error!(setting = "source.filter", "{f:?} is not valid here: {e}")
        })?;
    }
    Ok(cols)
}

/// [`crate::store::Store::verify`], writing nothing: [`check_source`], and no vector of the
/// current model has another length than the embedder makes. Returns the table's columns.
pub(super) fn verify(
    conn: &mut Connection,
    sql: &Statements,
    source: &SourceConfig,
    options: &StoreOptions,
    dimensions: usize,
) -> Result<Vec<(String, String)>> {
    let cols = check_source(conn, sql, source)?;
    if !installed(conn, sql)? {
        // No state yet, so no vector of the current model to check.
        return Ok(cols);
    }
    // A vector of another length is only acceptable if it belongs to another model
    // (then it is stale and will be replaced).
    let bad: Option<(String, i64)> = conn
        .query_row(
            &sql.setup.wrong_dimensions,
            named_params! {":bytes": (dimensions * 4) as i64, ":model": options.model_id},
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((id, len)) = bad {
        return Err(config_error!(
            setting = "source.embedding_column",
            "row {id} holds a {}-dimension vector but the model makes {dimensions}",
            len / 4
        ));
    }
    Ok(cols)
}
