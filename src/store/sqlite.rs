//! The embedded default store: a SQLite file.
//!
//! Vectors are little-endian f32 BLOBs (sqlite-vec's layout). vecsync's bookkeeping lives
//! in `vecsync_queue` and `vecsync_state` beside the user's table. There are no triggers
//! here: `enqueue_needed` finds new and changed rows by comparing each row's current text
//! hash with the state, which is cheap at the sizes SQLite is used for.
//!
//! rusqlite is synchronous, so every call runs on the blocking pool with the one
//! connection (SQLite has a single writer anyway).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use async_trait::async_trait;
use rusqlite::functions::FunctionFlags;
use rusqlite::{params, Connection, OptionalExtension};

use super::*;
use crate::config::{quote_ident, quote_qualified, SourceConfig};
use crate::config_error;
use crate::template::{sql_string_literal, text_hash, Template};

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    sql: Arc<Sql>,
    source: SourceConfig,
    options: StoreOptions,
}

/// SQL text built once from the config: identifiers quoted, the template compiled.
struct Sql {
    table: String,
    id: String,
    emb: String,
    /// Renders the template for the source row aliased `s`.
    render: String,
    /// `(filter)` or `1`.
    filter: String,
    /// Source rows that need work (aliases `s` for the source, `st` for state).
    needs_work: String,
}

const QUEUE: &str = "vecsync_queue";
const STATE: &str = "vecsync_state";
const USAGE: &str = "vecsync_usage";

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Seconds a row waits before its next attempt: 1, 2, 4 … capped at 5 minutes.
pub(crate) fn retry_backoff(attempts: u32) -> f64 {
    2f64.powi(attempts.clamp(1, 10) as i32 - 1).min(300.0)
}

pub fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn blob_to_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return f32::NAN;
    }
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    dot / (na.sqrt() * nb.sqrt()).max(f32::EPSILON)
}

/// `vecsync_md5(text)` (the hash the write guard compares) and `vecsync_cosine(a, b)`
/// over vector BLOBs, so both run inside SQLite.
fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("vecsync_md5", 1, flags, |ctx| {
        let text: String = ctx.get(0)?;
        Ok(text_hash(&text))
    })?;
    conn.create_scalar_function("vecsync_cosine", 2, flags, |ctx| {
        let a = ctx.get_raw(0).as_blob_or_null()?;
        let b = ctx.get_raw(1).as_blob_or_null()?;
        Ok(match (a, b) {
            (Some(a), Some(b)) => Some(cosine(&blob_to_vector(a), &blob_to_vector(b)) as f64),
            _ => None,
        })
    })
}

impl Sql {
    fn new(source: &SourceConfig) -> Result<Sql> {
        let template =
            Template::parse(&source.template).map_err(|e| config_error!("source.template: {e}"))?;
        let render = template.to_sql(
            |c| format!("coalesce(CAST(s.{} AS TEXT), '')", quote_ident(c)),
            sql_string_literal,
            |pieces| format!("({})", pieces.join(" || ")),
        );
        let emb = quote_ident(&source.embedding_column);
        let filter = match &source.filter {
            Some(f) => format!("({f})"),
            None => "1".into(),
        };
        let needs_work = format!(
            "{filter} AND (s.{emb} IS NULL OR st.row_id IS NULL \
             OR st.text_hash <> vecsync_md5({render}) OR st.model <> :model)"
        );
        Ok(Sql {
            table: quote_qualified(&source.table),
            id: quote_ident(&source.id_column),
            emb,
            render,
            filter,
            needs_work,
        })
    }
}

impl SqliteStore {
    pub fn open(path: &Path, source: &SourceConfig, options: StoreOptions) -> Result<SqliteStore> {
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open SQLite database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(30))?;
        // WAL: readers (status, search) never block the writer; NORMAL sync is durable
        // across process crashes (kill -9), which is what resume relies on.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        register_functions(&conn)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            sql: Arc::new(Sql::new(source)?),
            source: source.clone(),
            options,
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn with_conn<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Sql, &StoreOptions) -> Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        let sql = self.sql.clone();
        let options = self.options.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn, &sql, &options)
        })
        .await?
    }
}

