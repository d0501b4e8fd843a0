//! `vecsync serve`: the status page, JSON API, Prometheus metrics, the original cron route
//! and an OpenAI-compatible `/v1/embeddings`, over HTTP (axum).
//!
//! | route | what |
//! |---|---|
//! | `GET /` | live status page (polls `/api/status` every 2 s) |
//! | `GET /api/status` | `vecsync status --json` (shared, at most 2 s old), plus `embedder` and `worker` keys |
//! | `GET /api/search?q=…&k=10` | search hits as JSON |
//! | `POST /api/process-embedding-queue?limit=50` | the cron route: one bounded pipeline run |
//! | `POST /v1/embeddings` | OpenAI-compatible embeddings from the configured embedder |
//! | `GET /metrics` | Prometheus text |
//! | `GET /healthz`, `GET /readyz` | liveness, readiness (database answers a ping, model loaded) |
//! | `GET /login`, `POST /login` | the browser login on a public bind (a session cookie) |
//!
//! Access (see [`auth`]): on a loopback bind the routes that cost work (the cron route,
//! `/v1/embeddings`) need `Authorization: Bearer $CRON_SECRET` when it is set and the
//! others are open; on any other bind `CRON_SECRET` is required and every route but the
//! health checks needs it (browsers log in at `/login`), and searches are rate-limited.
//! Errors of every route go through one mapping ([`error`]). The server knows the store
//! and the embedder only through their traits, and the pipeline only through
//! [`pipeline::run`].

mod api;
mod auth;
mod embeddings;
mod error;
mod metrics;
mod status_cache;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio_util::sync::CancellationToken;

pub use self::auth::requires_auth;
use self::auth::{Access, AuthState, Secret};
pub use self::metrics::{MeteredStore, Metrics};
use crate::config::{redact_url, Config};
use crate::embed::{self, Embedder};
use crate::pipeline::{self, Mode, RunOptions};
use crate::store::{self, Store};

/// The status page: one self-contained file (inline CSS, JS and SVG; no CDN).
const PAGE: &str = include_str!("page.html");

/// Largest `/v1/embeddings` body: 2,048 inputs of a few thousand characters each.
const MAX_BODY_BYTES: usize = 64 << 20;

/// What the server was started with, besides the config.
#[derive(Clone, Default)]
pub struct ServerOptions {
    /// `Authorization: Bearer` secret (env `CRON_SECRET`): needed by the routes that cost
    /// work, and by every route but the health checks when `require_auth`.
    pub cron_secret: Option<String>,
    /// Whether the background worker runs in this process (`serve --work`).
    pub work: bool,
    /// Every route but `/healthz` and `/readyz` needs the secret (or a browser session),
    /// and searches are rate-limited per client address. `serve` sets it for any
    /// non-loopback bind ([`requires_auth`]); tests set it on 127.0.0.1.
    pub require_auth: bool,
    /// Bearer token accepted on `/metrics` besides the secret (env `METRICS_TOKEN`);
    /// when set, `/metrics` needs one of them on any bind.
    pub metrics_token: Option<String>,
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("cron_secret", &self.cron_secret.as_ref().map(|_| "***"))
            .field("work", &self.work)
            .field("require_auth", &self.require_auth)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    /// The real store wrapped in [`MeteredStore`].
    store: Arc<dyn Store>,
    embedder: Arc<dyn Embedder>,
    auth: AuthState,
    metrics: Arc<Metrics>,
    /// Cancelled at shutdown: cron runs stop claiming and finish their batches.
    shutdown: CancellationToken,
    work: bool,
    worker: Mutex<WorkerState>,
    status: status_cache::StatusCache,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
struct WorkerState {
    running: bool,
    restarts: u64,
    last_error: Option<String>,
}

impl AppState {
    /// A server over `store` and `embedder` (already prepared: see [`AppState::open`]).
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        embedder: Arc<dyn Embedder>,
        options: ServerOptions,
    ) -> AppState {
        let metrics = Arc::new(Metrics::new(
            &config.embedder.provider,
            embedder.model_id(),
            embedder.dimensions(),
        ));
        let secret = options.cron_secret.as_deref().and_then(Secret::new);
        let metrics_token = options.metrics_token.as_deref().and_then(Secret::new);
        for token in secret.iter().chain(&metrics_token) {
            crate::redact::register(&String::from_utf8_lossy(token.expose()));
        }
        for s in config.secrets() {
            crate::redact::register(&s);
        }
        let auth = AuthState::new(
            options.require_auth,
            secret,
            metrics_token,
            config.server.search_per_minute,
            config.server.search_burst,
        );
        AppState {
            inner: Arc::new(Inner {
                store: Arc::new(MeteredStore::new(store, metrics.clone())),
                config,
                embedder,
                auth,
                metrics,
                shutdown: CancellationToken::new(),
                work: options.work,
                worker: Mutex::new(WorkerState::default()),
                status: status_cache::StatusCache::default(),
            }),
        }
    }

