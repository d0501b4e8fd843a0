//! `status`: exact counts from one snapshot (one repeatable-read transaction, statements
//! from `sql/status/` pipelined).
//!
//! Three ways to count the rows, with the same answer while every change goes through
//! vecsync's triggers:
//! - **counted** (`row_counts.sql`, `queued_vectors.sql`): reads no row of the table. The
//!   total is the sum of `row_counts`, which the triggers change per statement and a
//!   recount sets; the rows missing a vector and the stale ones are the queued rows
//!   without and with one (`queue.has_vector`). Costs O(backlog + rows of row_counts);
//! - **one pass** (`rows.sql`, `queued.sql`), before the first recount: one pass over the
//!   table reading only whether each row's embedding is NULL (the cost of a filtered
//!   `count(*)`), plus the queue;
//! - **audit** (`categories.sql`): every row's text rendered and hashed against its state,
//!   which also finds changes made behind vecsync's back (triggers off, restored dumps).
//!
//! Both cheap ways rely on the queue holding every row that needs work: a row with a vector
//! that is not queued is embedded. `status` audits instead when it cannot trust that: no
//! audit for the current model since `init` (`meta.queue_complete_for`, see migration 4),
//! the triggers are missing, disabled or stale, one of them could not do its work
//! (`row_counts.broken`, migration 5), or rows changed without a trigger firing (the
//! table's storage changed since the count: a rewrite, columns dropped, added or renamed,
//! a partition attached, detached or truncated; `storage.sql`, migration 6). An audit that
//! leaves the queue complete recounts, and workers run one when they notice (`heal`).
//!
//! With a filter that depends on more than the row (`now()`, another table), rows enter
//! and leave it without a write, and one changed while out of it comes back with a vector
//! for its old text: only the audit sees that, so `status` always audits. With rows
//! without an id, `status` makes the one pass instead of counting.

use anyhow::Result;

use super::errors::PgResultExt;
use super::pool::{Conn, Param};
use super::statements::Vars;
use super::PostgresStore;
use crate::store::{FailedRow, QueueCounts, Status, UsageTotals};

/// The status statements for one store.
pub(super) struct Statements {
    row_counts: String,
    queued_vectors: String,
    rows: String,
    queued: String,
    categories: String,
    queue: String,
    failures: String,
    per_minute: String,
    usage: String,
    triggers: String,
    audit_mark: String,
    heal_turn: String,
    pub(super) record_audit: String,
    sync_has_vector: String,
    recount: String,
    pub(super) snapshot: String,
    fold_lock: String,
    fold: String,
    prune_completions: String,
}

/// `status` folds `row_counts` when it sums more rows than this.
const FOLD_AFTER: i64 = 100;

impl Statements {
    pub(super) fn new(vars: &Vars) -> Statements {
        Statements {
            row_counts: vars.fill(include_str!("sql/status/row_counts.sql")),
            queued_vectors: vars.fill(include_str!("sql/status/queued_vectors.sql")),
            sync_has_vector: vars.fill(include_str!("sql/status/sync_has_vector.sql")),
            recount: vars.fill(include_str!("sql/status/recount.sql")),
            snapshot: vars.fill(include_str!("sql/status/snapshot.sql")),
            fold_lock: vars.fill(include_str!("sql/status/fold_lock.sql")),
            fold: vars.fill(include_str!("sql/status/fold.sql")),
            prune_completions: vars.fill(include_str!("sql/status/prune_completions.sql")),
            rows: vars.fill(include_str!("sql/status/rows.sql")),
            queued: vars.fill(include_str!("sql/status/queued.sql")),
            categories: vars.fill(include_str!("sql/status/categories.sql")),
            queue: vars.fill(include_str!("sql/status/queue.sql")),
            failures: vars.fill(include_str!("sql/status/failures.sql")),
            per_minute: vars.fill(include_str!("sql/status/per_minute.sql")),
            usage: vars.fill(include_str!("sql/status/usage.sql")),
            triggers: vars.fill(include_str!("sql/status/triggers.sql")),
            audit_mark: vars.fill(include_str!("sql/status/audit_mark.sql")),
            heal_turn: vars.fill(include_str!("sql/status/heal_turn.sql")),
            record_audit: vars.fill(include_str!("sql/status/record_audit.sql")),
        }
    }
}