fn table_exists(conn: &Connection, name: &str) -> Result<bool> {
    let (schema, table) = match name.split_once('.') {
        Some((s, t)) => (quote_ident(s), t),
        None => ("main".to_string(), name),
    };
    let q = format!(
        "SELECT count(*) FROM {schema}.sqlite_master WHERE type IN ('table','view') AND name = ?1"
    );
    Ok(conn.query_row(&q, [table], |r| r.get::<_, i64>(0))? > 0)
}

/// Declared column types of the source table, by name.
fn columns(conn: &Connection, table: &str) -> Result<Vec<(String, String)>> {
    let (schema, table) = match table.split_once('.') {
        Some((s, t)) => (quote_ident(s), t),
        None => ("main".to_string(), table),
    };
    let mut stmt = conn.prepare(&format!(
        "PRAGMA {schema}.table_info({})",
        quote_ident(table)
    ))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn create_bookkeeping(conn: &Connection, id_type: &str) -> Result<()> {
    // row_id takes the source id's declared type so joins compare like with like.
    let id_type = if id_type
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == ' ')
    {
        id_type
    } else {
        ""
    };
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {QUEUE} (
            row_id {id_type} PRIMARY KEY,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed')),
            enqueued_at REAL NOT NULL,
            locked_until REAL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            failed_at REAL
         );
         CREATE INDEX IF NOT EXISTS {QUEUE}_claim ON {QUEUE} (status, enqueued_at);
         CREATE TABLE IF NOT EXISTS {STATE} (
            row_id {id_type} PRIMARY KEY,
            text_hash TEXT NOT NULL,
            model TEXT NOT NULL,
            embedded_at REAL NOT NULL
         );
         CREATE INDEX IF NOT EXISTS {STATE}_embedded_at ON {STATE} (embedded_at);
         CREATE TABLE IF NOT EXISTS {USAGE} (
            recorded_at REAL NOT NULL,
            model TEXT NOT NULL,
            requests INTEGER NOT NULL,
            tokens INTEGER NOT NULL,
            cost REAL NOT NULL
         );"
    ))?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn init(&self) -> Result<()> {
        let source = self.source.clone();
        self.with_conn(move |conn, _, _| {
            if !table_exists(conn, &source.table)? {
                return Err(config_error!(
                    "source.table: table {:?} does not exist in this database",
                    source.table
                ));
            }
            let cols = columns(conn, &source.table)?;
            let id_type = cols
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&source.id_column))
                .map(|(_, t)| t.clone())
                .unwrap_or_default();
            create_bookkeeping(conn, &id_type)
        })
        .await
    }

    async fn uninstall(&self) -> Result<()> {
        self.with_conn(|conn, _, _| {
            conn.execute_batch(&format!(
                "DROP TABLE IF EXISTS {QUEUE}; DROP TABLE IF EXISTS {STATE}; DROP TABLE IF EXISTS {USAGE};"
            ))?;
            Ok(())
        })
        .await
    }

    async fn prepare(&self, dimensions: usize) -> Result<()> {
        let source = self.source.clone();
        self.with_conn(move |conn, sql, options| {
            if !table_exists(conn, &source.table)? {
                return Err(config_error!(
                    "source.table: table {:?} does not exist in this database",
                    source.table
                ));
            }
            let cols = columns(conn, &source.table)?;
            let find = |name: &str| cols.iter().find(|(n, _)| n.eq_ignore_ascii_case(name));
            let template = Template::parse(&source.template)
                .map_err(|e| config_error!("source.template: {e}"))?;
            let mut wanted: Vec<(&str, &str)> = vec![
                ("source.id_column", source.id_column.as_str()),
                ("source.embedding_column", source.embedding_column.as_str()),
            ];
            wanted.extend(template.columns().into_iter().map(|c| ("source.template", c)));
            wanted.extend(
                source
                    .display_columns
                    .iter()
                    .map(|c| ("source.display_columns", c.as_str())),
            );
            for (setting, column) in wanted {
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
                    "source.embedding_column: column {:?} is declared {emb_type}; vecsync stores vectors as BLOB (little-endian f32)",
                    source.embedding_column
                ));
            }
            if let Some(f) = &source.filter {
                let q = format!("SELECT 1 FROM {} AS s WHERE {} LIMIT 0", sql.table, sql.filter);
                conn.prepare(&q)
                    .map_err(|e| config_error!("source.filter: {f:?} is not valid here: {e}"))?;
            }
            // A vector of another length is only acceptable if it belongs to another model
            // (then it is stale and will be replaced).
            let (_, id_type) = find(&source.id_column).expect("checked above");
            create_bookkeeping(conn, id_type)?;
            let q = format!(
                "SELECT CAST(s.{id} AS TEXT), length(s.{emb}) FROM {table} AS s
                 JOIN {STATE} st ON st.row_id = s.{id}
                 WHERE s.{emb} IS NOT NULL AND length(s.{emb}) <> ?1 AND st.model = ?2 LIMIT 1",
                id = sql.id,
                emb = sql.emb,
                table = sql.table
            );
            let bad: Option<(String, i64)> = conn
                .query_row(&q, params![(dimensions * 4) as i64, options.model_id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            if let Some((id, len)) = bad {
                return Err(config_error!(
                    "source.embedding_column: row {id} holds a {}-dimension vector but the model makes {dimensions}",
                    len / 4
                ));
            }
            Ok(())
        })
        .await
    }

    async fn enqueue_needed(&self) -> Result<u64> {
        self.with_conn(|conn, sql, options| {
            let q = format!(
                "INSERT INTO {QUEUE} (row_id, enqueued_at)
                 SELECT s.{id}, :now FROM {table} AS s
                 LEFT JOIN {STATE} st ON st.row_id = s.{id}
                 WHERE {needs_work}
                 ON CONFLICT (row_id) DO NOTHING",
                id = sql.id,
                table = sql.table,
                needs_work = sql.needs_work,
            );
            let n = conn.execute(
                &q,
                rusqlite::named_params! {":now": now(), ":model": options.model_id},
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn peek_needed(&self, after: Option<&RowId>, limit: usize) -> Result<Vec<ClaimedRow>> {
        let after = after.cloned();
        self.with_conn(move |conn, sql, options| {
            let q = format!(
                "SELECT CAST(s.{id} AS TEXT), {render} FROM {table} AS s
                 LEFT JOIN {STATE} st ON st.row_id = s.{id}
                 WHERE {needs_work} AND (:after IS NULL OR s.{id} > :after)
                 ORDER BY s.{id} LIMIT :limit",
                id = sql.id,
                render = sql.render,
                table = sql.table,
                needs_work = sql.needs_work,
            );
            let mut stmt = conn.prepare(&q)?;
            let rows = stmt
                .query_map(
                    rusqlite::named_params! {":model": options.model_id, ":after": after, ":limit": limit as i64},
                    |r| Ok(ClaimedRow { id: r.get(0)?, text: r.get(1)? }),
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn claim(&self, limit: usize, lease: Duration) -> Result<Vec<ClaimedRow>> {
        self.with_conn(move |conn, sql, _| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let t = now();
            let ids: Vec<rusqlite::types::Value> = {
                let mut stmt = tx.prepare_cached(&format!(
                    "UPDATE {QUEUE} SET locked_until = ?1, attempts = attempts + 1
                     WHERE row_id IN (
                        SELECT row_id FROM {QUEUE}
                        WHERE status = 'pending' AND (locked_until IS NULL OR locked_until < ?2)
                        ORDER BY enqueued_at LIMIT ?3)
                     RETURNING row_id"
                ))?;
                let ids = stmt
                    .query_map(params![t + lease.as_secs_f64(), t, limit as i64], |r| {
                        r.get(0)
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                ids
            };
            let mut rows = Vec::with_capacity(ids.len());
            {
                let mut fetch = tx.prepare_cached(&format!(
                    "SELECT CAST(s.{id} AS TEXT), {render} FROM {table} AS s
                     WHERE s.{id} = ?1 AND {filter}",
                    id = sql.id,
                    render = sql.render,
                    table = sql.table,
                    filter = sql.filter,
                ))?;
                let mut forget =
                    tx.prepare_cached(&format!("DELETE FROM {QUEUE} WHERE row_id = ?1"))?;
                for id in &ids {
                    let row = fetch
                        .query_row([id], |r| {
                            Ok(ClaimedRow {
                                id: r.get(0)?,
                                text: r.get(1)?,
                            })
                        })
                        .optional()?;
                    match row {
                        Some(row) => rows.push(row),
                        // Deleted, or no longer passes the filter: nothing to embed.
                        None => {
                            forget.execute([id])?;
                        }
                    }
                }
            }
            tx.commit()?;
            Ok(rows)
        })
        .await
    }

    async fn complete(&self, done: &[Completion], failed: &[Failure]) -> Result<WriteOutcome> {
        let done = done.to_vec();
        let failed = failed.to_vec();
        self.with_conn(move |conn, sql, options| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let t = now();
            let mut out = WriteOutcome::default();
            {
                // The guard: write only if the row's current text still has the hash of
                // the text that was embedded.
                let mut write = tx.prepare_cached(&format!(
                    "UPDATE {table} AS s SET {emb} = ?1 WHERE s.{id} = ?2 AND vecsync_md5({render}) = ?3",
                    table = sql.table,
                    emb = sql.emb,
                    id = sql.id,
                    render = sql.render,
                ))?;
                let mut state = tx.prepare_cached(&format!(
                    "INSERT INTO {STATE} (row_id, text_hash, model, embedded_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (row_id) DO UPDATE SET text_hash = excluded.text_hash,
                        model = excluded.model, embedded_at = excluded.embedded_at"
                ))?;
                let mut dequeue = tx.prepare_cached(&format!("DELETE FROM {QUEUE} WHERE row_id = ?1"))?;
                let mut exists = tx.prepare_cached(&format!(
                    "SELECT 1 FROM {table} AS s WHERE s.{id} = ?1",
                    table = sql.table,
                    id = sql.id
                ))?;
                let mut requeue = tx.prepare_cached(&format!(
                    "UPDATE {QUEUE} SET locked_until = NULL, attempts = 0, enqueued_at = ?2 WHERE row_id = ?1"
                ))?;
                let mut forget = tx.prepare_cached(&format!("DELETE FROM {STATE} WHERE row_id = ?1"))?;
                for c in &done {
                    let blob = vector_to_blob(&c.vector);
                    if write.execute(params![blob, c.id, c.text_hash])? == 1 {
                        state.execute(params![c.id, c.text_hash, options.model_id, t])?;
                        dequeue.execute([&c.id])?;
                        out.written += 1;
                    } else {
                        out.skipped += 1;
                        if exists.exists([&c.id])? {
                            // Text changed since the claim: embed the new text next.
                            requeue.execute(params![c.id, t])?;
                        } else {
                            dequeue.execute([&c.id])?;
                            forget.execute([&c.id])?;
                        }
                    }
                }
                let mut fail = tx.prepare_cached(&format!(
                    "UPDATE {QUEUE} SET
                        status = CASE WHEN ?3 OR attempts >= ?4 THEN 'failed' ELSE 'pending' END,
                        failed_at = CASE WHEN ?3 OR attempts >= ?4 THEN ?5 ELSE NULL END,
                        locked_until = CASE WHEN ?3 OR attempts >= ?4 THEN NULL ELSE ?5 + ?6 END,
                        last_error = ?2
                     WHERE row_id = ?1
                     RETURNING status"
                ))?;
                for f in &failed {
                    let attempts: Option<i64> = tx
                        .query_row(
                            &format!("SELECT attempts FROM {QUEUE} WHERE row_id = ?1"),
                            [&f.id],
                            |r| r.get(0),
                        )
                        .optional()?;
                    let backoff = retry_backoff(attempts.unwrap_or(1) as u32);
                    let status: Option<String> = fail
                        .query_row(
                            params![f.id, f.reason, f.permanent, options.max_attempts, t, backoff],
                            |r| r.get(0),
                        )
                        .optional()?;
                    match status.as_deref() {
                        Some("failed") => out.failed += 1,
                        Some(_) => out.retrying += 1,
                        None => {}
                    }
                }
            }
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn release(&self, ids: &[RowId]) -> Result<()> {
        let ids = ids.to_vec();
        self.with_conn(move |conn, _, _| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(&format!(
                    "UPDATE {QUEUE} SET locked_until = NULL, attempts = max(attempts - 1, 0) WHERE row_id = ?1"
                ))?;
                for id in &ids {
                    stmt.execute([id])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn retry_failed(&self) -> Result<u64> {
        self.with_conn(|conn, _, _| {
            let n = conn.execute(
                &format!(
                    "UPDATE {QUEUE} SET status = 'pending', attempts = 0, last_error = NULL,
                        failed_at = NULL, locked_until = NULL, enqueued_at = ?1
                     WHERE status = 'failed'"
                ),
                [now()],
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn status(&self) -> Result<Status> {
        self.with_conn(|conn, sql, options| {
            let t = now();
            let q = format!(
                "SELECT count(*),
                    coalesce(sum(s.{emb} IS NOT NULL AND st.text_hash = vecsync_md5({render}) AND st.model = :model), 0),
                    coalesce(sum(s.{emb} IS NULL), 0),
                    coalesce(sum(s.{emb} IS NOT NULL AND (st.row_id IS NULL OR st.text_hash <> vecsync_md5({render}) OR st.model <> :model)), 0),
                    coalesce(sum(q.row_id IS NULL AND ({needs_work})), 0)
                 FROM {table} AS s
                 LEFT JOIN {STATE} st ON st.row_id = s.{id}
                 LEFT JOIN {QUEUE} q ON q.row_id = s.{id}
                 WHERE {filter}",
                emb = sql.emb,
                render = sql.render,
                needs_work = sql.needs_work,
                table = sql.table,
                id = sql.id,
                filter = sql.filter,
            );
            let (total, embedded, missing, vector_without_state, unqueued): (i64, i64, i64, i64, i64) =
                conn.query_row(&q, rusqlite::named_params! {":model": options.model_id}, |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?;
            let (pending, leased, failed): (i64, i64, i64) = conn.query_row(
                &format!(
                    "SELECT coalesce(sum(status = 'pending' AND (locked_until IS NULL OR locked_until < ?1)), 0),
                            coalesce(sum(status = 'pending' AND locked_until >= ?1), 0),
                            coalesce(sum(status = 'failed'), 0)
                     FROM {QUEUE}"
                ),
                [t],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let done_without_vector: i64 = conn.query_row(
                &format!(
                    "SELECT count(*) FROM {STATE} st JOIN {table} AS s ON s.{id} = st.row_id WHERE s.{emb} IS NULL",
                    table = sql.table,
                    id = sql.id,
                    emb = sql.emb
                ),
                [],
                |r| r.get(0),
            )?;
            let mut failures = Vec::new();
            {
                let mut stmt = conn.prepare(&format!(
                    "SELECT CAST(row_id AS TEXT), coalesce(last_error, ''), attempts FROM {QUEUE}
                     WHERE status = 'failed' ORDER BY failed_at DESC LIMIT 20"
                ))?;
                for row in stmt.query_map([], |r| {
                    Ok(FailedRow { id: r.get(0)?, reason: r.get(1)?, attempts: r.get(2)? })
                })? {
                    failures.push(row?);
                }
            }
            let mut completions_per_minute = vec![0u64; 10];
            {
                let mut stmt = conn.prepare(&format!(
                    "SELECT CAST((?1 - embedded_at) / 60 AS INTEGER), count(*) FROM {STATE}
                     WHERE embedded_at > ?1 - 600 GROUP BY 1"
                ))?;
                for row in stmt.query_map([t], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
                    let (ago, n) = row?;
                    if (0..10).contains(&ago) {
                        completions_per_minute[9 - ago as usize] = n as u64;
                    }
                }
            }
            let usage = conn.query_row(
                &format!("SELECT coalesce(sum(requests), 0), coalesce(sum(tokens), 0), coalesce(sum(cost), 0) FROM {USAGE}"),
                [],
                |r| {
                    Ok(UsageTotals {
                        requests: r.get::<_, i64>(0)? as u64,
                        tokens: r.get::<_, i64>(1)? as u64,
                        cost: r.get(2)?,
                    })
                },
            )?;
            let mut status = Status {
                usage,
                total: total as u64,
                embedded: embedded as u64,
                missing: missing as u64,
                failed: failed as u64,
                model: options.model_id.clone(),
                failures,
                queue: QueueCounts {
                    pending: pending as u64,
                    leased: leased as u64,
                    failed: failed as u64,
                },
                drift: Drift {
                    done_without_vector: done_without_vector as u64,
                    vector_without_state: vector_without_state as u64,
                    unqueued: unqueued as u64,
                    ..Drift::default()
                },
                completions_per_minute,
                ..Status::default()
            };
            status.derive();
            Ok(status)
        })
        .await
    }

    async fn search(&self, query: &[f32], k: usize) -> Result<Vec<SearchHit>> {
        let blob = vector_to_blob(query);
        let display = self.source.display_columns.clone();
        self.with_conn(move |conn, sql, _| {
            let cols: String = display
                .iter()
                .map(|c| format!(", s.{}", quote_ident(c)))
                .collect();
            let q = format!(
                "SELECT CAST(s.{id} AS TEXT), vecsync_cosine(s.{emb}, ?1) AS score{cols}
                 FROM {table} AS s WHERE s.{emb} IS NOT NULL AND {filter}
                 ORDER BY score DESC LIMIT ?2",
                id = sql.id,
                emb = sql.emb,
                table = sql.table,
                filter = sql.filter,
            );
            let mut stmt = conn.prepare(&q)?;
            let hits = stmt
                .query_map(params![blob, k as i64], |r| {
                    let mut fields = serde_json::Map::new();
                    for (i, c) in display.iter().enumerate() {
                        let v = match r.get_ref(2 + i)? {
                            rusqlite::types::ValueRef::Null => serde_json::Value::Null,
                            rusqlite::types::ValueRef::Integer(n) => n.into(),
                            rusqlite::types::ValueRef::Real(x) => x.into(),
                            rusqlite::types::ValueRef::Text(t) => {
                                String::from_utf8_lossy(t).into_owned().into()
                            }
                            rusqlite::types::ValueRef::Blob(_) => serde_json::Value::Null,
                        };
                        fields.insert(c.clone(), v);
                    }
                    Ok(SearchHit {
                        id: r.get(0)?,
                        score: r.get::<_, Option<f64>>(1)?.unwrap_or(f64::NAN) as f32,
                        fields,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(hits)
        })
        .await
    }

    async fn record_usage(&self, model: &str, usage: &UsageTotals) -> Result<()> {
        let (model, usage) = (model.to_string(), usage.clone());
        self.with_conn(move |conn, _, _| {
            conn.execute(
                &format!("INSERT INTO {USAGE} (recorded_at, model, requests, tokens, cost) VALUES (?1, ?2, ?3, ?4, ?5)"),
                params![now(), model, usage.requests as i64, usage.tokens as i64, usage.cost],
            )?;
            Ok(())
        })
        .await
    }

    async fn reconcile(&self) -> Result<u64> {
        self.with_conn(|conn, sql, _| {
            conn.execute(
                &format!(
                    "DELETE FROM {STATE} WHERE row_id IN (
                        SELECT st.row_id FROM {STATE} st
                        LEFT JOIN {table} AS s ON s.{id} = st.row_id
                        WHERE s.{id} IS NULL OR s.{emb} IS NULL)",
                    table = sql.table,
                    id = sql.id,
                    emb = sql.emb
                ),
                [],
            )?;
            Ok(())
        })
        .await?;
        self.enqueue_needed().await
    }
}
