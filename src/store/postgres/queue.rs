//! The queue: enqueue what needs work, peek (dry runs), claim, complete, release, retry,
//! usage and reconcile. Each operation is one statement from `sql/queue/`, filled in once
//! per store ([`Statements`]).

use std::time::Duration;

use anyhow::Result;

use super::statements::{Vars, VecParam};
use super::PostgresStore;
use crate::store::{ClaimedRow, Completion, Failure, RowId, UsageTotals, WriteOutcome};

/// Source rows examined per `enqueue_needed` statement.
const ENQUEUE_CHUNK: i64 = 10_000;

/// The queue's statements for one store.
pub(super) struct Statements {
    enqueue_first: String,
    enqueue_after: String,
    peek_first: String,
    peek_after: String,
    /// The peeks before `init`: no state yet, so every row that passes the filter.
    peek_first_fresh: String,
    peek_after_fresh: String,
    claim: String,
    complete: String,
    release: String,
    retry_failed: String,
    record_usage: String,
    forget_lost_vectors: String,
}

impl Statements {
    pub(super) fn new(vars: &Vars) -> Statements {
        // An empty stand-in for the state table, so a dry run before `init` (which must
        // not create it) reads like the real peek.
        let fresh = vars.clone().with(
            "state",
            vars.fill("(SELECT NULL::{id_type} AS row_id, NULL::text AS text_hash, NULL::text AS model WHERE false)"),
        );
        Statements {
            enqueue_first: vars.fill(include_str!("sql/queue/enqueue_first.sql")),
            enqueue_after: vars.fill(include_str!("sql/queue/enqueue_after.sql")),
            peek_first: vars.fill(include_str!("sql/queue/peek_first.sql")),
            peek_after: vars.fill(include_str!("sql/queue/peek_after.sql")),
            peek_first_fresh: fresh.fill(include_str!("sql/queue/peek_first.sql")),
            peek_after_fresh: fresh.fill(include_str!("sql/queue/peek_after.sql")),
            claim: vars.fill(include_str!("sql/queue/claim.sql")),
            complete: vars.fill(include_str!("sql/queue/complete.sql")),
            release: vars.fill(include_str!("sql/queue/release.sql")),
            retry_failed: vars.fill(include_str!("sql/queue/retry_failed.sql")),
            record_usage: vars.fill(include_str!("sql/queue/record_usage.sql")),
            forget_lost_vectors: vars.fill(include_str!("sql/queue/forget_lost_vectors.sql")),
        }
    }
}

/// Walks the table by id in chunks of [`ENQUEUE_CHUNK`] (one statement each), queueing
/// rows that need work; wakes workers when any were added. This hashes every row, so it
/// is recorded as an audit; one that ran with the triggers current leaves the queue
/// complete (every row needing work queued), which `status` then trusts.
pub(super) async fn enqueue_needed(store: &PostgresStore) -> Result<u64> {
    let triggers_current = super::status::triggers_current(store).await?;
    let ready = store.ready().await?;
    let sql = &ready.queue;
    let model = &store.options.model_id;
    let mut c = store.pool.get().await?;
    // Every change committed before this snapshot is seen by every chunk below.
    let seen = super::status::Seen::from_row(&c.query_one(&ready.status.snapshot, &[]).await?);
    let mut after: Option<String> = None;
    let mut added = 0u64;
    loop {
        let row = match &after {
            None => {
                c.query_one(&sql.enqueue_first, &[model, &ENQUEUE_CHUNK])
                    .await?
            }
            Some(a) => {
                c.query_one(&sql.enqueue_after, &[model, &ENQUEUE_CHUNK, a])
                    .await?
            }
        };
        let hi: Option<String> = row.get(0);
        added += row.get::<_, i64>(1) as u64;
        match hi {
            Some(hi) => after = Some(hi),
            None => break,
        }
    }
    drop(c);
    store.healed();
    super::status::record_audit(store, triggers_current.then_some(&seen)).await;
    if added > 0 {
        store.notify().await?;
    }
    Ok(added)
}

pub(super) async fn peek_needed(
    store: &PostgresStore,
    after: Option<&RowId>,
    limit: usize,
) -> Result<Vec<ClaimedRow>> {
    let sql = &store.ready().await?.queue;
    let model = &store.options.model_id;
    let limit = limit.min(i64::MAX as usize) as i64;
    let mut c = store.pool.get().await?;
    let installed: bool = c
        .query_one(
            "SELECT to_regclass($1::text) IS NOT NULL",
            &[&store.names.state],
        )
        .await?
        .get(0);
    let (first, next) = match installed {
        true => (&sql.peek_first, &sql.peek_after),
        false => (&sql.peek_first_fresh, &sql.peek_after_fresh),
    };
    let rows = match after {
        Some(a) => c.query(next, &[model, &limit, a]).await?,
        None => c.query(first, &[model, &limit]).await?,
    };
    Ok(rows
        .iter()
        .map(|r| ClaimedRow {
            id: r.get(0),
            text: r.get(1),
        })
        .collect())
}