/// The status; a full audit when `audit` is set or the queue cannot be trusted (see the
/// module doc). An audit is recorded (best effort: a read-only role cannot).
pub(super) async fn status(store: &PostgresStore, audit: bool) -> Result<Status> {
    let ready = store.ready().await?;
    let sql = &ready.status;
    let model_id = &store.options.model_id;
    let mut c = store.pool.get().await?;
    // One snapshot for all counts; the queries are pipelined.
    let tx = c.snapshot().await.pg()?;
    let schema: [&dyn Param; 1] = [&store.names.schema];
    let (queue_row, failure_rows, minute_rows, usage_row, trigger_rows, mark_rows, snapshot) =
        futures::try_join!(
            tx.query_one(&sql.queue, &[]),
            tx.query(&sql.failures, &[]),
            tx.query(&sql.per_minute, &[]),
            tx.query_one(&sql.usage, &[]),
            tx.query(&sql.triggers, &schema),
            tx.query(&sql.audit_mark, &[]),
            tx.query_one(&sql.snapshot, &[]),
        )
        .map_err(|e| tx.explain(e))?;
    let seen = Seen::from_row(&snapshot);
    let (last_audit, complete_for): (Option<String>, Option<String>) = mark_rows
        .first()
        .map_or((None, None), |r| (r.get(0), r.get(1)));
    let filter_immutable = recorded_filter_immutable(&mark_rows) == Some(Some(true));
    let mut st = Status {
        model: model_id.clone(),
        completions_per_minute: vec![0; 10],
        usage: UsageTotals {
            requests: usage_row.get::<_, i64>(0) as u64,
            tokens: usage_row.get::<_, i64>(1) as u64,
            cost: usage_row.get(2),
        },
        last_audit,
        ..Status::default()
    };
    st.drift.triggers = trigger_drift(store, &ready.triggers_hash, trigger_rows.first());
    st.audited = audit
        || !st.drift.triggers.is_empty()
        || complete_for.as_ref() != Some(model_id)
        || !filter_immutable;
    // The count of `row_counts`, when it can be trusted, and how many rows it summed.
    let (mut counted, mut summed) = (None, 0);
    if !st.audited {
        let r = tx
            .query_one(&sql.row_counts, &[])
            .await
            .map_err(|e| tx.explain(e))?;
        let (base, unkeyed): (bool, i64) = (r.get(2), r.get(1));
        st.audited = missed_changes(&r, &seen);
        summed = r.get(4);
        if base && unkeyed == 0 {
            counted = Some(r.get::<_, i64>(0));
        }
    }
    // Rows with an id that need work but are not queued: what the counted status cannot
    // see (rows without one are counted apart).
    let mut unqueued_with_id = 0;
    if st.audited {
        let rows = tx
            .query(&sql.categories, &[model_id])
            .await
            .map_err(|e| tx.explain(e))?;
        unqueued_with_id = count_audited(&mut st, &rows);
    } else if let Some(total) = counted {
        let q = tx
            .query_one(&sql.queued_vectors, &[])
            .await
            .map_err(|e| tx.explain(e))?;
        let (stale, missing) = (q.get::<_, i64>(0) as u64, q.get::<_, i64>(1) as u64);
        st.total = total.max(0) as u64;
        st.missing = missing;
        st.embedded = st.total.saturating_sub(missing + stale);
    } else {
        let (rows, queued) =
            futures::try_join!(tx.query_one(&sql.rows, &[]), tx.query_one(&sql.queued, &[]))
                .map_err(|e| tx.explain(e))?;
        let n = |r: &tokio_postgres::Row, i| r.get::<_, i64>(i) as u64;
        st.total = n(&rows, 0);
        st.missing = n(&rows, 1);
        // Every row needing work is queued, so a row with a vector is embedded unless it
        // is queued; a row without one that is not queued is drift. A row without an id
        // is never queued: with a vector, it has one for no known text (as the audit
        // counts it).
        let unkeyed_vectors = n(&rows, 2);
        let vectors = st.total - st.missing - unkeyed_vectors;
        st.embedded = vectors - n(&queued, 0).min(vectors);
        st.drift.unqueued = st.missing.saturating_sub(n(&queued, 1)) + unkeyed_vectors;
        st.drift.vector_without_state = unkeyed_vectors;
    }
    tx.commit().await.pg()?;

    st.queue = QueueCounts {
        pending: queue_row.get::<_, i64>(0) as u64,
        leased: queue_row.get::<_, i64>(1) as u64,
        failed: queue_row.get::<_, i64>(2) as u64,
    };
    st.failed = st.queue.failed;
    st.failures = failure_rows
        .iter()
        .map(|r| FailedRow {
            id: r.get(0),
            reason: r.get(1),
            attempts: r.get::<_, i32>(2).max(0) as u32,
        })
        .collect();
    for r in &minute_rows {
        let (ago, count): (i32, i64) = (r.get(0), r.get(1));
        if (0..10).contains(&ago) {
            st.completions_per_minute[9 - ago as usize] = count as u64;
        }
    }
    st.derive();
    if st.audited {
        // The cheap counts can be trusted from now on when no row needs work outside the
        // queue, and the triggers keep it so.
        let complete = unqueued_with_id == 0 && st.drift.triggers.is_empty();
        let seen = complete.then_some(&seen);
        st.last_audit = record_audit(store, seen).await.or(st.last_audit);
    } else if summed > FOLD_AFTER {
        fold(store).await;
    }
    Ok(st)
}

