//! `GET /metrics`: Prometheus text rendered by `metrics-exporter-prometheus`.
//!
//! Each server has its own recorder (never the process-global one), so several servers in
//! one process (tests) keep separate numbers. Handles are registered once, up front, so
//! every series shows from the first scrape, with zeros.
//!
//! Sources:
//! - the pipeline's [`Event`]s (rows embedded, batch and embed latency);
//! - [`MeteredStore`], which sees every failure the pipeline hands to the store and
//!   labels it `empty`, `permanent` or `transient`;
//! - the server's shared status (at most 2 s old) and `embedder.usage()`, read on each
//!   scrape (gauges, and counters set to the embedder's own running totals);
//!   `vecsync_status_queries_total` counts the status queries the database answered.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use async_trait::async_trait;
use metrics::{Counter, Gauge, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::embed::Usage;
use crate::pipeline::Event;
use crate::store::{
    ClaimedRow, Completion, Failure, FailureKind, RowId, SearchHit, Status, Store, WriteOutcome,
};

/// Latency buckets (seconds) for every histogram: a write of a few rows to a fast model
/// call of many.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The series of one server.
pub struct Metrics {
    /// The registry's reader; the handles below write to the same registry.
    handle: PrometheusHandle,

    rows_embedded: Counter,
    rows_skipped: Counter,
    rows_deduplicated: Counter,
    failed_empty: Counter,
    failed_permanent: Counter,
    failed_transient: Counter,
    batches: Counter,
    batch_seconds: Histogram,
    embed_seconds: Histogram,
    write_seconds: Histogram,
    store_retries: Counter,

    queue_pending: Gauge,
    queue_leased: Gauge,
    queue_failed: Gauge,
    coverage: Gauge,
    table_rows: Gauge,
    embedded_rows: Gauge,
    stale_rows: Gauge,
    missing_rows: Gauge,
    failed_rows: Gauge,
    drift_done_without_vector: Gauge,
    drift_vector_without_state: Gauge,
    drift_unqueued: Gauge,
    database_up: Gauge,
    status_errors: Counter,
    status_queries: Counter,

    tokens: Counter,
    provider_requests: Counter,
    rate_limited: Counter,
    truncated_inputs: Counter,

    pub cron_runs: Counter,
    pub unauthorized: Counter,
    pub api_embedding_requests: Counter,
    pub api_embedding_inputs: Counter,
    pub api_search_seconds: Histogram,
    pub worker_running: Gauge,
    pub worker_restarts: Counter,
}

impl Metrics {
    pub fn new(provider: &str, model: &str, dimensions: usize) -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .expect("static, non-empty buckets")
            .build_recorder();
        let handle = recorder.handle();
        let (provider, model, dims) = (provider.to_string(), model.to_string(), dimensions);
        metrics::with_local_recorder(&recorder, move || {
            use metrics::{
                counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
            };
            describe_counter!(
                "vecsync_rows_embedded_total",
                "Rows whose vector was written by this process"
            );
            describe_counter!(
                "vecsync_rows_failed_total",
                "Rows that failed an attempt, by reason: empty (no text), permanent (the embedder rejects the input), transient (retried)"
            );
            describe_counter!(
                "vecsync_rows_skipped_total",
                "Vectors not written because the row changed or vanished after it was claimed"
            );
            describe_counter!(
                "vecsync_rows_deduplicated_total",
                "Rows that reused the vector of an identical text"
            );
            describe_counter!("vecsync_batches_total", "Batches written");
            describe_histogram!(
                "vecsync_batch_duration_seconds",
                metrics::Unit::Seconds,
                "Embed plus write time of one batch"
            );
            describe_histogram!(
                "vecsync_embed_duration_seconds",
                metrics::Unit::Seconds,
                "Embedder time of one batch"
            );
            describe_histogram!(
                "vecsync_write_duration_seconds",
                metrics::Unit::Seconds,
                "Database write time of one batch"
            );
            describe_counter!(
                "vecsync_store_retries_total",
                "Database calls that failed and were retried"
            );
            describe_gauge!("vecsync_queue_rows", "Queue depth by state");
            describe_gauge!("vecsync_coverage_ratio", "Embedded rows / rows");
            describe_gauge!("vecsync_table_rows", "Rows passing the filter");
            describe_gauge!(
                "vecsync_embedded_rows",
                "Rows with a vector for their current text and model"
            );
            describe_gauge!(
                "vecsync_stale_rows",
                "Rows with a vector for older text or another model"
            );
            describe_gauge!("vecsync_missing_rows", "Rows without a vector");
            describe_gauge!("vecsync_failed_rows", "Rows in the failed state");
            describe_gauge!(
                "vecsync_drift_rows",
                "Disagreements between table, state and queue"
            );
            describe_gauge!(
                "vecsync_database_up",
                "1 if the last status query succeeded"
            );
            describe_counter!(
                "vecsync_status_errors_total",
                "Status queries that failed during a scrape"
            );
            describe_counter!(
                "vecsync_embedder_tokens_total",
                "Tokens sent to the embedder"
            );
            describe_counter!(
                "vecsync_embedder_requests_total",
                "Model calls / provider requests"
            );
            describe_counter!(
                "vecsync_embedder_rate_limited_total",
                "Provider requests answered 429"
            );
            describe_counter!(
                "vecsync_embedder_truncated_inputs_total",
                "Inputs cut to the model's limit"
            );
            describe_gauge!(
                "vecsync_embedder_info",
                "The configured embedder (value always 1)"
            );
            describe_counter!(
                "vecsync_status_queries_total",
                "Status queries sent to the database (the routes share one, refreshed at most every 2 s)"
            );
            describe_counter!(
                "vecsync_cron_runs_total",
                "POST /api/process-embedding-queue runs"
            );
            describe_counter!(
                "vecsync_unauthorized_requests_total",
                "Requests refused for missing or wrong credentials (bearer token, session, login)"
            );
            describe_counter!(
                "vecsync_api_embedding_requests_total",
                "POST /v1/embeddings requests answered with vectors"
            );
            describe_counter!(
                "vecsync_api_embedding_inputs_total",
                "Inputs embedded for POST /v1/embeddings"
            );
            describe_histogram!(
                "vecsync_search_duration_seconds",
                metrics::Unit::Seconds,
                "GET /api/search latency (embed the query + search)"
            );
            describe_gauge!(
                "vecsync_worker_running",
                "1 while the background worker (serve --work) runs"
            );
            describe_counter!(
                "vecsync_worker_restarts_total",
                "Background worker restarts after an error"
            );

            gauge!("vecsync_embedder_info", "provider" => provider, "model" => model,
                   "dimensions" => dims.to_string())
            .set(1.0);
            Metrics {
                rows_embedded: counter!("vecsync_rows_embedded_total"),
                rows_skipped: counter!("vecsync_rows_skipped_total"),
                rows_deduplicated: counter!("vecsync_rows_deduplicated_total"),
                failed_empty: counter!("vecsync_rows_failed_total", "reason" => "empty"),
                failed_permanent: counter!("vecsync_rows_failed_total", "reason" => "permanent"),
                failed_transient: counter!("vecsync_rows_failed_total", "reason" => "transient"),
                batches: counter!("vecsync_batches_total"),
                batch_seconds: histogram!("vecsync_batch_duration_seconds"),
                embed_seconds: histogram!("vecsync_embed_duration_seconds"),
                write_seconds: histogram!("vecsync_write_duration_seconds"),
                store_retries: counter!("vecsync_store_retries_total"),
                queue_pending: gauge!("vecsync_queue_rows", "state" => "pending"),
                queue_leased: gauge!("vecsync_queue_rows", "state" => "leased"),
                queue_failed: gauge!("vecsync_queue_rows", "state" => "failed"),
                coverage: gauge!("vecsync_coverage_ratio"),
                table_rows: gauge!("vecsync_table_rows"),
                embedded_rows: gauge!("vecsync_embedded_rows"),
                stale_rows: gauge!("vecsync_stale_rows"),
                missing_rows: gauge!("vecsync_missing_rows"),
                failed_rows: gauge!("vecsync_failed_rows"),
                drift_done_without_vector: gauge!("vecsync_drift_rows", "kind" => "done_without_vector"),
                drift_vector_without_state: gauge!("vecsync_drift_rows", "kind" => "vector_without_state"),
                drift_unqueued: gauge!("vecsync_drift_rows", "kind" => "unqueued"),
                database_up: gauge!("vecsync_database_up"),
                status_errors: counter!("vecsync_status_errors_total"),
                status_queries: counter!("vecsync_status_queries_total"),
                tokens: counter!("vecsync_embedder_tokens_total"),
                provider_requests: counter!("vecsync_embedder_requests_total"),
                rate_limited: counter!("vecsync_embedder_rate_limited_total"),
                truncated_inputs: counter!("vecsync_embedder_truncated_inputs_total"),
                cron_runs: counter!("vecsync_cron_runs_total"),
                unauthorized: counter!("vecsync_unauthorized_requests_total"),
                api_embedding_requests: counter!("vecsync_api_embedding_requests_total"),
                api_embedding_inputs: counter!("vecsync_api_embedding_inputs_total"),
                api_search_seconds: histogram!("vecsync_search_duration_seconds"),
                worker_running: gauge!("vecsync_worker_running"),
                worker_restarts: counter!("vecsync_worker_restarts_total"),
                handle,
            }
        })
    }

    /// What a pipeline run reports.
    pub fn record_event(&self, event: &Event) {
        match event {
            Event::Started { .. } | Event::Claimed { .. } => {}
            Event::Batch(report) => {
                self.batches.increment(1);
                self.rows_embedded.increment(report.outcome.written);
                self.rows_skipped.increment(report.outcome.skipped);
                self.rows_deduplicated.increment(report.deduplicated);
                self.embed_seconds.record(report.embed_time.as_secs_f64());
                self.write_seconds.record(report.write_time.as_secs_f64());
                self.batch_seconds
                    .record((report.embed_time + report.write_time).as_secs_f64());
            }
            Event::StoreRetry { .. } => self.store_retries.increment(1),
        }
    }

    fn record_failures(&self, failed: &[Failure]) {
        for f in failed {
            failure_counter(self, f).increment(1);
        }
    }

    pub fn record_status(&self, status: Option<&Status>) {
        let Some(s) = status else {
            self.database_up.set(0.0);
            self.status_errors.increment(1);
            return;
        };
        self.database_up.set(1.0);
        self.queue_pending.set(s.queue.pending as f64);
        self.queue_leased.set(s.queue.leased as f64);
        self.queue_failed.set(s.queue.failed as f64);
        self.coverage.set(s.coverage);
        self.table_rows.set(s.total as f64);
        self.embedded_rows.set(s.embedded as f64);
        self.stale_rows.set(s.stale as f64);
        self.missing_rows.set(s.missing as f64);
        self.failed_rows.set(s.failed as f64);
        self.drift_done_without_vector
            .set(s.drift.done_without_vector as f64);
        self.drift_vector_without_state
            .set(s.drift.vector_without_state as f64);
        self.drift_unqueued.set(s.drift.unqueued as f64);
    }

    /// The embedder's running totals (they only grow, so they are counters).
    pub fn record_usage(&self, usage: &Usage) {
        self.tokens.absolute(usage.tokens);
        self.provider_requests.absolute(usage.requests);
        self.rate_limited.absolute(usage.rate_limited);
        self.truncated_inputs.absolute(usage.truncated_inputs);
    }

    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Drains histogram samples into buckets; run now and then between scrapes.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

/// The label of a failure: `empty` (no text), `permanent` (an input the embedder
/// rejects, a value that cannot be read) or `transient` (retried later).
fn failure_counter<'a>(m: &'a Metrics, f: &Failure) -> &'a Counter {
    match f.kind {
        FailureKind::Empty => &m.failed_empty,
        FailureKind::Rejected | FailureKind::Undecodable => &m.failed_permanent,
        FailureKind::Transient => &m.failed_transient,
    }
}

