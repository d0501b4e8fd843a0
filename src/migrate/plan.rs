//! `vecsync migrate --dry-run`: what a migration to `[next_embedder]` will embed, cost and
//! store, and every statement it will run on the user's table. Writes nothing.

use anyhow::Result;
use serde::Serialize;

use super::{with_embedder, Migration};
use crate::config_error;
use crate::embed;
use crate::pipeline::{self, DryRun, Mode, RunOptions};
use crate::store::migration::{open_other, Phase, Slot};
use crate::store::{self, Store};

/// What a migration will do.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub table: String,
    pub live_model: String,
    pub live_dimensions: usize,
    pub next_model: String,
    pub next_dimensions: usize,
    /// The next vectorizer's column.
    pub next_column: String,
    /// True when a migration to this model is already under way (then the counts are
    /// what is left).
    pub in_progress: bool,
    /// Rows, tokens and cost still to embed with the next model.
    pub embed: DryRun,
    /// Seconds at the next model's configured rate limits (none configured: unknown).
    pub eta_seconds: Option<f64>,
    /// Bytes of the next model's vectors while both columns exist: rows × dimensions × 4.
    pub vector_bytes: u64,
    /// Statement that adds the next column (needs `--add-column`); none when it exists.
    pub add_column: Option<String>,
    /// PostgreSQL: the HNSW index built before the switch (when the live column has one).
    pub index: Option<String>,
    /// What the switch runs, in one transaction.
    pub switch: Vec<String>,
    /// What `--finish` runs.
    pub finish: Vec<String>,
}

impl Migration {
    /// The plan of a migration to `[next_embedder]` (or of the one in progress).
    pub async fn plan(&self) -> Result<Plan> {
        let resolved = self.resolve().await?;
        let phase = resolved.record.as_ref().map(|r| r.phase);
        if phase == Some(Phase::Switched) {
            return Err(config_error!(
                "migrate --dry-run: the switch already happened; `vecsync status` shows the migration"
            ));
        }
        let in_progress = phase == Some(Phase::Building);
        let (next_table, table) = match (&resolved.other, &resolved.config.next_embedder) {
            (Some(other), _) => (other.embedder.clone(), other.table),
            (None, Some(next)) if !in_progress => (next.clone(), "next_embedder"),
            _ => {
                return Err(config_error!(
                    setting = "next_embedder",
                    "add a [next_embedder] table (same keys as [embedder]) naming the model to migrate to"
                ))
            }
        };
        let live = embed::from_config(&resolved.config)?;
        let next_config = with_embedder(&resolved.config, &next_table);
        let next = super::embedder_of(&next_config, table)?;
        // Rows the next model still has to embed: the next vectorizer's own backlog once
        // it exists; before that, every row (the live store asked for another model's
        // vectors finds them all), so nothing is created to count them.
        let counter: std::sync::Arc<dyn Store> = if in_progress {
            open_other(&resolved.config, Slot::Next, next.model_id()).await?
        } else {
            store::open(&next_config).await?
        };
        let mut options = RunOptions::new(&next_config, Mode::Drain, 1);
        options.limit = None;
        let counted = pipeline::estimate(counter.as_ref(), next.as_ref(), &options).await?;
        let e = &next_config.embedder;
        let by_tokens = e
            .tokens_per_minute
            .map(|tpm| 60.0 * counted.tokens as f64 / tpm.max(1) as f64);
        let by_requests = e.requests_per_minute.map(|rpm| {
            let requests = (counted.unique_texts as f64 / e.max_inputs_per_request as f64).ceil();
            60.0 * requests / rpm.max(1) as f64
        });
        let eta_seconds = match (by_tokens, by_requests) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let next_column = Slot::Next.column(&resolved.config.source.embedding_column);
        let exists = self.migrator.column_type(&next_column).await?.is_some();
        let add_column = if exists {
            None
        } else {
            Some(self.migrator.add_column_sql(next.dimensions()).await?)
        };
        let rows_with_vectors = counted.rows.saturating_sub(counted.empty);
        Ok(Plan {
            table: resolved.config.source.table.clone(),
            live_model: live.model_id().to_string(),
            live_dimensions: live.dimensions(),
            next_model: next.model_id().to_string(),
            next_dimensions: next.dimensions(),
            next_column,
            in_progress,
            vector_bytes: rows_with_vectors * next.dimensions() as u64 * 4,
            embed: counted,
            eta_seconds,
            add_column,
            index: self.migrator.index_sql().await?,
            switch: self.migrator.switch_sql(),
            finish: self.migrator.finish_sql(),
        })
    }
}

/// Bytes in binary units, for people.
pub fn human_bytes(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_bytes() {
        assert_eq!(super::human_bytes(512), "512 B");
        assert_eq!(super::human_bytes(1536 * 4 * 100_000), "585.9 MiB");
    }
}
