//! The `vecsync` command line: parses flags, wires config → store + embedder → pipeline,
//! and renders results. Exit status: 0 ok, 1 runtime failure, 2 setup mistake (a
//! [`ConfigError`], or an embedder's [`EmbedError::Setup`](embed::EmbedError::Setup)).

/// `println!` that does not panic when stdout is closed (`vecsync status | head -5`): the
/// command ends quietly with exit 0, as ripgrep does (see [`stdout_error`]).
macro_rules! outln {
    ($($arg:tt)*) => {
        {
            use std::io::Write as _;
            writeln!(std::io::stdout(), $($arg)*).map_err($crate::cli::stdout_error)?
        }
    };
}

/// `print!` counterpart of [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {
        {
            use std::io::Write as _;
            write!(std::io::stdout(), $($arg)*).map_err($crate::cli::stdout_error)?
        }
    };
}

mod migrate;
mod progress;

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::{redact_url, Config, Overrides, StoreKind};
use crate::embed::{self, Embedder};
use crate::migrate::{Resolved, Vectorizer};
use crate::pipeline::{self, Mode, RunOptions};
use crate::store::{self, Status, Store};

#[derive(Parser, Debug)]
#[command(
    name = "vecsync",
    version,
    about = "Keeps the embeddings of a database table complete and fresh"
)]
struct Cli {
    /// Config file [default: ./vecsync.toml if present]
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// sqlite://PATH or postgres://… (overrides the config and DATABASE_URL)
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Folder with the local model files (overrides VECSYNC_MODEL_DIR)
    #[arg(long, global = true)]
    model_dir: Option<PathBuf>,
    /// More log output (-v info, -vv debug); RUST_LOG also works
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a SQLite table of realistic job postings, embed it, and search it
    Demo {
        /// Rows to generate (2,000 keep a fresh `make demo` within ten minutes on two
        /// cores; the same seed gives the same first rows, so `--rows 5000` extends it)
        #[arg(long, default_value_t = 2000)]
        rows: usize,
        /// SQLite file to create or reuse
        #[arg(long, default_value = "vecsync.db")]
        db: PathBuf,
    },
    /// Install vecsync's bookkeeping (and, on PostgreSQL, triggers) in the database
    Init,
    /// Remove everything `init` installed, and nothing else
    Uninstall,
    /// Embed every row that lacks a current embedding
    Backfill {
        /// Stop after this many rows
        #[arg(long)]
        limit: Option<u64>,
        /// Texts per model call
        #[arg(long)]
        batch_size: Option<usize>,
        /// Batches in flight at once
        #[arg(long)]
        concurrency: Option<usize>,
        /// Count rows and tokens (and cost) without writing anything
        #[arg(long)]
        dry_run: bool,
    },
    /// Keep embedding new and changed rows until interrupted
    Work {
        /// Batches in flight at once
        #[arg(long)]
        concurrency: Option<usize>,
    },
    /// Coverage, queue, failures and drift
    Status {
        #[arg(long)]
        json: bool,
        /// Hash every row's text against its state (finds changes made while the triggers
        /// were off); records when it ran
        #[arg(long)]
        audit: bool,
    },
    /// Semantic search over the embedded rows
    Search {
        query: String,
        #[arg(short, default_value_t = 10)]
        k: usize,
        #[arg(long)]
        json: bool,
    },
    /// Embed the given texts (or stdin lines) and print one JSON array per text
    Embed {
        texts: Vec<String>,
        /// Print one JSON object per text: {"model", "dimensions", "vector"}
        #[arg(long)]
        json: bool,
    },
    /// Report drift between table, state and queue; --fix requeues what needs work
    Reconcile {
        #[arg(long)]
        fix: bool,
        #[arg(long)]
        json: bool,
    },
    /// Put failed rows back in the queue
    RetryFailed,
    /// Check the setup (database, table, privileges, triggers, queue, provider) without
    /// writing anything; exit 1 when something needs fixing
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// Create an HNSW index for search (PostgreSQL)
    Index,
    /// Move the table to the model in [next_embedder] without downtime (docs/migration.md)
    Migrate(migrate::Args),
    /// Serve the status page, /metrics, search, the cron route and /v1/embeddings
    Serve {
        /// HOST:PORT to listen on; a non-loopback address needs CRON_SECRET
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
        /// Also run the background worker (like `vecsync work`) in this process
        #[arg(long)]
        work: bool,
    },
}

