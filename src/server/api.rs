//! The JSON API, health checks and the metrics endpoint.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

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

pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn unauthorized(state: &AppState) -> Response {
    state.metrics().cron_unauthorized.increment(1);
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        "unauthorized: send Authorization: Bearer <CRON_SECRET>",
    );
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

fn params(query: Option<String>) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// Parses an optional positive integer parameter within `1..=max`.
fn number<T>(params: &HashMap<String, String>, name: &str, default: T, max: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display + From<u8>,
{
    match params.get(name).map(|v| v.trim()) {
        None | Some("") => Ok(default),
        Some(v) => match v.parse::<T>() {
            Ok(n) if n >= T::from(1) && n <= max => Ok(n),
            _ => Err(format!(
                "{name}: expected a whole number from 1 to {max}, got {v:?}"
            )),
        },
    }
}

/// `POST /api/process-embedding-queue?limit=50`: one pipeline run of at most `limit`
/// rows. Answers `{processed, failed, skipped, remaining, duration_ms}`: `failed` counts
/// rows that failed this time (now failed, or to be retried), `remaining` the rows still
/// pending in the queue afterwards.
pub(super) async fn process_queue(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if !state.authorized(&headers) {
        return unauthorized(&state);
    }
    let limit = match number(&params(query), "limit", DEFAULT_LIMIT, MAX_LIMIT) {
        Ok(n) => n,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
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
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let message = state.redact(&format!("{e:#}").replace('\n', " "));
            tracing::error!("process-embedding-queue: {message}");
            return error(StatusCode::INTERNAL_SERVER_ERROR, message);
        }
    };
    let remaining = match state.store().status().await {
        Ok(s) => Some(s.queue.pending),
        Err(e) => {
            tracing::warn!(
                "process-embedding-queue: status after the run: {}",
                state.redact(&format!("{e:#}"))
            );
            None
        }
    };
    tracing::info!(
        "process-embedding-queue: {} processed, {} failed, {:?} remaining",
        summary.written,
        summary.failed + summary.retrying,
        remaining
    );
    Json(json!({
        "processed": summary.written,
        "failed": summary.failed + summary.retrying,
        "skipped": summary.skipped,
        "remaining": remaining,
        "duration_ms": started.elapsed().as_millis() as u64,
    }))
    .into_response()
}

/// `GET /api/status`: `vecsync status --json`, plus `embedder` and `worker`.
pub(super) async fn status(State(state): State<AppState>) -> Response {
    let status = match state.store().status().await {
        Ok(s) => s,
        Err(e) => {
            state.metrics().record_status(None);
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("status: {}", state.redact(&format!("{e:#}"))),
            );
        }
    };
    state.metrics().record_status(Some(&status));
    let mut v = match serde_json::to_value(&status) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
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
    r
}

/// `GET /api/search?q=…&k=10`: hits `{id, score, fields}`, best first.
pub(super) async fn search(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let started = Instant::now();
    let params = params(query);
    let q = params.get("q").map(|q| q.trim()).unwrap_or_default();
    if q.is_empty() {
        return error(StatusCode::BAD_REQUEST, "q: the query is empty");
    }
    let k = match number(&params, "k", DEFAULT_K, MAX_K) {
        Ok(k) => k,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let vector = match state.embedder().embed(&[q.to_string()]).await {
        Ok(mut results) if results.len() == 1 => match results.pop() {
            Some(Ok(v)) => v,
            Some(Err(reason)) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("q: cannot embed the query: {reason}"),
                )
            }
            None => unreachable!("one result"),
        },
        Ok(results) => {
            return error(
                StatusCode::BAD_GATEWAY,
                format!("embedder returned {} results for 1 input", results.len()),
            )
        }
        Err(EmbedError::Transient(reason)) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("embedder: {}", state.redact(&reason)),
            )
        }
        Err(EmbedError::Fatal(reason)) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("embedder: {}", state.redact(&reason)),
            )
        }
    };
    let hits = match state.store().search(&vector, k).await {
        Ok(h) => h,
        Err(e) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("search: {}", state.redact(&format!("{e:#}"))),
            )
        }
    };
    state
        .metrics()
        .api_search_seconds
        .record(started.elapsed().as_secs_f64());
    Json(hits).into_response()
}

/// `GET /healthz`: the process answers.
pub(super) async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// `GET /readyz`: the database answers a status query and the model is loaded.
pub(super) async fn readyz(State(state): State<AppState>) -> Response {
    let embedder = state.embedder();
    let model = embedder.model_id().to_string();
    if embedder.dimensions() == 0 {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "error": "the model is not loaded" })),
        )
            .into_response();
    }
    match tokio::time::timeout(CHECK_TIMEOUT, state.store().status()).await {
        Ok(Ok(status)) => {
            state.metrics().record_status(Some(&status));
            Json(json!({ "status": "ready", "database": "ok", "model": model })).into_response()
        }
        Ok(Err(e)) => {
            state.metrics().record_status(None);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "unavailable",
                    "error": format!("database: {}", state.redact(&format!("{e:#}"))),
                })),
            )
                .into_response()
        }
        Err(_) => {
            state.metrics().record_status(None);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "unavailable",
                    "error": format!("database: no answer within {CHECK_TIMEOUT:?}"),
                })),
            )
                .into_response()
        }
    }
}

/// `GET /metrics`: status gauges and usage counters are refreshed on each scrape.
pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(CHECK_TIMEOUT, state.store().status()).await {
        Ok(Ok(status)) => state.metrics().record_status(Some(&status)),
        Ok(Err(e)) => {
            tracing::warn!(
                "metrics: status query failed: {}",
                state.redact(&format!("{e:#}"))
            );
            state.metrics().record_status(None);
        }
        Err(_) => state.metrics().record_status(None),
    }
    state.metrics().record_usage(&state.embedder().usage());
    let body = state.metrics().render();
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}
