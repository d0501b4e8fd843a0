//! `vecsync migrate`: the command line of a model migration ([`crate::migrate`]).

use std::sync::Arc;

use anyhow::Result;

use super::progress::Progress;
use crate::config::Config;
use crate::migrate::plan::{human_bytes, Plan};
use crate::migrate::status::{MigrationStatus, Side};
use crate::migrate::{one_line, Event, Migration, OnEvent, Outcome};
use crate::store::migration::{Phase, Slot};

#[derive(clap::Args, Debug)]
#[command(group = clap::ArgGroup::new("step").args(["dry_run", "abort", "rollback", "finish"]))]
pub struct Args {
    /// Show rows, tokens, cost, storage and every statement on your table; write nothing
    #[arg(long)]
    dry_run: bool,
    /// Allow adding the next model's column to your table (`<embedding>_next`)
    #[arg(long)]
    add_column: bool,
    /// Before the switch: drop the next model's column and bookkeeping
    #[arg(long)]
    abort: bool,
    /// After the switch: make the previous model live again (its vectors were kept)
    #[arg(long)]
    rollback: bool,
    /// After the switch: drop the previous model's column and bookkeeping
    #[arg(long)]
    finish: bool,
    /// With --dry-run: print the plan as JSON
    #[arg(long, requires = "dry_run")]
    json: bool,
}

pub async fn run(config: &Config, args: Args) -> Result<()> {
    let migration = Migration::open(config).await?;
    let live = &config.source.embedding_column;
    let column = |slot: Slot| slot.column(live);
    if args.dry_run {
        let plan = migration.plan().await?;
        if args.json {
            outln!("{}", serde_json::to_string_pretty(&plan)?);
        } else {
            print_plan(&plan)?;
        }
        return Ok(());
    }
    if args.abort {
        migration.drop_other(Phase::Building).await?;
        outln!(
            "aborted: dropped column {:?} and the next model's bookkeeping; nothing else changed",
            column(Slot::Next)
        );
        return Ok(());
    }
    if args.finish {
        migration.drop_other(Phase::Switched).await?;
        let resolved = migration.resolve().await?;
        outln!(
            "finished: {:?} is live; dropped column {:?} and the previous model's bookkeeping",
            resolved.config.embedder.model_id(),
            column(Slot::Prev)
        );
        if let Some(hint) = resolved.hint {
            outln!("{hint}");
        }
        return Ok(());
    }
    let cancel = super::cancel_on_signal();
    let progress = Arc::new(Progress::new(false));
    let p = progress.clone();
    let on_event: OnEvent = Arc::new(move |e| match e {
        Event::Step(line) => eprintln!("{line}"),
        Event::Pipeline(e) => p.handle(e),
    });
    let outcome = if args.rollback {
        migration.rollback(&cancel, on_event).await
    } else {
        migration.run(args.add_column, &cancel, on_event).await
    };
    progress.finish();
    let resolved = migration.resolve().await?;
    let live_model = resolved.config.embedder.model_id();
    match outcome? {
        Outcome::Stopped => {
            outln!("stopped before the switch; run the same command again to continue")
        }
        Outcome::Swapped(Phase::Switched) => outln!(
            "switched: {live_model:?} is live in column {live:?}; the previous vectors stay in {:?} until `vecsync migrate --finish` (`vecsync migrate --rollback` switches back)",
            column(Slot::Prev)
        ),
        Outcome::Swapped(_) => outln!(
            "rolled back: {live_model:?} is live again; the other model's vectors stay in {:?} (`vecsync migrate` switches again, `vecsync migrate --abort` drops them)",
            column(Slot::Next)
        ),
    }
    Ok(())
}

fn print_plan(p: &Plan) -> Result<()> {
    let e = &p.embed;
    outln!(
        "table {:?}: {} (live, {} dimensions) -> {} ({} dimensions, column {:?}){}",
        p.table,
        p.live_model,
        p.live_dimensions,
        p.next_model,
        p.next_dimensions,
        p.next_column,
        if p.in_progress { ", in progress" } else { "" }
    );
    outln!(
        "to embed: {} rows ({} empty), {} unique texts, {} tokens",
        e.rows,
        e.empty,
        e.unique_texts,
        e.tokens
    );
    if let Some(cost) = e.estimated_cost {
        outln!("estimated cost: ${cost:.4}");
    }
    if let Some(eta) = p.eta_seconds {
        outln!("at the configured rate limits: about {:.0} s", eta);
    }
    outln!(
        "storage while both models exist: {} of vectors ({} rows x {} dimensions x 4 bytes){}, plus the next model's bookkeeping",
        human_bytes(p.vector_bytes),
        e.rows.saturating_sub(e.empty),
        p.next_dimensions,
        if p.index.is_some() { " plus its HNSW index" } else { "" }
    );
    outln!("statements on your table:");
    match &p.add_column {
        Some(sql) => outln!("  now (needs --add-column):        {sql}"),
        None => outln!("  now: none (column {:?} exists)", p.next_column),
    }
    if let Some(sql) = &p.index {
        outln!("  before the switch:               {}", one_line(sql));
    }
    for (i, sql) in p.switch.iter().enumerate() {
        let when = if i == 0 {
            "at the switch (one transaction):"
        } else {
            ""
        };
        outln!("  {when:<33}{sql}");
    }
    for sql in &p.finish {
        outln!("  at --finish:                     {sql}");
    }
    outln!("run `vecsync migrate --add-column` to start; `vecsync status` shows its progress");
    Ok(())
}

/// The migration lines of `vecsync status`.
pub fn print_status(m: &MigrationStatus) -> Result<()> {
    let side = |s: &Side| {
        let eta = s
            .eta_seconds
            .filter(|_| s.queued > 0)
            .map(|e| format!(", ETA ~{e:.0}s"))
            .unwrap_or_default();
        format!(
            "{} ({}): {}/{} rows ({:.2}%), {} queued, {} failed{eta}",
            s.model,
            s.role,
            s.embedded,
            s.total,
            100.0 * s.coverage,
            s.queued,
            s.failed
        )
    };
    outln!("migration: {} (live: {})", m.phase.as_str(), m.live_model);
    outln!("  new model {}", side(&m.new_model));
    if let Some(old) = &m.old_model {
        outln!("  old model {}", side(old));
    }
    if m.usage.tokens > 0 || m.usage.requests > 0 {
        outln!(
            "  new model so far: {} requests, {} tokens, ${:.4}",
            m.usage.requests,
            m.usage.tokens,
            m.usage.cost
        );
    }
    let next = match m.phase {
        Phase::Building => "`vecsync migrate` embeds the rest and switches; `--abort` drops it",
        Phase::Switched => {
            "`vecsync migrate --finish` drops the old vectors; `--rollback` switches back"
        }
        Phase::Finished => "",
    };
    if !next.is_empty() {
        outln!("  next: {next}");
    }
    if let Some(hint) = &m.hint {
        outln!("  note: {hint}");
    }
    Ok(())
}