/// Runs the CLI and returns the process exit status.
pub fn main() -> i32 {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => 0,
        Err(e) => {
            if let Some(Exit(status)) = e.downcast_ref::<Exit>() {
                return *status;
            }
            eprintln!("error: {}", crate::redact::redact(&one_line(&e)));
            let embedder_setup = e.chain().any(|c| {
                c.downcast_ref::<embed::EmbedError>()
                    .is_some_and(embed::EmbedError::is_setup)
            });
            if embedder_setup || crate::store::error_kind(&e) == crate::store::ErrorKind::Setup {
                2
            } else {
                1
            }
        }
    }
}

/// A failed write to stdout: a reader that went away (broken pipe) is no failure of
/// vecsync's, so it becomes a quiet exit 0; anything else is an error.
fn stdout_error(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Exit(0).into()
    } else {
        anyhow::Error::new(e).context("cannot write to stdout")
    }
}

/// A command that already said everything and only needs the process to exit with this
/// status (`doctor` finding problems).
#[derive(Debug)]
struct Exit(i32);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for Exit {}

/// The error and its causes on one line, without repeating a cause its parent already says.
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if out.contains(&s) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&s);
    }
    out.replace('\n', " ")
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::redact::RedactingStderr)
        .with_target(false)
        .try_init();
}

