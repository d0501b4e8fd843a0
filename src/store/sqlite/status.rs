//! `status`: coverage, queue, failures, drift and provider usage. Always a full audit
//! (see `sql/status.sql`): without triggers, only hashing every row sees the application's
//! changes.

use anyhow::Result;
use rusqlite::{named_params, Connection};

use super::now;
use super::statements::Statements;
use crate::store::{Drift, FailedRow, QueueCounts, Status, StoreOptions, UsageTotals};

pub(super) fn status(
    conn: &mut Connection,
    sql: &Statements,
    options: &StoreOptions,
) -> Result<Status> {
    let s = &sql.status;
    let t = now();
    // One read transaction: every count from the same snapshot (a worker committing
    // between two of these queries would otherwise be counted half).
    let conn = conn.transaction()?;
    let (total, embedded, missing, vector_without_state, unqueued): (i64, i64, i64, i64, i64) =
        conn.query_row(
            &s.table_counts,
            named_params! {":model": options.model_id},
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
    let (pending, leased, failed): (i64, i64, i64) =
        conn.query_row(&s.queue_counts, named_params! {":now": t}, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    let done_without_vector: i64 = conn.query_row(&s.done_without_vector, [], |r| r.get(0))?;
    let audited_at: String = conn.query_row(&s.now_utc, [], |r| r.get(0))?;
    let failures = conn
        .prepare_cached(&s.recent_failures)?
        .query_map([], |r| {
            Ok(FailedRow {
                id: r.get(0)?,
                reason: r.get(1)?,
                attempts: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut completions_per_minute = vec![0u64; 10];
    {
        let mut stmt = conn.prepare_cached(&s.completions_per_minute)?;
        let rows = stmt.query_map(named_params! {":now": t}, |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (ago, n) = row?;
            if (0..10).contains(&ago) {
                completions_per_minute[9 - ago as usize] = n as u64;
            }
        }
    }
    let usage = conn.query_row(&s.usage_totals, [], |r| {
        Ok(UsageTotals {
            requests: r.get::<_, i64>(0)? as u64,
            tokens: r.get::<_, i64>(1)? as u64,
            cost: r.get(2)?,
        })
    })?;
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
            triggers: Vec::new(),
        },
        completions_per_minute,
        audited: true,
        last_audit: Some(audited_at),
        ..Status::default()
    };
    status.derive();
    Ok(status)
}

pub(super) fn record_usage(
    conn: &mut Connection,
    sql: &Statements,
    model: &str,
    usage: &UsageTotals,
) -> Result<()> {
    conn.execute(
        &sql.status.record_usage,
        named_params! {
            ":now": now(),
            ":model": model,
            ":requests": usage.requests as i64,
            ":tokens": usage.tokens as i64,
            ":cost": usage.cost,
        },
    )?;
    Ok(())
}
