//! The pipeline: claim → embed → guarded write, with several batches in flight.
//!
//! It drives any [`Store`] with any [`Embedder`] and knows neither terminals nor HTTP: it
//! reports [`Event`]s that the CLI renders as a progress bar and the server as metrics.
//!
//! Failure handling, from the smallest blast radius up:
//! - an input the embedder rejects (or empty text) fails alone, permanently, with a reason;
//! - a transient embedder error counts one attempt for each row of the batch; rows retry
//!   with backoff until `max_attempts`, then show as failed;
//! - a store error that says the database is unavailable (restarting, unreachable, out of
//!   connections, a deadlock) is retried with backoff; the rows' leases cover the gap and
//!   expire if this process dies. Any other store error (a missing privilege or object, a
//!   failed statement) stops the run at once with the database's own message;
//! - a fatal embedder error (bad key, unknown model, vectors of another size than
//!   `embedder.dimensions`) releases the batch and stops the run without marking any row.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::embed::{EmbedError, Embedder, Usage};
use crate::store::{
    error_kind, ClaimedRow, Completion, ErrorKind, Failure, FailureKind, Store, UsageTotals,
    WriteOutcome,
};
use crate::template::{text_hash, Template};

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Stop after claiming this many rows.
    pub limit: Option<u64>,
    /// Rows per claim.
    pub claim_size: usize,
    /// Batches in flight at once.
    pub concurrency: usize,
    pub lease: Duration,
    pub mode: Mode,
    /// What a row renders to when every template column is empty: such a row has no
    /// text to embed ("empty text"), whatever literals the template adds.
    pub blank_text: String,
}

impl RunOptions {
    /// Options from the config; `concurrency` defaults to the larger of the configured
    /// value and what the embedder suggests.
    pub fn new(config: &Config, mode: Mode, suggested_concurrency: usize) -> RunOptions {
        let blank_text = Template::parse(&config.source.template)
            .map(|t| t.render(|_| None))
            .unwrap_or_default();
        RunOptions {
            limit: None,
            claim_size: config.claim_size(),
            concurrency: config.worker.concurrency.max(suggested_concurrency),
            lease: Duration::from_secs(config.worker.lease_seconds),
            mode,
            blank_text,
        }
    }

    /// True when `text` holds nothing but the template's own literals and whitespace.
    fn is_blank(&self, text: &str) -> bool {
        let strip = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        text.trim().is_empty() || strip(text) == strip(&self.blank_text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Process what is queued and return (backfill).
    Drain,
    /// Keep waiting for new work until cancelled (`vecsync work`).
    Follow { poll: Duration },
}

/// What the pipeline tells its renderer.
#[derive(Debug, Clone)]
pub enum Event {
    /// Work found at the start: rows queued now, and rows already embedded.
    Started { queued: u64, embedded: u64 },
    /// A batch of `rows` was claimed. Their sum can pass `Started::queued`: rows queued
    /// while the run goes on (by triggers, or a retry) are claimed too.
    Claimed { rows: u64 },
    /// One batch went through.
    Batch(BatchReport),
    /// A store call failed and will be retried.
    StoreRetry { error: String, wait: Duration },
}

#[derive(Debug, Clone, Default)]
pub struct BatchReport {
    pub outcome: WriteOutcome,
    /// Rows whose vector came from an identical text embedded earlier in this run.
    pub deduplicated: u64,
    /// Tokens those rows would have cost.
    pub tokens_saved: u64,
    pub embed_time: Duration,
    pub write_time: Duration,
}

/// Totals of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub written: u64,
    pub skipped: u64,
    pub failed: u64,
    pub retrying: u64,
    /// Rows that reused the vector of an identical text instead of calling the embedder.
    pub deduplicated: u64,
    /// Tokens not sent thanks to that.
    pub tokens_saved: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
    pub usage: Usage,
}

/// Identical texts (job boards repeat descriptions) are embedded once per run. Bounded so
/// a long-running worker does not grow without limit.
struct DedupCache {
    map: HashMap<String, Arc<Vec<f32>>>,
    capacity: usize,
}

impl DedupCache {
    fn new(dimensions: usize) -> DedupCache {
        // ~64 MB of vectors at most.
        let capacity = (64 << 20) / (dimensions.max(1) * 4);
        DedupCache {
            map: HashMap::new(),
            capacity,
        }
    }