    /// Opens the store and the embedder named by `config` and checks the table against
    /// the embedder (setup errors are [`crate::config::ConfigError`]s).
    pub async fn open(config: Config, options: ServerOptions) -> Result<AppState> {
        let store = store::open(&config).await?;
        let embedder = embed::from_config(&config)?;
        store.prepare(embedder.dimensions()).await?;
        Ok(AppState::new(config, store, embedder, options))
    }

    /// The store as handlers see it (failures are counted in the metrics).
    pub fn store(&self) -> Arc<dyn Store> {
        self.inner.store.clone()
    }

    /// The status the routes share (at most [`status_cache::MAX_AGE`] old).
    async fn status(&self) -> Result<store::Status> {
        self.inner.status.get(self.inner.store.as_ref()).await
    }

    /// A new status, shared from now on.
    async fn fresh_status(&self) -> Result<store::Status> {
        self.inner.status.refresh(self.inner.store.as_ref()).await
    }

    pub fn embedder(&self) -> Arc<dyn Embedder> {
        self.inner.embedder.clone()
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Fires at shutdown; cancelling it stops the server, the worker and cron runs.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Pipeline events → metrics.
    fn event_sink(&self) -> impl Fn(pipeline::Event) + Send + Sync + 'static {
        let metrics = self.inner.metrics.clone();
        move |event| metrics.record_event(&event)
    }
}

/// The routes, each behind its [`auth::Access`] class. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so that rate limits are per
/// client address (tests bind it on 127.0.0.1:0).
pub fn router(state: AppState) -> Router {
    let guarded = |access: Access, routes: Router<AppState>| {
        routes.route_layer(middleware::from_fn_with_state(
            (state.clone(), access),
            auth::guard,
        ))
    };
    let open = Router::new()
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/login", get(auth::login_page).post(auth::login));
    let read = Router::new()
        .route("/", get(page))
        .route("/api/status", get(api::status))
        .route(
            "/api/search",
            get(api::search).route_layer(middleware::from_fn_with_state(
                state.clone(),
                auth::limit_search,
            )),
        )
        .route("/v1/models", get(embeddings::models));
    let metrics = Router::new().route("/metrics", get(api::metrics));
    let work = Router::new()
        // POST per the original route; GET too, since Vercel-style cron schedulers send GET.
        .route(
            "/api/process-embedding-queue",
            post(api::process_queue).get(api::process_queue),
        )
        .route(
            "/v1/embeddings",
            post(embeddings::embeddings).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        );
    Router::new()
        .merge(open)
        .merge(guarded(Access::Read, read))
        .merge(guarded(Access::Metrics, metrics))
        .merge(guarded(Access::Work, work))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::same_host_only,
        ))
        .with_state(state)
}

async fn page() -> Response {
    let mut r = Html(PAGE).into_response();
    page_headers(&mut r);
    r
}

/// Headers of the HTML pages: never cached, nothing loaded from elsewhere.
fn page_headers(r: &mut Response) {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
        ),
    );
}

/// Shortest `CRON_SECRET` accepted on a non-loopback bind, where anyone who can reach the
/// port may guess it (failed guesses are rate-limited, but a 5-character secret is not one).
const MIN_PUBLIC_SECRET_CHARS: usize = 16;