async fn run(cli: Cli) -> Result<()> {
    let overrides = Overrides {
        database_url: cli.database_url.clone(),
        model_dir: cli.model_dir.clone(),
        batch_size: match &cli.command {
            Command::Backfill { batch_size, .. } => *batch_size,
            _ => None,
        },
    };
    if let Command::Demo { rows, db } = &cli.command {
        return demo(*rows, db, &overrides).await;
    }
    let loaded = Config::load(cli.config.as_deref(), &overrides)?;
    for secret in loaded.secrets() {
        crate::redact::register(&secret);
    }
    match cli.command {
        Command::Migrate(args) => return migrate::run(&loaded, args).await,
        Command::Doctor { json } => {
            // The doctor runs whatever the database says (it reports a failed connection
            // itself): with the live model when the store's record can be read.
            let config = match crate::migrate::resolve(loaded.clone()).await {
                Ok(resolved) => resolved.config,
                Err(_) => loaded,
            };
            let report = crate::doctor::run(&config).await;
            if json {
                outln!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                out!("{}", report.render_text());
            }
            if !report.ok {
                return Err(Exit(report.exit_status()).into());
            }
            return Ok(());
        }
        Command::Uninstall => {
            crate::migrate::uninstall_other(&loaded).await?;
            let store = store::open(&loaded).await?;
            store.uninstall().await?;
            outln!("vecsync's objects were removed");
            return Ok(());
        }
        _ => {}
    }
    // During a model migration the store's record says which config table is live.
    let resolved = crate::migrate::resolve(loaded).await?;
    let config = resolved.config.clone();
    match cli.command {
        Command::Demo { .. }
        | Command::Migrate(_)
        | Command::Uninstall
        | Command::Doctor { .. } => {
            unreachable!("handled above")
        }
        Command::Init => {
            let store = store::open(&config).await?;
            store.init().await?;
            outln!(
                "vecsync is installed in {}",
                redact_url(&config.database_url)
            );
        }
        Command::Backfill {
            limit,
            concurrency,
            dry_run,
            ..
        } => {
            let store = store::open(&config).await?;
            let embedder = embed::from_config(&config)?;
            if dry_run {
                let mut options =
                    RunOptions::new(&config, Mode::Drain, embedder.suggested_concurrency());
                options.limit = limit;
                let report = pipeline::dry_run(store.as_ref(), embedder.as_ref(), &options).await?;
                outln!(
                    "{} rows need work ({} empty), {} unique texts, {} tokens",
                    report.rows,
                    report.empty,
                    report.unique_texts,
                    report.tokens
                );
                if let Some(cost) = report.estimated_cost {
                    outln!("estimated cost: ${cost:.4}");
                }
                return Ok(());
            }
            let cancel = cancel_on_signal();
            let run = Run {
                mode: Mode::Drain,
                limit,
                concurrency,
                cancel: cancel.clone(),
            };
            let summary = process(&config, store, embedder, &run, None).await?;
            print_summary(&summary)?;
            // During a migration the other model's vectors are kept current too.
            if let Some(other) = Vectorizer::other(&resolved).await? {
                if !cancel.is_cancelled() {
                    let label = other.label();
                    let s = process(
                        &other.config,
                        other.store,
                        other.embedder,
                        &run,
                        Some(&label),
                    )
                    .await?;
                    out!("{label}: ");
                    print_summary(&s)?;
                }
            }
        }
        Command::Work { concurrency } => work(resolved, concurrency).await?,
        Command::Status { json, audit } => {
            let store = store::open(&config).await?;
            // Counts for vectors of a size the column cannot hold would be no truth at all:
            // the same setup error as `backfill`.
            if let Some(dimensions) = config.embedder.dimensions {
                store.verify(dimensions).await?;
            }
            let status = if audit {
                store.audit().await?
            } else {
                store.status().await?
            }
            .redacted();
            let migration = crate::migrate::status::status(&resolved, &status).await?;
            if json {
                let mut v = serde_json::to_value(&status)?;
                if let Some(m) = &migration {
                    v["migration"] = serde_json::to_value(m)?;
                }
                outln!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print_status(&status)?;
                if let Some(m) = &migration {
                    migrate::print_status(m)?;
                }
            }
        }
        Command::Search { query, k, json } => {
            let store = store::open(&config).await?;
            let embedder = embed::from_config(&config)?;
            search(store.as_ref(), embedder.as_ref(), &query, k, json).await?;
        }
        Command::Embed { texts, json } => {
            let embedder = embed::from_config(&config)?;
            let texts = if texts.is_empty() {
                std::io::stdin()
                    .lock()
                    .lines()
                    .collect::<std::io::Result<Vec<_>>>()
                    .context("reading stdin")?
            } else {
                texts
            };
            let mut out = std::io::stdout().lock();
            for (text, result) in texts
                .iter()
                .zip(embed_texts(embedder.as_ref(), &texts).await?)
            {
                let vector = match result {
                    Ok(v) => v,
                    Err(reason) => anyhow::bail!("cannot embed {text:?}: {reason}"),
                };
                let line = if json {
                    serde_json::to_string(&EmbeddedText {
                        model: &config.embedder.model,
                        dimensions: vector.len(),
                        vector: &vector,
                    })?
                } else {
                    serde_json::to_string(&vector)?
                };
                writeln!(out, "{line}").map_err(stdout_error)?;
            }
        }
        Command::Reconcile { fix, json } => {
            let store = store::open(&config).await?;
            let status = store.audit().await?;
            let requeued = if fix {
                Some(store.reconcile().await?)
            } else {
                None
            };
            if json {
                let mut v = serde_json::json!({ "drift": status.drift });
                if let Some(n) = requeued {
                    v["requeued"] = n.into();
                }
                outln!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                let d = &status.drift;
                outln!("done without vector:  {}", d.done_without_vector);
                outln!("vector without state: {}", d.vector_without_state);
                outln!("needs work, unqueued: {}", d.unqueued);
                match requeued {
                    Some(n) => outln!("requeued {n} rows"),
                    // A vector without current state is usually queued (stale) already:
                    // requeueing it would only reset a running worker's lease.
                    None if d.done_without_vector + d.unqueued > 0 => {
                        outln!("run `vecsync reconcile --fix` to requeue them")
                    }
                    None => {}
                }
            }
        }
        Command::RetryFailed => {
            let store = store::open(&config).await?;
            let n = store.retry_failed().await?;
            outln!("requeued {n} failed rows");
            if let Some(other) = Vectorizer::other(&resolved).await? {
                let n = other.store.retry_failed().await?;
                outln!("{}: requeued {n} failed rows", other.label());
            }
        }
        Command::Index => match config.store_kind() {
            Some(StoreKind::Postgres(url)) => {
                let store = store::postgres::PostgresStore::connect(
                    &url,
                    &config.schema,
                    &config.source,
                    store::StoreOptions::from_config(&config),
                )
                .await?;
                store.create_hnsw_index().await?;
                outln!("HNSW index ready");
            }
            _ => anyhow::bail!(
                "`vecsync index` builds a pgvector HNSW index; SQLite searches by exact scan"
            ),
        },
        Command::Serve { bind, work } => crate::server::serve(config, &bind, work).await?,
    }
    Ok(())
}