    fn get(&self, hash: &str) -> Option<Arc<Vec<f32>>> {
        self.map.get(hash).cloned()
    }

    fn insert(&mut self, hash: String, v: Arc<Vec<f32>>) {
        if self.map.len() >= self.capacity {
            self.map.clear();
        }
        self.map.insert(hash, v);
    }
}

struct Shared {
    store: Arc<dyn Store>,
    embedder: Arc<dyn Embedder>,
    options: RunOptions,
    cancel: CancellationToken,
    claimed: AtomicU64,
    totals: Mutex<Summary>,
    cache: Mutex<DedupCache>,
    /// Embedder usage already added to the store's totals.
    recorded_usage: Mutex<Usage>,
    on_event: Box<dyn Fn(Event) + Send + Sync>,
}

/// Runs the pipeline until the queue is drained ([`Mode::Drain`]) or `cancel` fires.
/// Cancellation stops claiming; batches in flight are finished and written.
pub async fn run(
    store: Arc<dyn Store>,
    embedder: Arc<dyn Embedder>,
    options: RunOptions,
    cancel: CancellationToken,
    on_event: impl Fn(Event) + Send + Sync + 'static,
) -> Result<Summary> {
    let started = Instant::now();
    store.prepare(embedder.dimensions()).await?;
    retry_store(&cancel, &on_event, || store.enqueue_needed()).await?;
    let status = retry_store(&cancel, &on_event, || store.status()).await?;
    on_event(Event::Started {
        queued: status.queue.pending + status.queue.leased,
        embedded: status.embedded,
    });

    let shared = Arc::new(Shared {
        cache: Mutex::new(DedupCache::new(embedder.dimensions())),
        store,
        embedder,
        options: options.clone(),
        cancel,
        claimed: AtomicU64::new(0),
        totals: Mutex::new(Summary::default()),
        recorded_usage: Mutex::new(Usage::default()),
        on_event: Box::new(on_event),
    });
    let workers: Vec<_> = (0..options.concurrency.max(1))
        .map(|_| tokio::spawn(worker(shared.clone())))
        .collect();
    let mut first_error = None;
    for w in workers {
        match w.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                // One worker hit a fatal error: stop the others too.
                shared.cancel.cancel();
                first_error.get_or_insert(e);
            }
            Err(join) => {
                shared.cancel.cancel();
                first_error.get_or_insert(anyhow::anyhow!("worker task failed: {join}"));
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let mut summary = shared.totals.lock().unwrap().clone();
    summary.seconds = started.elapsed().as_secs_f64();
    summary.rows_per_second = summary.written as f64 / summary.seconds.max(1e-9);
    summary.usage = shared.embedder.usage();
    Ok(summary)
}

async fn worker(shared: Arc<Shared>) -> Result<()> {
    let opts = &shared.options;
    loop {
        if shared.cancel.is_cancelled() {
            return Ok(());
        }
        // Reserve rows before claiming so that concurrent workers never claim more than
        // `limit` between them; what a claim does not use is given back.
        let want = match opts.limit {
            Some(limit) => {
                let reserve =
                    shared
                        .claimed
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |taken| {
                            (taken < limit)
                                .then(|| taken + (limit - taken).min(opts.claim_size as u64))
                        });
                match reserve {
                    Ok(taken) => (limit - taken).min(opts.claim_size as u64) as usize,
                    Err(_) => return Ok(()),
                }
            }
            None => opts.claim_size,
        };
        let claimed = retry_store(&shared.cancel, &shared.on_event, || {
            shared.store.claim(want, opts.lease)
        })
        .await;
        let unused = want - claimed.as_ref().map_or(0, |rows| rows.len());
        if opts.limit.is_some() && unused > 0 {
            shared.claimed.fetch_sub(unused as u64, Ordering::SeqCst);
        }
        let rows = claimed?;
        if !rows.is_empty() {
            (shared.on_event)(Event::Claimed {
                rows: rows.len() as u64,
            });
        }
        if rows.is_empty() {
            match opts.mode {
                Mode::Drain => return Ok(()),
                Mode::Follow { poll } => {
                    tokio::select! {
                        _ = shared.cancel.cancelled() => return Ok(()),
                        r = shared.store.wait_for_work(poll) => {
                            if let Err(e) = r {
                                tracing::warn!("waiting for work: {e:#}");
                                tokio::time::sleep(poll).await;
                            }
                        }
                    }
                    continue;
                }
            }
        }
        process(&shared, rows).await?;
    }
}

/// Embeds one claimed batch and writes it.
async fn process(shared: &Shared, rows: Vec<ClaimedRow>) -> Result<()> {
    let dims = shared.embedder.dimensions();
    let mut done: Vec<Completion> = Vec::with_capacity(rows.len());
    let mut failed: Vec<Failure> = Vec::new();
    // Unique texts to embed, and the rows waiting for each.
    let mut to_embed: Vec<String> = Vec::new();
    let mut waiting: HashMap<String, Vec<(String, usize)>> = HashMap::new();
    let mut deduplicated = 0u64;
    let mut tokens_saved = 0u64;
    {
        let cache = shared.cache.lock().unwrap();
        for row in &rows {
            if shared.options.is_blank(&row.text) {
                failed.push(Failure {
                    id: row.id.clone(),
                    reason: "empty text".into(),
                    kind: FailureKind::Empty,
                });
                continue;
            }
            let hash = text_hash(&row.text);
            if let Some(v) = cache.get(&hash) {
                deduplicated += 1;
                tokens_saved += shared.embedder.count_tokens(&row.text) as u64;
                done.push(Completion {
                    id: row.id.clone(),
                    text_hash: hash,
                    vector: v,
                });
                continue;
            }
            let entry = waiting.entry(hash.clone()).or_default();
            if entry.is_empty() {
                to_embed.push(row.text.clone());
            } else {
                deduplicated += 1;
                tokens_saved += shared.embedder.count_tokens(&row.text) as u64;
            }
            entry.push((row.id.clone(), to_embed.len() - 1));
        }
    }

    let embed_started = Instant::now();
    if !to_embed.is_empty() {
        let results = match shared.embedder.embed(&to_embed).await {
            Ok(results) if results.len() == to_embed.len() => Ok(results),
            Ok(results) => Err(EmbedError::Malformed(format!(
                "embedder returned {} results for {} inputs",
                results.len(),
                to_embed.len()
            ))),
            Err(e) => Err(e),
        };
        // A setup error stops the run, whether the call or one input reports it. So does a
        // vector of the wrong size: an embedder (or a server that ignores `dimensions`)
        // answers every batch the same way, and no vector of it could ever be written.
        let setup = match &results {
            Err(e) if e.is_setup() => Some(e.clone()),
            Ok(r) => r.iter().find_map(|r| match r {
                Ok(v) if v.len() != dims => Some(EmbedError::Dimensions {
                    expected: dims,
                    got: v.len(),
                }),
                Err(e) if e.is_setup() => Some(e.clone()),
                _ => None,
            }),
            Err(_) => None,
        };
        if let Some(e) = setup {
            let error = match e {
                EmbedError::Dimensions { expected, got } => wrong_dimensions(expected, got),
                // A message that names its setting already says where to look.
                e if e.to_string().starts_with("embedder.") => crate::config_error!("{e}"),
                e => crate::config_error!(setting = "embedder", "{e}"),
            };
            return Err(stop(shared, rows, error).await);
        }
        match results {
            Ok(results) => {
                let mut cache = shared.cache.lock().unwrap();
                for (hash, waiters) in waiting {
                    let outcome = match &results[waiters[0].1] {
                        Ok(v) if v.len() != dims => Err(EmbedError::Dimensions {
                            expected: dims,
                            got: v.len(),
                        }),
                        Ok(v) if !v.iter().all(|x| x.is_finite()) => Err(EmbedError::Malformed(
                            "embedder returned a non-finite value".into(),
                        )),
                        Ok(v) => Ok(Arc::new(v.clone())),
                        Err(e) => Err(e.clone()),
                    };
                    match outcome {
                        Ok(v) => {
                            cache.insert(hash.clone(), v.clone());
                            for (id, _) in waiters {
                                done.push(Completion {
                                    id,
                                    text_hash: hash.clone(),
                                    vector: v.clone(),
                                });
                            }
                        }
                        Err(e) => {
                            for (id, _) in waiters {
                                failed.push(failure(id, &e));
                            }
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!("batch of {} rows will be retried: {e}", rows.len());
                for (id, _) in waiting.into_values().flatten() {
                    failed.push(failure(id, &e));
                }
            }
        }
    }
    let embed_time = embed_started.elapsed();

    let write_started = Instant::now();
    // Not tied to `cancel`: a stop request still writes the batch it already embedded.
    let written = retry_store(&CancellationToken::new(), &shared.on_event, || {
        shared.store.complete(&done, &failed)
    })
    .await;
    let written = match written {
        Err(e) if error_kind(&e) == ErrorKind::RowRejected && !done.is_empty() => {
            write_isolating(shared.store.as_ref(), &done, failed.clone(), e).await
        }
        other => other,
    };
    let outcome = match written {
        Ok(outcome) => outcome,
        Err(e) => {
            // Nothing was written (one transaction): give the rows back without counting
            // the attempt, so that status shows no lease that no worker holds.
            let ids: Vec<String> = (done.iter().map(|d| d.id.clone()))
                .chain(failed.iter().map(|f| f.id.clone()))
                .collect();
            if let Err(e) = shared.store.release(&ids).await {
                tracing::warn!("could not release {} rows: {e:#}", ids.len());
            }
            return Err(e.context("writing a batch"));
        }
    };
    let report = BatchReport {
        outcome,
        deduplicated,
        tokens_saved,
        embed_time,
        write_time: write_started.elapsed(),
    };
    {
        let mut t = shared.totals.lock().unwrap();
        t.written += report.outcome.written;
        t.skipped += report.outcome.skipped;
        t.failed += report.outcome.failed;
        t.retrying += report.outcome.retrying;
        t.deduplicated += report.deduplicated;
        t.tokens_saved += report.tokens_saved;
    }
    (shared.on_event)(Event::Batch(report));
    record_usage(shared).await;
    Ok(())
}

/// Stops the run on a setup error found while embedding a batch: the batch's rows are
/// released without counting an attempt (they did nothing wrong), and the other workers
/// stop claiming. Returns `error`.
async fn stop(shared: &Shared, rows: Vec<ClaimedRow>, error: anyhow::Error) -> anyhow::Error {
    let ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
    if let Err(e) = shared.store.release(&ids).await {
        tracing::warn!("could not release {} rows: {e:#}", ids.len());
    }
    shared.cancel.cancel();
    // The requests were made (and perhaps paid for): count them.
    record_usage(shared).await;
    error
}

/// The embedder made vectors of `got` dimensions where `expected` were configured.
fn wrong_dimensions(expected: usize, got: usize) -> anyhow::Error {
    crate::config_error!(
        setting = "embedder.dimensions",
        "the embedder returned {got}-dimension vectors but {expected} were configured (the provider or model ignores `dimensions`); set embedder.dimensions = {got} with a vector({got}) column, or use a model that supports `dimensions`"
    )
}

/// Adds what the embedder used since the last call to the store's usage totals, so that
/// `status` can report tokens and cost across runs. Losing a record is not worth failing
/// a batch over: it is logged.
async fn record_usage(shared: &Shared) {
    let now = shared.embedder.usage();
    let delta = {
        let mut last = shared.recorded_usage.lock().unwrap();
        let delta = UsageTotals {
            requests: now.requests.saturating_sub(last.requests),
            tokens: now.tokens.saturating_sub(last.tokens),
            cost: (now.cost.unwrap_or(0.0) - last.cost.unwrap_or(0.0)).max(0.0),
        };
        if delta.requests == 0 && delta.tokens == 0 {
            return;
        }
        *last = now;
        delta
    };
    let model = shared.embedder.model_id();
    if let Err(e) = shared.store.record_usage(model, &delta).await {
        tracing::warn!("could not record provider usage: {e:#}");
    }
}

/// How a row that hit `e` is recorded: an empty or refused input fails alone and for
/// good; anything else about the call or its answer is worth another attempt.
fn failure(id: String, e: &EmbedError) -> Failure {
    let kind = match e {
        EmbedError::Empty { .. } => FailureKind::Empty,
        EmbedError::Rejected { .. } => FailureKind::Rejected,
        _ => FailureKind::Transient,
    };
    Failure {
        id,
        reason: crate::redact::redact(&e.to_string()),
        kind,
    }
}

/// How long store errors are retried before the run gives up.
const STORE_RETRY_BUDGET: Duration = Duration::from_secs(180);

/// The database refused the batch's write because of some row's values (a CHECK or NOT
/// NULL constraint, the application's own trigger raising: [`ErrorKind::RowRejected`]).
/// The batch is split in halves until each refused row is alone; every other vector is
/// written, and each refused row fails on its own (permanently, until its text changes or
/// `retry-failed`) with the database's reason. When every row is refused, the cause is not
/// a row's: `refused` is returned and nothing was written.
async fn write_isolating(
    store: &dyn Store,
    done: &[Completion],
    mut failed: Vec<Failure>,
    refused: anyhow::Error,
) -> Result<WriteOutcome> {
    let mut outcome = WriteOutcome::default();
    let mut rejected = Vec::new();
    let mut parts = vec![done];
    while let Some(part) = parts.pop() {
        match store.complete(part, &[]).await {
            Ok(o) => outcome += o,
            Err(e) if error_kind(&e) == ErrorKind::RowRejected => match part {
                [row] => rejected.push(Failure {
                    id: row.id.clone(),
                    reason: format!("the database refused its vector: {e:#}"),
                    kind: FailureKind::Rejected,
                }),
                _ => {
                    let (a, b) = part.split_at(part.len() / 2);
                    parts.extend([b, a]);
                }
            },
            Err(e) => return Err(e),
        }
    }
    if rejected.len() == done.len() {
        return Err(refused);
    }
    tracing::warn!(
        "the database refused the vectors of {} row(s); the rest of the batch is written",
        rejected.len()
    );
    failed.extend(rejected);
    outcome += store.complete(&[], &failed).await?;
    Ok(outcome)
}

/// Retries a store call with exponential backoff while the database is unavailable
/// (restarting, unreachable, out of connections; [`ErrorKind::Unavailable`]). Anything else
/// (a setup problem, a failed statement) is returned at once. Gives up after
/// [`STORE_RETRY_BUDGET`] or when `cancel` fires while waiting.
async fn retry_store<T, F, Fut>(
    cancel: &CancellationToken,
    on_event: &(dyn Fn(Event) + Send + Sync),
    mut call: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let started = Instant::now();
    let mut wait = Duration::from_millis(200);
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if error_kind(&e) != ErrorKind::Unavailable => return Err(e),
            Err(e) if started.elapsed() + wait > STORE_RETRY_BUDGET => {
                return Err(e.context("the database stayed unavailable"))
            }
            Err(e) => {
                let error = format!("{e:#}");
                tracing::warn!("database call failed, retrying in {wait:?}: {error}");
                on_event(Event::StoreRetry { error, wait });
                tokio::select! {
                    _ = cancel.cancelled() => return Err(e),
                    _ = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Rows, tokens and (when the embedder knows a price) cost of what a backfill would embed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DryRun {
    pub rows: u64,
    pub empty: u64,
    pub tokens: u64,
    pub unique_texts: u64,
    pub estimated_cost: Option<f64>,
}

/// Counts what a backfill would do, writing nothing.
pub async fn dry_run(
    store: &dyn Store,
    embedder: &dyn Embedder,
    options: &RunOptions,
) -> Result<DryRun> {
    // `verify`, not `prepare`: a dry run installs nothing.
    store.verify(embedder.dimensions()).await?;
    estimate(store, embedder, options).await
}

/// Counts the rows [`Store::peek_needed`] returns, their unique texts, tokens and cost
/// with `embedder`, without preparing the store (a model migration's dry run estimates
/// the next model over the live store).
pub async fn estimate(
    store: &dyn Store,
    embedder: &dyn Embedder,
    options: &RunOptions,
) -> Result<DryRun> {
    let limit = options.limit;
    let mut report = DryRun::default();
    let mut seen = std::collections::HashSet::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.peek_needed(after.as_ref(), 1000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        for row in page {
            if limit.is_some_and(|l| report.rows >= l) {
                break;
            }
            report.rows += 1;
            if options.is_blank(&row.text) {
                report.empty += 1;
            } else if seen.insert(text_hash(&row.text)) {
                report.unique_texts += 1;
                report.tokens += embedder.count_tokens(&row.text) as u64;
            }
        }
        if limit.is_some_and(|l| report.rows >= l) {
            break;
        }
    }
    report.estimated_cost = embedder
        .price_per_million_tokens()
        .map(|p| p * report.tokens as f64 / 1e6);
    Ok(report)
}
