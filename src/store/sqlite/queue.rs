//! The queue: enqueue, claim, complete (the guarded write), release, retry.

use std::time::Duration;

use anyhow::Result;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{named_params, Connection, OptionalExtension, TransactionBehavior};

use super::functions::vector_to_blob;
use super::migration;
use super::now;
use super::statements::Statements;
use crate::store::{ClaimedRow, Completion, Failure, RowId, StoreOptions, WriteOutcome};

/// Retry backoff of a failed attempt: 1 s, 2 s, 4 s … capped at 5 minutes.
const BACKOFF_BASE_SECONDS: f64 = 1.0;
const BACKOFF_CAP_SECONDS: f64 = 300.0;

/// Source rows examined per `enqueue_needed` statement.
const ENQUEUE_CHUNK: i64 = 10_000;

/// Queues every row that needs work and is not queued, [`ENQUEUE_CHUNK`] ids per
/// statement (each its own transaction); returns how many rows were queued.
pub(super) fn enqueue_needed(
    conn: &mut Connection,
    sql: &Statements,
    options: &StoreOptions,
) -> Result<u64> {
    enqueue_needed_for(conn, sql, &options.model_id)
}

/// [`enqueue_needed`] for vectors of `model`, on a connection that may be inside a
/// transaction (a model migration's switch).
pub(super) fn enqueue_needed_for(conn: &Connection, sql: &Statements, model: &str) -> Result<u64> {
    let e = &sql.enqueue;
    let t = now();
    let mut added = 0;
    let mut from: Value = conn.query_row(&e.first_id, [], |r| r.get(0))?;
    while from != Value::Null {
        let last: Value = conn.query_row(
            &e.chunk_end,
            named_params! {":from": from, ":chunk": ENQUEUE_CHUNK},
            |r| r.get(0),
        )?;
        added += conn.execute(
            &e.chunk,
            named_params! {":from": from, ":last": last, ":now": t, ":model": model},
        )? as u64;
        from = conn.query_row(&e.next_id, named_params! {":last": last}, |r| r.get(0))?;
    }
    Ok(added)
}

pub(super) fn peek_needed(
    conn: &mut Connection,
    sql: &Statements,
    options: &StoreOptions,
    after: Option<RowId>,
    limit: usize,
) -> Result<Vec<ClaimedRow>> {
    // A dry run only counts: text that is not UTF-8 (the claim will fail that row) is
    // counted as decoded with replacement characters.
    let row = |r: &rusqlite::Row<'_>| {
        Ok(ClaimedRow {
            id: r.get(0)?,
            text: String::from_utf8_lossy(r.get_ref(1)?.as_bytes()?).into_owned(),
        })
    };
    let limit = limit as i64;
    let rows = if super::setup::installed(conn, sql)? {
        conn.prepare_cached(&sql.enqueue.peek)?
            .query_map(
                named_params! {":model": options.model_id, ":after": after, ":limit": limit},
                row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?
    } else {
        conn.prepare_cached(&sql.enqueue.peek_fresh)?
            .query_map(named_params! {":after": after, ":limit": limit}, row)?
            .collect::<rusqlite::Result<Vec<_>>>()?
    };
    Ok(rows)
}

pub(super) fn claim(
    conn: &mut Connection,
    sql: &Statements,
    options: &StoreOptions,
    limit: usize,
    lease: Duration,
) -> Result<Vec<ClaimedRow>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    migration::check(&tx, sql, options)?;
    let t = now();
    let ids: Vec<Value> = {
        let mut stmt = tx.prepare_cached(&sql.claim.lease)?;
        let ids = stmt
            .query_map(
                named_params! {":now": t, ":until": t + lease.as_secs_f64(), ":limit": limit as i64},
                |r| r.get(0),
            )?
            .collect::<rusqlite::Result<_>>()?;
        ids
    };
    let mut rows = Vec::with_capacity(ids.len());
    {
        let mut fetch = tx.prepare_cached(&sql.claim.fetch)?;
        let mut forget = tx.prepare_cached(&sql.claim.forget)?;
        let mut fail = tx.prepare_cached(&sql.claim.fail_row)?;
        for id in &ids {
            let fetched = fetch
                .query_row(named_params! {":row_id": id}, |r| {
                    Ok(decode(r, &sql.claim.template_columns))
                })
                .optional();
            let row = match fetched {
                Ok(row) => row,
                // The rendering cannot fail, so this is the user's filter raising an error
                // on this row's values (e.g. json_extract on malformed JSON): that row
                // fails alone.
                Err(rusqlite::Error::SqliteFailure(e, message))
                    if e.code == rusqlite::ErrorCode::Unknown =>
                {
                    let why = message.unwrap_or_else(|| e.to_string());
                    Some(Err(format!(
                        "row {}: source.filter cannot be evaluated on it ({why}); fix the value or the filter",
                        id_text(id)
                    )))
                }
                Err(e) => return Err(e.into()),
            };
            match row {
                Some(Ok(row)) => rows.push(row),
                Some(Err(reason)) => {
                    tracing::warn!("{reason}");
                    fail.execute(named_params! {":row_id": id, ":reason": reason, ":now": t})?;
                }
                // Deleted, or no longer passes the filter: nothing to embed.
                None => {
                    forget.execute(named_params! {":row_id": id})?;
                }
            }
        }
    }
    tx.commit()?;
    Ok(rows)
}