/// A line of `vecsync embed --json`.
#[derive(serde::Serialize)]
struct EmbeddedText<'a> {
    model: &'a str,
    dimensions: usize,
    /// f32s as such, so they print as short as without `--json`.
    vector: &'a [f32],
}

/// A token cancelled by Ctrl-C / SIGTERM.
fn cancel_on_signal() -> CancellationToken {
    let cancel = CancellationToken::new();
    tokio::spawn(crate::signal::cancel_on_signal(
        cancel.clone(),
        "stopping: finishing the batches in flight…",
    ));
    cancel
}

/// How a command runs the pipeline.
#[derive(Clone)]
struct Run {
    mode: Mode,
    limit: Option<u64>,
    concurrency: Option<usize>,
    cancel: CancellationToken,
}

/// Runs the pipeline with a progress display (its lines start with `label`, if any)
/// until done or cancelled.
async fn process(
    config: &Config,
    store: Arc<dyn Store>,
    embedder: Arc<dyn Embedder>,
    run: &Run,
    label: Option<&str>,
) -> Result<pipeline::Summary> {
    let mut options = RunOptions::new(config, run.mode, embedder.suggested_concurrency());
    options.limit = run.limit;
    if let Some(n) = run.concurrency {
        options.concurrency = n;
    }
    let follow = matches!(run.mode, Mode::Follow { .. });
    let progress = Arc::new(progress::Progress::labelled(follow, label));
    let p = progress.clone();
    let cancel = run.cancel.clone();
    let result = pipeline::run(store, embedder, options, cancel, move |e| p.handle(e)).await;
    progress.finish();
    result
}

