//! `vecsync migrate`: move a table to another embedding model without a moment where
//! search mixes two models (design and states: `docs/migration.md`).
//!
//! A migration is a second vectorizer on the same table ([`crate::store::migration`]): the
//! next model's vectors are built in a shadow column by the ordinary pipeline (queue,
//! leases, guarded writes, retries, rate limits), while the triggers of both vectorizers
//! queue new and changed rows, so `work` keeps both current. When the next model covers
//! the table, one transaction swaps the columns and the bookkeeping; a rollback is the
//! same swap back, and `--finish` drops the previous vectors.
//!
//! - [`resolve`]: which config table is live (the store's record decides);
//! - [`Migration`]: the steps (begin, build, switch, rollback, abort, finish);
//! - [`plan`]: what `--dry-run` prints; [`status`]: the `migration` key of `status`.

pub mod plan;
pub mod resolve;
pub mod status;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio_util::sync::CancellationToken;

pub use resolve::{resolve, Other, Resolved};

use crate::config::{Config, ConfigError, EmbedderConfig};
use crate::config_error;
use crate::embed::{self, Embedder};
use crate::pipeline::{self, Mode, RunOptions, Summary};
use crate::store::migration::{
    open_migrator, open_other, Migrator, Model, Phase, Slot, TableBusy, Uncovered,
};
use crate::store::{self, Store};

/// One vectorizer: a store on its slot and its model's embedder.
pub struct Vectorizer {
    pub slot: Slot,
    /// The config with `embedder` = this vectorizer's model.
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub embedder: Arc<dyn Embedder>,
}

impl Vectorizer {
    /// The live vectorizer of a resolved config.
    pub async fn live(resolved: &Resolved) -> Result<Vectorizer> {
        Ok(Vectorizer {
            slot: Slot::Live,
            config: resolved.config.clone(),
            store: store::open(&resolved.config).await?,
            embedder: embed::from_config(&resolved.config)?,
        })
    }

    /// The other vectorizer of a migration in progress, when the config names its model.
    pub async fn other(resolved: &Resolved) -> Result<Option<Vectorizer>> {
        let Some(other) = &resolved.other else {
            return Ok(None);
        };
        let config = with_embedder(&resolved.config, &other.embedder);
        Ok(Some(Vectorizer {
            slot: other.slot,
            store: open_other(&resolved.config, other.slot, &other.embedder.model_id()).await?,
            embedder: embedder_of(&config, other.table)?,
            config,
        }))
    }

    /// `model (next)`: for progress lines.
    pub fn label(&self) -> String {
        match self.slot {
            Slot::Live => self.embedder.model_id().to_string(),
            slot => format!("{} ({})", self.embedder.model_id(), slot.role()),
        }
    }

    /// Pipeline options from this vectorizer's config.
    pub fn run_options(&self, mode: Mode) -> RunOptions {
        RunOptions::new(&self.config, mode, self.embedder.suggested_concurrency())
    }

    /// Drains this vectorizer's queue (after queueing what needs work).
    pub async fn drain(
        &self,
        cancel: CancellationToken,
        on_event: impl Fn(pipeline::Event) + Send + Sync + 'static,
    ) -> Result<Summary> {
        let options = self.run_options(Mode::Drain);
        pipeline::run(
            self.store.clone(),
            self.embedder.clone(),
            options,
            cancel,
            on_event,
        )
        .await
    }

    fn model(&self) -> Model {
        Model {
            id: self.embedder.model_id().to_string(),
            dimensions: self.embedder.dimensions(),
        }
    }
}

/// The embedder of `config.embedder`, which the user's config calls `[table]`: errors
/// name the setting where the user wrote it (`next_embedder.api_key_env`…).
fn embedder_of(config: &Config, table: &str) -> Result<Arc<dyn Embedder>> {
    embed::from_config(config).map_err(|e| match e.downcast_ref::<ConfigError>() {
        Some(ConfigError { setting, message })
            if table != "embedder" && setting.starts_with("embedder") =>
        {
            config_error!(
                setting = format!("{table}{}", &setting["embedder".len()..]),
                "{message}"
            )
        }
        _ => e,
    })
}

/// `config` with `embedder` as its `[embedder]`.
fn with_embedder(config: &Config, embedder: &EmbedderConfig) -> Config {
    Config {
        embedder: embedder.clone(),
        next_embedder: None,
        ..config.clone()
    }
}

/// What a migration step reports while it runs.
#[derive(Debug, Clone)]
pub enum Event {
    /// A step, for the log ("adding column …", "switching …").
    Step(String),
    /// The pipeline embedding the other vectorizer's rows.
    Pipeline(pipeline::Event),
}

pub type OnEvent = Arc<dyn Fn(Event) + Send + Sync>;