/// Whether rows may have changed without the queue and the count hearing of it, from
/// `row_counts.sql`'s row: a trigger could not do its work, or the table's storage
/// (`storage.sql`) is not the one the count was made for.
fn missed_changes(row_counts: &tokio_postgres::Row, now: &Seen) -> bool {
    let (base, broken, storage): (bool, bool, Option<String>) =
        (row_counts.get(2), row_counts.get(3), row_counts.get(5));
    broken || (base && storage != now.storage)
}

/// Run by workers (`claim`, see `PostgresStore::heal_due`): when changes may have escaped
/// the queue, audits the table the way `work` starts, which queues the rows that need work
/// and recounts. Changes escape when `missed_changes` says so, and all the time with a
/// filter that depends on more than the row (rows enter it without a write). One worker
/// a minute does it, whatever the number of processes (`heal_turn.sql`). Without this,
/// such rows would wait for the next `work` start or `reconcile`, and `status` would audit
/// on every call until then. Best effort: a failure is logged, and the next check tries
/// again.
pub(super) async fn heal(store: &PostgresStore) {
    let turn = async {
        let sql = &store.ready().await?.status;
        let mut c = store.pool.get().await?;
        let mark = c.query(&sql.audit_mark, &[]).await?;
        let why = if recorded_filter_immutable(&mark) != Some(Some(true)) {
            "source.filter depends on more than the row"
        } else {
            let now = Seen::from_row(&c.query_one(&sql.snapshot, &[]).await?);
            if !missed_changes(&c.query_one(&sql.row_counts, &[]).await?, &now) {
                return anyhow::Ok(None);
            }
            "rows changed without vecsync's triggers seeing it (a rewrite, columns changed, a partition attached or detached, or a trigger that failed)"
        };
        let ours = !c.query(&sql.heal_turn, &[]).await?.is_empty();
        Ok(ours.then_some(why))
    };
    match turn.await {
        Ok(None) => {}
        Ok(Some(why)) => match super::queue::enqueue_needed(store).await {
            Ok(0) => tracing::debug!("{why}: audited {:?}, nothing to queue", store.source.table),
            Ok(n) => tracing::info!(
                "{why}: audited {:?} and queued {n} rows",
                store.source.table
            ),
            Err(e) => tracing::warn!("{why}, and the audit that would queue them failed: {e:#}"),
        },
        Err(e) => tracing::debug!("could not check for changes that escaped the queue: {e:#}"),
    }
}

/// What `init` recorded about the filter, from `audit_mark.sql`'s rows: whether it depends
/// on the row alone; `Some(None)` when `init` could not ask, None before `init`.
pub(super) fn recorded_filter_immutable(mark: &[tokio_postgres::Row]) -> Option<Option<bool>> {
    mark.first().map(|r| r.get(2))
}

/// What an audit saw (`snapshot.sql`): which transactions, and the table's storage.
pub(super) struct Seen {
    snapshot: String,
    storage: Option<String>,
}

impl Seen {
    pub(super) fn from_row(row: &tokio_postgres::Row) -> Seen {
        Seen {
            snapshot: row.get(0),
            storage: row.get(1),
        }
    }
}

/// Adds `categories.sql`'s rows to the counts; returns how many rows with an id need work
/// but are not queued.
fn count_audited(st: &mut Status, rows: &[tokio_postgres::Row]) -> u64 {
    let mut unqueued_with_id = 0;
    for r in rows {
        let (has_vector, has_state, current, queued, unkeyed): (bool, bool, bool, bool, bool) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        let count: i64 = r.get(5);
        let count = count as u64;
        st.total += count;
        if current && !queued {
            st.embedded += count;
        }
        if !current {
            if !queued {
                st.drift.unqueued += count;
                if !unkeyed {
                    unqueued_with_id += count;
                }
            }
            if has_vector {
                st.drift.vector_without_state += count;
            }
        }
        if !has_vector {
            st.missing += count;
            if has_state {
                st.drift.done_without_vector += count;
            }
        }
    }
    unqueued_with_id
}