/// `vecsync work`: embeds new and changed rows until Ctrl-C / SIGTERM. During a model
/// migration it runs both vectorizers, and when a switch (or rollback) happens in another
/// process it starts again with the new roles.
async fn work(mut resolved: Resolved, concurrency: Option<usize>) -> Result<()> {
    let stop = cancel_on_signal();
    let poll = Duration::from_secs(resolved.config.worker.poll_seconds);
    loop {
        let round = stop.child_token();
        let run = Run {
            mode: Mode::Follow { poll },
            limit: None,
            concurrency,
            cancel: round.clone(),
        };
        let live = Vectorizer::live(&resolved).await?;
        let other = Vectorizer::other(&resolved).await?;
        // Either pipeline failing stops the other: the roles may have changed.
        let go = |v: Vectorizer, label: Option<String>| {
            let run = run.clone();
            async move {
                let r = process(&v.config, v.store, v.embedder, &run, label.as_deref()).await;
                if r.is_err() {
                    run.cancel.cancel();
                }
                r.map(|s| (label, s))
            }
        };
        let results = match other {
            Some(o) => {
                let label = Some(o.label());
                let (a, b) = tokio::join!(go(live, None), go(o, label));
                vec![a, b]
            }
            None => vec![go(live, None).await],
        };
        let mut summaries = Vec::new();
        let mut error = None;
        for r in results {
            match r {
                Ok(s) => summaries.push(s),
                Err(e) => {
                    error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = error {
            if stop.is_cancelled() {
                return Err(e);
            }
            let again = crate::migrate::resolve(resolved.loaded.clone()).await?;
            if again.record == resolved.record {
                return Err(e);
            }
            eprintln!(
                "vecsync work: the model migration moved on; continuing with {:?} live",
                again.config.embedder.model_id()
            );
            resolved = again;
            continue;
        }
        for (label, s) in summaries {
            if let Some(l) = label {
                out!("{l}: ");
            }
            print_summary(&s)?;
        }
        return Ok(());
    }
}

async fn embed_texts(
    embedder: &dyn Embedder,
    texts: &[String],
) -> Result<Vec<crate::embed::InputResult>> {
    // Empty texts are never sent to a model.
    let mut results: Vec<crate::embed::InputResult> = (0..texts.len())
        .map(|index| Err(crate::embed::EmbedError::Empty { index }))
        .collect();
    let (idx, nonempty): (Vec<usize>, Vec<String>) = texts
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.trim().is_empty())
        .map(|(i, t)| (i, t.clone()))
        .unzip();
    if !nonempty.is_empty() {
        let out = embedder
            .embed(&nonempty)
            .await
            // Kept as an EmbedError so that `main` exits 2 on a setup mistake (a bad key).
            .map_err(|e| anyhow::Error::new(e).context("embedder"))?;
        for (i, r) in idx.into_iter().zip(out) {
            results[i] = r;
        }
    }
    Ok(results)
}

async fn search(
    store: &dyn Store,
    embedder: &dyn Embedder,
    query: &str,
    k: usize,
    json: bool,
) -> Result<()> {
    if query.trim().is_empty() {
        return Err(crate::config_error!(
            setting = "search",
            "the query is empty"
        ));
    }
    let vector = embed_texts(embedder, &[query.to_string()])
        .await?
        .pop()
        .expect("one result per text")
        .map_err(|reason| anyhow::anyhow!("cannot embed the query: {reason}"))?;
    let hits = store.search(&vector, k).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&hits)?);
        return Ok(());
    }
    if hits.is_empty() {
        outln!("no embedded rows yet: run `vecsync backfill`");
    }
    for hit in hits {
        let fields: Vec<String> = hit
            .fields
            .values()
            .filter_map(|v| match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            })
            .collect();
        outln!("{:.3}  {:>6}  {}", hit.score, hit.id, fields.join(" · "));
    }
    Ok(())
}

fn print_status(s: &Status) -> Result<()> {
    outln!("model:     {}", s.model);
    outln!("total:     {}", s.total);
    outln!(
        "embedded:  {} ({:.2}% coverage)",
        s.embedded,
        100.0 * s.coverage
    );
    outln!("stale:     {}", s.stale);
    outln!("missing:   {}", s.missing);
    outln!("failed:    {}", s.failed);
    outln!(
        "queue:     {} pending, {} leased, {} failed",
        s.queue.pending,
        s.queue.leased,
        s.queue.failed
    );
    if s.throughput_per_minute > 0.0 {
        let eta = s
            .eta_seconds
            .map(|e| format!(", queue empty in ~{:.0}s", e))
            .unwrap_or_default();
        outln!(
            "rate:      {:.1} rows/min over the last 10 minutes {:?}{eta}",
            s.throughput_per_minute,
            s.completions_per_minute
        );
    }
    if s.usage.tokens > 0 {
        outln!(
            "provider:  {} requests, {} tokens, ${:.4} recorded so far",
            s.usage.requests,
            s.usage.tokens,
            s.usage.cost
        );
    }
    if s.audited {
        outln!("audit:     every row's text checked by this status");
    } else {
        let last = s.last_audit.as_deref().unwrap_or("never");
        outln!("audit:     last full audit {last} (`vecsync status --audit` runs one)");
    }
    let d = &s.drift;
    if d.done_without_vector + d.vector_without_state + d.unqueued > 0 {
        outln!(
            "drift:     {} done without vector, {} vector without current state, {} need work but unqueued (see `vecsync reconcile`)",
            d.done_without_vector, d.vector_without_state, d.unqueued
        );
    }
    for t in &d.triggers {
        outln!("triggers:  {t}");
    }
    for f in &s.failures {
        outln!(
            "  failed row {}: {} (attempts: {})",
            f.id,
            f.reason,
            f.attempts
        );
    }
    Ok(())
}