/// How a `migrate` or `--rollback` run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The swap happened; the migration is now in this phase.
    Swapped(Phase),
    /// Stopped by Ctrl-C / SIGTERM before the swap; run the command again to continue.
    Stopped,
}

/// How long a run waits for rows other workers hold (their lease) before giving up.
const STALL_MARGIN: Duration = Duration::from_secs(10);
/// How many times a switch tries to lock a table that application transactions hold
/// (each try waits up to the lock timeout).
const MAX_BUSY: u32 = 30;

/// The migration of the table a config names.
pub struct Migration {
    /// The config as loaded (both tables, in the user's order).
    config: Config,
    migrator: Box<dyn Migrator>,
}

impl Migration {
    pub async fn open(config: &Config) -> Result<Migration> {
        Ok(Migration {
            migrator: open_migrator(config).await?,
            config: config.clone(),
        })
    }

    /// The config resolved against the store's record (see [`resolve`]).
    pub async fn resolve(&self) -> Result<Resolved> {
        resolve::resolve_with(self.config.clone(), self.migrator.record().await?)
    }

    /// Starts a migration to `[next_embedder]` (or finds the one in progress), then opens
    /// and prepares the next vectorizer. The next column is added only with `add_column`.
    pub async fn begin(&self, add_column: bool, on_event: &OnEvent) -> Result<Vectorizer> {
        let resolved = self.resolve().await?;
        match resolved.record.as_ref().map(|r| r.phase) {
            Some(Phase::Switched) => {
                return Err(config_error!(
                    setting = "migrate",
                    "{:?} is already live; run `vecsync migrate --finish` to drop the previous vectors, or `--rollback`",
                    resolved.config.embedder.model_id()
                ))
            }
            Some(Phase::Building) => {}
            None | Some(Phase::Finished) => {
                let Some(next) = &resolved.config.next_embedder else {
                    return Err(config_error!(
                        setting = "next_embedder",
                        "add a [next_embedder] table (same keys as [embedder]) naming the model to migrate to"
                    ));
                };
                if next.model_id() == resolved.config.embedder.model_id() {
                    return Err(config_error!(
                        setting = "next_embedder.model",
                        "{:?} is already the live model; nothing to migrate",
                        next.model_id()
                    ));
                }
                let live = Vectorizer::live(&resolved).await?;
                live.store.prepare(live.embedder.dimensions()).await?;
                let next_config = with_embedder(&resolved.config, next);
                let next_embedder = embedder_of(&next_config, "next_embedder")?;
                let next = Model {
                    id: next_embedder.model_id().to_string(),
                    dimensions: next_embedder.dimensions(),
                };
                self.migrator.begin(&live.model(), &next, add_column).await?;
                on_event(Event::Step(format!(
                    "migrating {:?} from {:?} to {:?}",
                    self.config.source.table,
                    live.model().id,
                    next.id
                )));
            }
        }
        self.other().await
    }

    /// The other vectorizer of the migration in progress, prepared (its namespace and
    /// triggers installed, its record written).
    async fn other(&self) -> Result<Vectorizer> {
        let resolved = self.resolve().await?;
        let Some(other) = Vectorizer::other(&resolved).await? else {
            let model = resolved
                .record
                .and_then(|r| r.other_model)
                .unwrap_or_default();
            return Err(config_error!(
                setting = "next_embedder.model",
                "the migration in progress is with {model:?}; name it in [next_embedder]"
            ));
        };
        other.store.prepare(other.embedder.dimensions()).await?;
        self.migrator.record_other().await?;
        Ok(other)
    }