/// Records that a full audit ran now. `complete`: the audit, which saw what `Seen` says,
/// left every row needing work queued for the current model; then the rows are recounted
/// (`recount.sql`). Returns the time recorded, None when it could not be recorded (a role
/// without UPDATE on meta, a schema before migration 4): the audit's counts stand.
pub(super) async fn record_audit(store: &PostgresStore, complete: Option<&Seen>) -> Option<String> {
    let result = async {
        let sql = &store.ready().await?.status;
        let model = complete.map(|_| &store.options.model_id);
        let mut c = store.pool.get().await?;
        c.execute(&sql.record_audit, &[&model]).await?;
        let rows = c.query(&sql.audit_mark, &[]).await?;
        if let Some(seen) = complete {
            if let Err(e) = recount(&mut c, sql, seen).await {
                // The next complete audit recounts; until then `status` makes one pass.
                tracing::debug!("status: could not recount the rows: {e:#}");
            }
        }
        anyhow::Ok(rows.first().and_then(|r| r.get(0)))
    }
    .await;
    result.unwrap_or_else(|e| {
        tracing::debug!("status: could not record the audit: {e:#}");
        None
    })
}

/// Sets `queue.has_vector` where it is wrong, then replaces `row_counts` by a count (one
/// snapshot: see `recount.sql`) for the storage the audit saw, keeping the broken marks of
/// transactions it did not see.
async fn recount(c: &mut Conn, sql: &Statements, seen: &Seen) -> Result<()> {
    c.execute(&sql.sync_has_vector, &[]).await?;
    let tx = c.repeatable_read(false).await.pg()?;
    tx.execute(&sql.recount, &[&seen.snapshot, &seen.storage])
        .await
        .map_err(|e| tx.explain(e))?;
    tx.commit().await.pg()?;
    Ok(())
}

/// Folds `row_counts` (`fold.sql`) and prunes `completions`, best effort: a role without
/// DELETE on them leaves the rows to the next worker or `status` that can.
pub(super) async fn fold(store: &PostgresStore) {
    let result = async {
        let sql = &store.ready().await?.status;
        let mut c = store.pool.get().await?;
        let tx = c.transaction().await.pg()?;
        tx.execute(&sql.fold_lock, &[]).await.pg()?;
        tx.execute(&sql.fold, &[]).await.pg()?;
        tx.execute(&sql.prune_completions, &[]).await.pg()?;
        tx.commit().await.pg()
    }
    .await;
    if let Err(e) = result {
        tracing::debug!("could not fold vecsync's row counts: {e:#}");
    }
}

/// Whether vecsync's triggers on the table are installed, enabled and current.
pub(super) async fn triggers_current(store: &PostgresStore) -> Result<bool> {
    let ready = store.ready().await?;
    let mut c = store.pool.get().await?;
    let rows = c
        .query(&ready.status.triggers, &[&store.names.schema])
        .await?;
    Ok(trigger_drift(store, &ready.triggers_hash, rows.first()).is_empty())
}

/// What is wrong with the installed triggers, from `sql/status/triggers.sql`'s row.
fn trigger_drift(
    store: &PostgresStore,
    want_hash: &str,
    row: Option<&tokio_postgres::Row>,
) -> Vec<String> {
    let table = &store.source.table;
    let Some(row) = row else {
        return vec![format!(
            "vecsync's triggers are not installed on {table:?}: changes are not queued; run `vecsync init`"
        )];
    };
    let (hash, enabled, off): (String, i64, Option<String>) = (row.get(0), row.get(1), row.get(2));
    let mut out = Vec::new();
    if enabled < 4 {
        out.push(format!(
            "{} of vecsync's 4 triggers on {table:?} are missing, disabled or fire only for replication: changes are not all queued; run `vecsync init`",
            4 - enabled
        ));
    }
    if let Some(off) = off {
        out.push(format!(
            "vecsync's triggers on partitions of {table:?} are disabled or fire only for replication ({off}): changes there are not queued; run `vecsync init`"
        ));
    }
    if hash != want_hash {
        out.push(format!(
            "vecsync's triggers on {table:?} were installed for another config or vecsync version; run `vecsync init`"
        ));
    }
    out
}