/// Checks that `bind` may be used: a non-loopback address needs a secret of at least
/// [`MIN_PUBLIC_SECRET_CHARS`] characters.
async fn resolve_bind(bind: &str, secret: Option<&str>) -> Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(bind)
        .await
        .map_err(|e| crate::config_error!("serve --bind: {bind:?} is not HOST:PORT ({e})"))?
        .collect();
    if addrs.is_empty() {
        return Err(crate::config_error!(
            "serve --bind: {bind:?} resolves to no address"
        ));
    }
    if requires_auth(&addrs) {
        match secret {
            None => return Err(crate::config_error!(
                setting = format!("serve --bind {bind}"),
                "refusing to listen on a non-loopback address without CRON_SECRET; set CRON_SECRET (every route but /healthz and /readyz then needs `Authorization: Bearer <secret>` or a login at /login) or bind 127.0.0.1"
            )),
            Some(s) if s.chars().count() < MIN_PUBLIC_SECRET_CHARS => return Err(crate::config_error!(
                setting = format!("serve --bind {bind}"),
                "CRON_SECRET is too short for a non-loopback address ({} characters); use at least {MIN_PUBLIC_SECRET_CHARS} (e.g. `openssl rand -hex 32`) or bind 127.0.0.1",
                s.chars().count()
            )),
            Some(_) => {}
        }
    }
    Ok(addrs)
}

/// `vecsync serve`: listens on `bind` until Ctrl-C / SIGTERM; with `work`, also runs the
/// background worker. Both stop gracefully (batches in flight are written).
pub async fn serve(config: Config, bind: &str, work: bool) -> Result<()> {
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let cron_secret = env("CRON_SECRET");
    let addrs = resolve_bind(bind, cron_secret.as_deref()).await?;
    let options = ServerOptions {
        cron_secret,
        work,
        require_auth: requires_auth(&addrs),
        metrics_token: env("METRICS_TOKEN"),
    };
    let state = AppState::open(config, options).await?;
    let listener = tokio::net::TcpListener::bind(&addrs[..])
        .await
        .map_err(|e| crate::config_error!("serve --bind {bind}: cannot listen ({e})"))?;
    let local = listener.local_addr().context("listening socket")?;
    let cfg = state.config();
    eprintln!(
        "vecsync serve: listening on http://{local} ({}, {} {}{})",
        redact_url(&cfg.database_url),
        cfg.embedder.provider,
        state.embedder().model_id(),
        if work { ", worker on" } else { "" }
    );

    let shutdown = state.shutdown_token();
    tokio::spawn(crate::signal::cancel_on_signal(
        shutdown.clone(),
        "vecsync serve: stopping (finishing the batches in flight)…",
    ));
    // The model this process runs with: a switch made by `vecsync migrate` meanwhile
    // leaves it on the old model, whose searches the fence refuses and whose status would
    // count every vector as stale. It stops instead, with a one-line error, to be started
    // again on the model now live. The migration record is read through one connection,
    // opened here, not one per check.
    let running = state.embedder().model_id().to_string();
    let migrator = crate::store::migration::open_migrator(state.config()).await?;
    let switched = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let upkeep = tokio::spawn({
        let state = state.clone();
        let shutdown = shutdown.clone();
        let switched = switched.clone();
        async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(10)) => state.metrics().upkeep(),
                }
                if let Ok(Some(now)) = migrator.record().await {
                    if now.live_model != running {
                        switched.store(true, std::sync::atomic::Ordering::SeqCst);
                        shutdown.cancel();
                        return;
                    }
                }
            }
        }
    });
    let worker = work.then(|| tokio::spawn(run_worker(state.clone())));

    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await;
    shutdown.cancel();
    if let Some(w) = worker {
        let _ = w.await;
    }
    let _ = upkeep.await;
    server.context("HTTP server")?;
    if switched.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(crate::config_error!(
            setting = "embedder",
            "`vecsync migrate` switched models while serve ran: serve stopped so as not to answer with the old model; start it again (a supervisor restarting it on exit keeps it up across a switch)"
        ));
    }
    eprintln!("vecsync serve: stopped");
    Ok(())
}