/// A queue row id as the user wrote it, for messages.
fn id_text(id: &Value) -> String {
    match id {
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        Value::Text(t) => t.clone(),
        Value::Blob(b) => format!("x'{}'", hex::encode(b)),
        Value::Null => "NULL".into(),
    }
}

/// The claimed row from `claim.fetch`'s columns (id, text, then the template's columns as
/// stored), or why its text cannot be embedded: a template column holding a BLOB, or
/// bytes that are not UTF-8.
fn decode(r: &rusqlite::Row<'_>, columns: &[String]) -> Result<ClaimedRow, String> {
    let bytes = |i: usize| r.get_ref(i).ok().and_then(|v| v.as_bytes().ok());
    let id = String::from_utf8_lossy(bytes(0).unwrap_or_default()).into_owned();
    let bad = columns.iter().enumerate().find_map(|(i, c)| {
        let why = match r.get_ref(2 + i).ok()? {
            ValueRef::Blob(_) => "holds a BLOB, not text",
            ValueRef::Text(b) if std::str::from_utf8(b).is_err() => {
                "holds bytes that are not UTF-8 text (e.g. Latin-1); store it as UTF-8"
            }
            _ => return None,
        };
        Some(format!("row {id}: column {c:?} {why}"))
    });
    let text = bytes(1).and_then(|b| String::from_utf8(b.to_vec()).ok());
    match (bad, text) {
        (None, Some(text)) => Ok(ClaimedRow { id, text }),
        (Some(why), _) => Err(why),
        (None, None) => Err(format!("row {id}: its text is not UTF-8")),
    }
}

pub(super) fn complete(
    conn: &mut Connection,
    sql: &Statements,
    options: &StoreOptions,
    done: &[Completion],
    failed: &[Failure],
) -> Result<WriteOutcome> {
    let s = &sql.complete;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // A worker left over from before a model switch writes nothing.
    migration::check(&tx, sql, options)?;
    let t = now();
    let mut out = WriteOutcome::default();
    {
        let mut claimed = tx.prepare_cached(&s.claimed)?;
        let mut write = tx.prepare_cached(&s.write)?;
        let mut record_state = tx.prepare_cached(&s.record_state)?;
        let mut dequeue = tx.prepare_cached(&s.dequeue)?;
        let mut source_exists = tx.prepare_cached(&s.source_exists)?;
        let mut requeue = tx.prepare_cached(&s.requeue)?;
        let mut forget_state = tx.prepare_cached(&s.forget_state)?;
        for c in done {
            if !claimed.exists(named_params! {":row_id": c.id})? {
                out.skipped += 1;
                continue;
            }
            let vector = vector_to_blob(&c.vector);
            let written = write.execute(
                named_params! {":vector": vector, ":row_id": c.id, ":hash": c.text_hash},
            )? == 1;
            if written {
                record_state.execute(named_params! {
                    ":row_id": c.id, ":hash": c.text_hash, ":model": options.model_id, ":now": t,
                })?;
                dequeue.execute(named_params! {":row_id": c.id})?;
                out.written += 1;
            } else {
                out.skipped += 1;
                if source_exists.exists(named_params! {":row_id": c.id})? {
                    // Text changed since the claim: embed the new text next.
                    requeue.execute(named_params! {":row_id": c.id, ":now": t})?;
                } else {
                    dequeue.execute(named_params! {":row_id": c.id})?;
                    forget_state.execute(named_params! {":row_id": c.id})?;
                }
            }
        }
        let mut fail = tx.prepare_cached(&s.fail)?;
        for f in failed {
            let status: Option<String> = fail
                .query_row(
                    named_params! {
                        ":row_id": f.id,
                        ":reason": f.reason,
                        ":permanent": f.kind.is_permanent(),
                        ":max_attempts": options.max_attempts,
                        ":now": t,
                        ":backoff_base": BACKOFF_BASE_SECONDS,
                        ":backoff_cap": BACKOFF_CAP_SECONDS,
                    },
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
}

pub(super) fn release(conn: &mut Connection, sql: &Statements, ids: &[RowId]) -> Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(&sql.complete.release)?;
        for id in ids {
            stmt.execute(named_params! {":row_id": id})?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn retry_failed(conn: &mut Connection, sql: &Statements) -> Result<u64> {
    let n = conn.execute(&sql.complete.retry_failed, named_params! {":now": now()})?;
    Ok(n as u64)
}

/// Forgets state that claims a vector the table does not have, then queues whatever
/// needs work; returns how many rows were queued.
pub(super) fn reconcile(
    conn: &mut Connection,
    sql: &Statements,
    options: &StoreOptions,
) -> Result<u64> {
    conn.execute(&sql.complete.reconcile_forget, [])?;
    enqueue_needed(conn, sql, options)
}
