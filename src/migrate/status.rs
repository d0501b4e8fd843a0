//! The `migration` key of `vecsync status`: where a model migration stands, the coverage
//! and ETA of the new model, and what it cost so far.

use anyhow::Result;
use serde::Serialize;

use super::Resolved;
use crate::store::migration::{open_other, Phase};
use crate::store::{Status, UsageTotals};

/// A model migration as `status` reports it (JSON keys are a public contract).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrationStatus {
    pub phase: Phase,
    /// The model in the live column (searches embed queries with it).
    pub live_model: String,
    /// The model moved to: the next one while building, the live one afterwards.
    pub new_model: Side,
    /// The model moved from while its vectors exist (after the switch: kept for a
    /// rollback); none while building (it is the live one) and once finished.
    pub old_model: Option<Side>,
    /// Provider usage of the new model since the migration started.
    pub usage: UsageTotals,
    /// Unix seconds.
    pub started_at: f64,
    pub switched_at: Option<f64>,
    pub finished_at: Option<f64>,
    /// What to change in the config, if anything.
    pub hint: Option<String>,
}

/// One model's vectorizer during a migration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    pub model: String,
    /// `live`, `next` or `prev`.
    pub role: &'static str,
    pub total: u64,
    /// Rows with a vector of this model for their current text.
    pub embedded: u64,
    pub coverage: f64,
    /// Rows queued (pending or leased) and failed.
    pub queued: u64,
    pub failed: u64,
    /// Seconds until its queue is empty at the rate of the last 10 minutes.
    pub eta_seconds: Option<f64>,
}

impl Side {
    fn of(status: &Status, role: &'static str) -> Side {
        Side {
            model: status.model.clone(),
            role,
            total: status.total,
            embedded: status.embedded,
            coverage: status.coverage,
            queued: status.queue.pending + status.queue.leased,
            failed: status.failed,
            eta_seconds: status.eta_seconds,
        }
    }
}

/// The migration of `resolved`'s table, given the live vectorizer's `live` status; none
/// when no migration ever started. The other vectorizer's counts cost one more status
/// query (a pass over the table).
pub async fn status(resolved: &Resolved, live: &Status) -> Result<Option<MigrationStatus>> {
    let Some(record) = &resolved.record else {
        return Ok(None);
    };
    let other = match (record.phase.other_slot(), &record.other_model) {
        (Some(slot), Some(model)) => {
            let store = open_other(&resolved.config, slot, model).await?;
            // Before its first run the other namespace may not exist yet: nothing to show.
            store.status().await.ok().map(|s| (slot, s))
        }
        _ => None,
    };
    let (new_model, old_model, usage) = match (record.phase, other) {
        (Phase::Building, Some((_, next))) => (Side::of(&next, "next"), None, next.usage),
        (Phase::Building, None) => {
            let next = Status {
                model: record.other_model.clone().unwrap_or_default(),
                total: live.total,
                ..Status::default()
            };
            (Side::of(&next, "next"), None, UsageTotals::default())
        }
        (_, other) => (
            Side::of(live, "live"),
            other.map(|(slot, s)| Side::of(&s, slot.role())),
            live.usage.clone(),
        ),
    };
    Ok(Some(MigrationStatus {
        phase: record.phase,
        live_model: record.live_model.clone(),
        new_model,
        old_model,
        usage,
        started_at: record.started_at,
        switched_at: record.switched_at,
        finished_at: record.finished_at,
        hint: resolved.hint.clone(),
    }))
}