/// The background worker of `serve --work`: `pipeline::run` in follow mode until
/// shutdown. An error (database gone longer than the pipeline's retry budget, a fatal
/// embedder error) is shown in `/api/status` and the metrics, and the worker restarts
/// after a backoff rather than leaving a server that looks alive but embeds nothing.
pub async fn run_worker(state: AppState) {
    let shutdown = state.shutdown_token();
    let poll = Duration::from_secs(state.config().worker.poll_seconds.max(1));
    let mut backoff = Duration::from_secs(5);
    loop {
        state.set_worker(|w| w.running = true);
        state.metrics().worker_running.set(1.0);
        let started = Instant::now();
        let options = RunOptions::new(
            state.config(),
            Mode::Follow { poll },
            state.embedder().suggested_concurrency(),
        );
        let result = pipeline::run(
            state.store(),
            state.embedder(),
            options,
            shutdown.clone(),
            state.event_sink(),
        )
        .await;
        state.metrics().worker_running.set(0.0);
        state.set_worker(|w| w.running = false);
        if shutdown.is_cancelled() {
            return;
        }
        let error = match result {
            Ok(_) => "the worker stopped unexpectedly".to_string(),
            Err(e) => crate::redact::redact(&format!("{e:#}").replace('\n', " ")),
        };
        tracing::error!("worker: {error}; restarting in {backoff:?}");
        state.metrics().worker_restarts.increment(1);
        state.set_worker(|w| {
            w.restarts += 1;
            w.last_error = Some(error);
        });
        if started.elapsed() > Duration::from_secs(600) {
            backoff = Duration::from_secs(5);
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(300));
    }
}

impl AppState {
    fn set_worker(&self, f: impl FnOnce(&mut WorkerState)) {
        let mut w = self.inner.worker.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut w);
    }

    fn worker_state(&self) -> WorkerState {
        self.inner
            .worker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_registers_its_secrets() {
        let config = Config {
            database_url: "postgres://u:p%40ss-word@localhost/db".into(),
            ..Config::default()
        };
        let store: Arc<dyn Store> = Arc::new(
            crate::store::sqlite::SqliteStore::open(
                std::path::Path::new(":memory:"),
                &config.source,
                crate::store::StoreOptions::from_config(&config),
            )
            .unwrap(),
        );
        let embedder = Arc::new(crate::embed::fake::FakeEmbedder::new("fake", 4));
        let options = ServerOptions {
            cron_secret: Some("cron-secret-1".into()),
            metrics_token: Some("metrics-token-2".into()),
            ..ServerOptions::default()
        };
        let _state = AppState::new(config, store, embedder, options);
        let out =
            crate::redact::redact("failed: p@ss-word p%40ss-word cron-secret-1 metrics-token-2 ok");
        assert_eq!(out, "failed: *** *** *** *** ok");
    }

    #[tokio::test]
    async fn non_loopback_needs_a_secret() {
        assert!(resolve_bind("127.0.0.1:0", None).await.is_ok());
        assert!(resolve_bind("[::1]:0", None).await.is_ok());
        let e = resolve_bind("0.0.0.0:0", None).await.unwrap_err();
        assert!(e.to_string().contains("CRON_SECRET"), "{e}");
        assert!(resolve_bind("0.0.0.0:0", Some("0123456789abcdef"))
            .await
            .is_ok());
        assert!(resolve_bind("nonsense", None).await.is_err());
    }

    #[tokio::test]
    async fn non_loopback_needs_a_long_secret() {
        let e = resolve_bind("0.0.0.0:0", Some("abcde")).await.unwrap_err();
        assert!(e.to_string().contains("CRON_SECRET"), "{e}");
        assert!(e.to_string().contains("16"), "{e}");
        let e = resolve_bind("0.0.0.0:0", Some("0123456789abcde")).await;
        assert!(e.is_err(), "15 characters");
        // On loopback, a short secret still beats none.
        assert!(resolve_bind("127.0.0.1:0", Some("abcde")).await.is_ok());
    }
}