/// The server's view of the store: every call goes to the real store, and failures are
/// counted by reason.
pub struct MeteredStore {
    inner: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

impl MeteredStore {
    pub fn new(inner: Arc<dyn Store>, metrics: Arc<Metrics>) -> MeteredStore {
        MeteredStore { inner, metrics }
    }
}

#[async_trait]
impl Store for MeteredStore {
    async fn init(&self) -> Result<()> {
        self.inner.init().await
    }

    async fn uninstall(&self) -> Result<()> {
        self.inner.uninstall().await
    }

    async fn prepare(&self, dimensions: usize) -> Result<()> {
        self.inner.prepare(dimensions).await
    }

    async fn verify(&self, dimensions: usize) -> Result<()> {
        self.inner.verify(dimensions).await
    }

    async fn enqueue_needed(&self) -> Result<u64> {
        self.inner.enqueue_needed().await
    }

    async fn peek_needed(&self, after: Option<&RowId>, limit: usize) -> Result<Vec<ClaimedRow>> {
        self.inner.peek_needed(after, limit).await
    }

    async fn claim(&self, limit: usize, lease: Duration) -> Result<Vec<ClaimedRow>> {
        self.inner.claim(limit, lease).await
    }

    async fn complete(&self, done: &[Completion], failed: &[Failure]) -> Result<WriteOutcome> {
        let outcome = self.inner.complete(done, failed).await?;
        self.metrics.record_failures(failed);
        Ok(outcome)
    }

    async fn release(&self, ids: &[RowId]) -> Result<()> {
        self.inner.release(ids).await
    }

    async fn record_usage(&self, model: &str, usage: &crate::store::UsageTotals) -> Result<()> {
        self.inner.record_usage(model, usage).await
    }

    async fn retry_failed(&self) -> Result<u64> {
        self.inner.retry_failed().await
    }

    async fn status(&self) -> Result<Status> {
        self.metrics.status_queries.increment(1);
        self.inner.status().await
    }

    async fn audit(&self) -> Result<Status> {
        self.inner.audit().await
    }

    async fn ping(&self) -> Result<()> {
        self.inner.ping().await
    }

    async fn search(&self, query: &[f32], k: usize) -> Result<Vec<SearchHit>> {
        self.inner.search(query, k).await
    }

    async fn wait_for_work(&self, timeout: Duration) -> Result<()> {
        self.inner.wait_for_work(timeout).await
    }

    async fn reconcile(&self) -> Result<u64> {
        self.inner.reconcile().await
    }
}