pub(super) async fn claim(
    store: &PostgresStore,
    limit: usize,
    lease: Duration,
) -> Result<Vec<ClaimedRow>> {
    let sql = &store.ready().await?.queue;
    let mut c = store.pool.get().await?;
    let rows = c
        .query(
            &sql.claim,
            &[
                &(limit.min(i64::MAX as usize) as i64),
                &lease.as_secs_f64(),
                &store.options.model_id,
            ],
        )
        .await?;
    if rows.is_empty() {
        // Nothing to do, or fenced: a worker left over from before a model switch stops.
        store.check_fence(&mut c).await?;
    }
    drop(c);
    if store.fold_due() {
        super::status::fold(store).await;
    }
    if store.heal_due() {
        super::status::heal(store).await;
    }
    Ok(rows
        .iter()
        .map(|r| ClaimedRow {
            id: r.get(0),
            text: r.get(1),
        })
        .collect())
}

pub(super) async fn complete(
    store: &PostgresStore,
    done: &[Completion],
    failed: &[Failure],
) -> Result<WriteOutcome> {
    if done.is_empty() && failed.is_empty() {
        return Ok(WriteOutcome::default());
    }
    let sql = &store.ready().await?.queue;
    let ids: Vec<&str> = done.iter().map(|d| d.id.as_str()).collect();
    let vecs: Vec<VecParam<'_>> = done.iter().map(|d| VecParam(&d.vector)).collect();
    let hashes: Vec<&str> = done.iter().map(|d| d.text_hash.as_str()).collect();
    let f_ids: Vec<&str> = failed.iter().map(|f| f.id.as_str()).collect();
    let f_reasons: Vec<&str> = failed.iter().map(|f| f.reason.as_str()).collect();
    let f_permanent: Vec<bool> = failed.iter().map(|f| f.kind.is_permanent()).collect();
    let max_attempts = store.options.max_attempts.min(i32::MAX as u32) as i32;
    let mut c = store.pool.get().await?;
    let row = c
        .query_one(
            &sql.complete,
            &[
                &ids,
                &vecs,
                &hashes,
                &store.options.model_id,
                &f_ids,
                &f_reasons,
                &f_permanent,
                &max_attempts,
            ],
        )
        .await?;
    let (written, sent, now_failed, retrying): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    if row.get::<_, bool>(4) {
        store.check_fence(&mut c).await?;
    }
    Ok(WriteOutcome {
        written: written as u64,
        skipped: (sent - written) as u64,
        failed: now_failed as u64,
        retrying: retrying as u64,
    })
}

pub(super) async fn release(store: &PostgresStore, ids: &[RowId]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = &store.ready().await?.queue;
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut c = store.pool.get().await?;
    c.execute(&sql.release, &[&ids]).await?;
    Ok(())
}

pub(super) async fn retry_failed(store: &PostgresStore) -> Result<u64> {
    let sql = &store.ready().await?.queue;
    let n = {
        let mut c = store.pool.get().await?;
        c.execute(&sql.retry_failed, &[]).await?
    };
    if n > 0 {
        store.notify().await?;
    }
    Ok(n)
}

pub(super) async fn record_usage(
    store: &PostgresStore,
    model: &str,
    usage: &UsageTotals,
) -> Result<()> {
    let sql = &store.ready().await?.queue;
    let mut c = store.pool.get().await?;
    c.execute(
        &sql.record_usage,
        &[
            &model,
            &(usage.requests as i64),
            &(usage.tokens as i64),
            &usage.cost,
        ],
    )
    .await?;
    Ok(())
}

/// Forgets state that claims a vector the table does not have, then queues what needs work.
pub(super) async fn reconcile(store: &PostgresStore) -> Result<u64> {
    let sql = &store.ready().await?.queue;
    let forgotten = {
        let mut c = store.pool.get().await?;
        c.execute(&sql.forget_lost_vectors, &[]).await?
    };
    if forgotten > 0 {
        tracing::info!("reconcile: forgot {forgotten} state rows whose vector is gone");
    }
    enqueue_needed(store).await
}
