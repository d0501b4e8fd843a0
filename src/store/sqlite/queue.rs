//! The queue: enqueue, claim, complete (the guarded write), release, retry.

use std::time::Duration;

use anyhow::Result;
use rusqlite::{named_params, Connection, OptionalExtension, TransactionBehavior};

use super::functions::vector_to_blob;
use super::migration;
use super::now;
use super::statements::Statements;
use crate::store::{ClaimedRow, Completion, Failure, RowId, StoreOptions, WriteOutcome};

/// Retry backoff of a failed attempt: 1 s, 2 s, 4 s … capped at 5 minutes.
const BACKOFF_BASE_SECONDS: f64 = 1.0;
const BACKOFF_CAP_SECONDS: f64 = 300.0;

pub(super) fn enqueue_needed(
    conn: &mut Connection,
    sql: &Statements,
    options: &StoreOptions,
) -> Result<u64> {
    let n = conn.execute(
        &sql.enqueue.needed,
        named_params! {":now": now(), ":model": options.model_id},
    )?;
    Ok(n as u64)
}

pub(super) fn peek_needed(
    conn: &mut Connection,
    sql: &Statements,
    options: &StoreOptions,
    after: Option<RowId>,
    limit: usize,
) -> Result<Vec<ClaimedRow>> {
    let row = |r: &rusqlite::Row<'_>| {
        Ok(ClaimedRow {
            id: r.get(0)?,
            text: r.get(1)?,
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
    let ids: Vec<rusqlite::types::Value> = {
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
        for id in &ids {
            let row = fetch
                .query_row(named_params! {":row_id": id}, |r| {
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
                    forget.execute(named_params! {":row_id": id})?;
                }
            }
        }
    }
    tx.commit()?;
    Ok(rows)
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
        let mut write = tx.prepare_cached(&s.write)?;
        let mut record_state = tx.prepare_cached(&s.record_state)?;
        let mut dequeue = tx.prepare_cached(&s.dequeue)?;
        let mut source_exists = tx.prepare_cached(&s.source_exists)?;
        let mut requeue = tx.prepare_cached(&s.requeue)?;
        let mut forget_state = tx.prepare_cached(&s.forget_state)?;
        for c in done {
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
