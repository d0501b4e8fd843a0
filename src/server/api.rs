//! The JSON API, health checks and the metrics endpoint.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::error::ApiError;
use super::AppState;
use crate::embed::EmbedError;
use crate::pipeline::{self, Mode, RunOptions};

/// The cron route's default and largest `limit`.
const DEFAULT_LIMIT: u64 = 50;
const MAX_LIMIT: u64 = 1_000_000;
const DEFAULT_K: usize = 10;
const MAX_K: usize = 1_000;
/// How long a health check or a scrape waits for the database.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

fn params(query: Option<String>) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// Parses an optional positive integer parameter within `1..=max`.
fn number<T>(
    params: &HashMap<String, String>,
    name: &str,
    default: T,
    max: T,
) -> Result<T, ApiError>
where
    T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display + From<u8>,
{
    match params.get(name).map(|v| v.trim()) {
        None | Some("") => Ok(default),
        Some(v) => match v.parse::<T>() {
            Ok(n) if n >= T::from(1) && n <= max => Ok(n),
            _ => Err(ApiError::bad_request(format!(
                "{name}: expected a whole number from 1 to {max}, got {v:?}"
            ))),
        },
    }
}

/// `POST /api/process-embedding-queue?limit=50`: one pipeline run of at most `limit`
/// rows. Answers `{processed, failed, skipped, remaining, duration_ms}`: `failed` counts
/// rows that failed this time (now failed, or to be retried), `remaining` the rows still
/// pending in the queue afterwards.
pub(super) async fn process_queue(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let limit = number(&params(query), "limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let started = Instant::now();
    let embedder = state.embedder();
    let store = state.store();
    let mut options = RunOptions::new(
        state.config(),
        Mode::Drain,
        embedder.suggested_concurrency(),
    );
    options.limit = Some(limit);
    options.claim_size = options.claim_size.min(limit as usize).max(1);
    let result = pipeline::run(
        store,
        embedder,
        options,
        state.shutdown_token().child_token(),
        state.event_sink(),
    )
    .await;
    state.metrics().cron_runs.increment(1);
    let summary = result.map_err(|e| {
        tracing::error!("process-embedding-queue: {e:#}");
        ApiError::internal(format!("{e:#}"))
    })?;
    let remaining = match state.fresh_status().await {
        Ok(s) => Some(s.queue.pending),
        Err(e) => {
            tracing::warn!("process-embedding-queue: status after the run: {e:#}");
            None
        }
    };
    tracing::info!(
        "process-embedding-queue: {} processed, {} failed, {:?} remaining",
        summary.written,
        summary.failed + summary.retrying,
        remaining
    );
    Ok(Json(json!({
        "processed": summary.written,
        "failed": summary.failed + summary.retrying,
        "skipped": summary.skipped,
        "remaining": remaining,
        "duration_ms": started.elapsed().as_millis() as u64,
    }))
    .into_response())
}

/// `GET /api/status`: `vecsync status --json`, plus `embedder` and `worker`.
pub(super) async fn status(State(state): State<AppState>) -> Result<Response, ApiError> {
    let status = state.status().await.map_err(|e| {
        state.metrics().record_status(None);
        ApiError::unavailable("status", &e)
    })?;
    state.metrics().record_status(Some(&status));
    let mut v =
        serde_json::to_value(status.redacted()).map_err(|e| ApiError::internal(e.to_string()))?;
    let embedder = state.embedder();
    let cfg = &state.config().embedder;
    v["embedder"] = json!({
        "provider": cfg.provider,
        "model": cfg.model,
        "model_id": embedder.model_id(),
        "dimensions": embedder.dimensions(),
        "usage": embedder.usage(),
    });
    let worker = state.worker_state();
    v["worker"] = json!({
        "enabled": state.inner.work,
        "running": worker.running,
        "restarts": worker.restarts,
        "last_error": worker.last_error,
    });
    let mut r = Json(v).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// `GET /api/search?q=…&k=10`: hits `{id, score, fields}`, best first.
pub(super) async fn search(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let params = params(query);
    let q = params.get("q").map(|q| q.trim()).unwrap_or_default();
    if q.is_empty() {
        return Err(ApiError::bad_request("q: the query is empty"));
    }
    let k = number(&params, "k", DEFAULT_K, MAX_K)?;
    let vector = match state.embedder().embed(&[q.to_string()]).await?.pop() {
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            return Err(ApiError::bad_request(format!(
                "q: cannot embed the query: {e}"
            )))
        }
        None => {
            return Err(ApiError::from(EmbedError::Malformed(
                "the embedder returned no result for the query".into(),
            )))
        }
    };
    let hits = state
        .store()
        .search(&vector, k)
        .await
        .map_err(|e| ApiError::unavailable("search", &e))?;
    state
        .metrics()
        .api_search_seconds
        .record(started.elapsed().as_secs_f64());
    Ok(Json(hits).into_response())
}

/// `GET /healthz`: the process answers.
pub(super) async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// `GET /readyz`: the database answers a ping (no table is read) and the model is loaded.
pub(super) async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    let embedder = state.embedder();
    let model = embedder.model_id().to_string();
    if embedder.dimensions() == 0 {
        return Err(
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the model is not loaded").probe(),
        );
    }
    match tokio::time::timeout(CHECK_TIMEOUT, state.store().ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            state.metrics().record_status(None);
            return Err(ApiError::unavailable("database", &e).probe());
        }
        Err(_) => {
            state.metrics().record_status(None);
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("database: no answer within {CHECK_TIMEOUT:?}"),
            )
            .probe());
        }
    }
    Ok(Json(json!({ "status": "ready", "database": "ok", "model": model })).into_response())
}

/// `GET /metrics`: status gauges (from the shared status) and usage counters are refreshed
/// on each scrape.
pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(CHECK_TIMEOUT, state.status()).await {
        Ok(Ok(status)) => state.metrics().record_status(Some(&status)),
        Ok(Err(e)) => {
            tracing::warn!("metrics: status query failed: {e:#}");
            state.metrics().record_status(None);
        }
        Err(_) => state.metrics().record_status(None),
    }
    state.metrics().record_usage(&state.embedder().usage());
    let body = crate::redact::redact(&state.metrics().render());
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}