fn print_summary(s: &pipeline::Summary) -> Result<()> {
    outln!(
        "embedded {} rows in {:.1}s ({:.1} rows/s); {} failed, {} to retry, {} skipped (text changed, row deleted, or the write did not take: claimed again)",
        s.written, s.seconds, s.rows_per_second, s.failed, s.retrying, s.skipped
    );
    if s.deduplicated > 0 {
        outln!(
            "{} rows reused the vector of an identical text: {} tokens not sent",
            s.deduplicated,
            s.tokens_saved
        );
    }
    if s.usage.requests > 0 || s.usage.tokens > 0 {
        let cost = s
            .usage
            .cost
            .map(|c| format!(", ${c:.4}"))
            .unwrap_or_default();
        outln!(
            "provider: {} requests, {} tokens{cost}, {} rate-limited, {} inputs truncated",
            s.usage.requests,
            s.usage.tokens,
            s.usage.rate_limited,
            s.usage.truncated_inputs
        );
    }
    Ok(())
}

/// `vecsync demo`: a job board in a SQLite file, embedded and searched.
///
/// The example searches run first when a tenth of the postings is embedded (well under a
/// minute on two cores), so a new user sees results early, then again over every posting.
/// Ctrl-C stops the embedding (a rerun resumes it) and still shows the searches.
async fn demo(rows: usize, db: &std::path::Path, overrides: &Overrides) -> Result<()> {
    {
        let conn = rusqlite::Connection::open(db)
            .with_context(|| format!("cannot create {}", db.display()))?;
        let added = crate::demo::populate_sqlite(&conn, rows, crate::demo::DEFAULT_SEED)?;
        outln!(
            "{}: table jobs with {rows} job postings ({added} new)",
            db.display()
        );
    }
    // The demo uses the built-in defaults (which describe its table), not ./vecsync.toml.
    let mut config = Config {
        database_url: format!("sqlite://{}", db.display()),
        ..Config::default()
    };
    config.apply_model_dir(overrides);
    config.validate()?;
    let store = store::open(&config).await?;
    let embedder = embed::from_config(&config)?;
    // One token for both runs: after Ctrl-C in the first, the second must not start.
    let cancel = cancel_on_signal();
    let run = |limit| {
        let run = Run {
            mode: Mode::Drain,
            limit,
            concurrency: None,
            cancel: cancel.clone(),
        };
        let (store, embedder) = (store.clone(), embedder.clone());
        let config = &config;
        async move { process(config, store, embedder, &run, None).await }
    };

    let first_look = rows as u64 / 10;
    store.prepare(embedder.dimensions()).await?;
    let embedded = store.status().await?.embedded;
    if embedded < first_look {
        outln!("\nEmbedding the first tenth of the postings, then searching them…");
        run(Some(first_look - embedded)).await?;
        if !cancel.is_cancelled() {
            let so_far = store.status().await?.embedded;
            demo_searches(
                store.as_ref(),
                embedder.as_ref(),
                &format!("{so_far} of {rows} postings embedded so far"),
            )
            .await?;
            outln!("\nEmbedding the rest (Ctrl-C stops; `vecsync demo` again resumes)…");
        }
    }
    if !cancel.is_cancelled() {
        print_summary(&run(None).await?)?;
    }
    outln!();
    let status = store.status().await?.redacted();
    print_status(&status)?;
    demo_searches(
        store.as_ref(),
        embedder.as_ref(),
        &format!("{} of {rows} postings embedded", status.embedded),
    )
    .await?;
    outln!(
        "\nTry your own: vecsync --database-url sqlite://{} search \"remote accounting job\"",
        db.display()
    );
    Ok(())
}

/// The demo's example searches (the top 3 of each), under a heading saying what they
/// search (`over`).
async fn demo_searches(store: &dyn Store, embedder: &dyn Embedder, over: &str) -> Result<()> {
    for (query, _) in crate::demo::EXAMPLE_QUERIES {
        outln!("\nvecsync search {query:?} -k 3    ({over})");
        search(store, embedder, query, 3, false).await?;
    }
    Ok(())
}