    /// Embeds what the other vectorizer lacks until it covers the table, then swaps
    /// (`from` building: the switch; `from` switched: the rollback). Rows that change
    /// meanwhile are queued by the triggers and embedded in the next round.
    async fn converge(
        &self,
        other: &Vectorizer,
        from: Phase,
        cancel: &CancellationToken,
        on_event: &OnEvent,
    ) -> Result<Outcome> {
        // Rows that failed in an earlier run get another chance.
        other.store.retry_failed().await?;
        let mut indexed = false;
        let mut busy = 0;
        let mut stalled: Option<Instant> = None;
        let lease = Duration::from_secs(self.config.worker.lease_seconds);
        loop {
            let sink = on_event.clone();
            let summary = other
                .drain(cancel.child_token(), move |e| sink(Event::Pipeline(e)))
                .await?;
            if cancel.is_cancelled() {
                return Ok(Outcome::Stopped);
            }
            if !indexed {
                if let Some(sql) = self.migrator.index_other().await? {
                    on_event(Event::Step(format!("index ready: {}", one_line(&sql))));
                }
                indexed = true;
            }
            let uncovered = match self.migrator.swap(from).await {
                Ok(Ok(phase)) => return Ok(Outcome::Swapped(phase)),
                Ok(Err(u)) => u,
                // An application transaction holds the table: try again after the next round.
                Err(e) if e.downcast_ref::<TableBusy>().is_some() && busy < MAX_BUSY => {
                    busy += 1;
                    on_event(Event::Step(format!("{e}: trying again")));
                    continue;
                }
                Err(e) => return Err(e),
            };
            if summary.written > 0 {
                stalled = None;
            } else if uncovered.pending == 0 {
                return Err(self.stuck(other, &uncovered).await);
            } else {
                // Rows other workers hold: their lease runs out if they died.
                let since = *stalled.get_or_insert_with(Instant::now);
                if since.elapsed() > lease + STALL_MARGIN {
                    return Err(config_error!(
                        setting = "migrate",
                        "{} rows of {} stay leased by another worker; run `vecsync migrate` again when it is done",
                        uncovered.pending,
                        other.label()
                    ));
                }
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(Outcome::Stopped),
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
            on_event(Event::Step(format!(
                "{} rows changed while embedding; embedding them too",
                uncovered.rows.max(uncovered.pending)
            )));
        }
    }

    /// The error when rows keep the other vectorizer from covering the table and nothing
    /// is left to embed: they failed.
    async fn stuck(&self, other: &Vectorizer, uncovered: &Uncovered) -> anyhow::Error {
        let examples = match other.store.status().await {
            Ok(s) => s
                .failures
                .iter()
                .take(3)
                .map(|f| format!("row {}: {}", f.id, f.reason))
                .collect::<Vec<_>>()
                .join("; "),
            Err(e) => format!("{e:#}"),
        };
        config_error!(
            setting = "migrate",
            "{} rows have a live vector but none from {} ({examples}); fix them and run the command again (it retries them), or `vecsync migrate --abort`",
            uncovered.rows,
            other.label()
        )
    }

    /// `vecsync migrate`: begin, embed every row with the next model, build its index
    /// (PostgreSQL, when the live column has one), and switch.
    pub async fn run(
        &self,
        add_column: bool,
        cancel: &CancellationToken,
        on_event: OnEvent,
    ) -> Result<Outcome> {
        let other = self.begin(add_column, &on_event).await?;
        self.converge(&other, Phase::Building, cancel, &on_event)
            .await
    }

    /// `vecsync migrate --rollback`: after the switch, make the previous model live again,
    /// embedding first what changed since the switch. The next model's vectors stay.
    /// Without the previous model in the config, the swap happens only if no row lacks
    /// its vector (changed rows stay queued for it).
    pub async fn rollback(&self, cancel: &CancellationToken, on_event: OnEvent) -> Result<Outcome> {
        let resolved = self.resolve().await?;
        if resolved.record.as_ref().map(|r| r.phase) != Some(Phase::Switched) {
            return Err(config_error!(
                "migrate --rollback: nothing to roll back (it undoes a switch until `--finish`); see `vecsync status`"
            ));
        }
        if resolved.other.is_some() {
            let other = self.other().await?;
            return self
                .converge(&other, Phase::Switched, cancel, &on_event)
                .await;
        }
        match self.migrator.swap(Phase::Switched).await? {
            Ok(phase) => Ok(Outcome::Swapped(phase)),
            Err(u) => Err(config_error!(
                "migrate --rollback: {} rows have no vector of {:?} yet; name that model in [next_embedder] so that they can be embedded first",
                u.rows,
                resolved.record.and_then(|r| r.other_model).unwrap_or_default()
            )),
        }
    }

    /// `--abort` (before the switch) or `--finish` (after it): drops the other vectorizer.
    pub async fn drop_other(&self, from: Phase) -> Result<()> {
        let resolved = self.resolve().await?;
        let phase = resolved.record.as_ref().map(|r| r.phase);
        if phase != Some(from) {
            let (flag, when) = match from {
                Phase::Building => ("--abort", "before the switch"),
                _ => ("--finish", "after the switch"),
            };
            return Err(config_error!(
                "migrate {flag}: works {when}, and the migration is {}; see `vecsync status`",
                phase.map_or("not started", |p| p.as_str())
            ));
        }
        self.migrator.drop_other(from).await
    }
}

/// `vecsync uninstall`: also removes a migration's other vectorizer (its bookkeeping and
/// triggers). Its column stays, like the live one: vecsync's uninstall never drops data
/// in the user's table.
pub async fn uninstall_other(config: &Config) -> Result<()> {
    let Some(record) = crate::store::migration::read_record(config).await? else {
        return Ok(());
    };
    match (record.phase.other_slot(), &record.other_model) {
        (Some(slot), Some(model)) => open_other(config, slot, model).await?.uninstall().await,
        _ => Ok(()),
    }
}

/// SQL on one line, without its comments (for messages).
pub fn one_line(sql: &str) -> String {
    sql.lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}
