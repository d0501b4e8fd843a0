//! `status`: exact counts from one snapshot. Five read-only statements from `sql/status/`,
//! pipelined in one repeatable-read transaction.

use anyhow::Result;

use super::errors::PgResultExt;
use super::pool::Param;
use super::statements::Vars;
use super::PostgresStore;
use crate::store::{FailedRow, QueueCounts, Status, UsageTotals};

/// The status statements for one store.
pub(super) struct Statements {
    categories: String,
    queue: String,
    failures: String,
    per_minute: String,
    usage: String,
    triggers: String,
}

impl Statements {
    pub(super) fn new(vars: &Vars) -> Statements {
        Statements {
            categories: vars.fill(include_str!("sql/status/categories.sql")),
            queue: vars.fill(include_str!("sql/status/queue.sql")),
            failures: vars.fill(include_str!("sql/status/failures.sql")),
            per_minute: vars.fill(include_str!("sql/status/per_minute.sql")),
            usage: vars.fill(include_str!("sql/status/usage.sql")),
            triggers: vars.fill(include_str!("sql/status/triggers.sql")),
        }
    }
}

pub(super) async fn status(store: &PostgresStore) -> Result<Status> {
    let ready = store.ready().await?;
    let sql = &ready.status;
    let mut c = store.pool.get().await?;
    // One snapshot for all counts; the queries are pipelined.
    let tx = c.snapshot().await.pg()?;
    let model: [&dyn Param; 1] = [&store.options.model_id];
    let schema: [&dyn Param; 1] = [&store.names.schema];
    let (cat_rows, queue_row, failure_rows, minute_rows, usage_row, trigger_rows) =
        futures::try_join!(
            tx.query(&sql.categories, &model),
            tx.query_one(&sql.queue, &[]),
            tx.query(&sql.failures, &[]),
            tx.query(&sql.per_minute, &[]),
            tx.query_one(&sql.usage, &[]),
            tx.query(&sql.triggers, &schema),
        )
        .map_err(|e| tx.explain(e))?;
    tx.commit().await.pg()?;

    let mut st = Status {
        model: store.options.model_id.clone(),
        completions_per_minute: vec![0; 10],
        usage: UsageTotals {
            requests: usage_row.get::<_, i64>(0) as u64,
            tokens: usage_row.get::<_, i64>(1) as u64,
            cost: usage_row.get(2),
        },
        ..Status::default()
    };
    for r in &cat_rows {
        let (has_vector, has_state, current, queued, count): (bool, bool, bool, bool, i64) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        let count = count as u64;
        st.total += count;
        if current {
            st.embedded += count;
        } else {
            if !queued {
                st.drift.unqueued += count;
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
    st.drift.triggers = trigger_drift(store, &ready.triggers_hash, trigger_rows.first());
    st.derive();
    Ok(st)
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
    let (hash, enabled): (String, i64) = (row.get(0), row.get(1));
    let mut out = Vec::new();
    if enabled < 4 {
        out.push(format!(
            "{} of vecsync's 4 triggers on {table:?} are missing or disabled: changes are not all queued; run `vecsync init`",
            4 - enabled
        ));
    }
    if hash != want_hash {
        out.push(format!(
            "vecsync's triggers on {table:?} were installed for another config or vecsync version; run `vecsync init`"
        ));
    }
    out
}
