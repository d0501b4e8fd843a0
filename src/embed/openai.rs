//! Any OpenAI-compatible `/embeddings` API: OpenAI, Azure OpenAI, Ollama, vLLM, TEI,
//! LiteLLM, a local vecsync…
//!
//! One [`OpenAiEmbedder`] is shared by every batch of a run, and so are its connection
//! pool, its concurrency limit (`embedder.max_concurrency` requests in flight, across
//! all concurrent [`Embedder::embed`] calls) and its rate limiter (see [`limiter`]).
//!
//! `embed` splits its texts into requests packed by both `max_inputs_per_request` and
//! `max_tokens_per_request`, sends them concurrently, and maps each response back by its
//! `index`. Rate limits (429), server errors and timeouts are retried with the server's
//! `retry-after-ms`/`retry-after` or exponential backoff with full jitter; a bad key, a
//! wrong URL or an unknown model stops the run at once ([`EmbedError::Fatal`]); a 400
//! that blames the input is bisected until the offending inputs are isolated, and only
//! those fail. Any doubt about a response (count, index, dimensions, NaN, bad JSON) fails
//! the request — it is retried — rather than risk writing a vector to the wrong row.
//!
//! The API key never appears in a log line, an error or `Debug` output.

pub mod limiter;
pub mod tokens;
pub mod wire;

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::sync::Semaphore;

use self::limiter::{Limiter, ServerView, Ticket};
use self::tokens::Tokenizer;
use super::{EmbedError, Embedder, InputResult, Usage};
use crate::config::EmbedderConfig;
use crate::config_error;

/// Dimensions of OpenAI's models, when `embedder.dimensions` is not set.
pub fn known_dimensions(model: &str) -> Option<usize> {
    match model {
        "text-embedding-3-small" => Some(1536),
        "text-embedding-3-large" => Some(3072),
        "text-embedding-ada-002" => Some(1536),
        _ => None,
    }
}

/// US dollars per million tokens of OpenAI's models, when
/// `embedder.price_per_million_tokens` is not set.
pub fn known_price(model: &str) -> Option<f64> {
    match model {
        "text-embedding-3-small" => Some(0.02),
        "text-embedding-3-large" => Some(0.13),
        "text-embedding-ada-002" => Some(0.10),
        _ => None,
    }
}

/// Longest server-requested wait we honour for one retry.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// The API key; its `Debug` never shows it.
#[derive(Clone)]
struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

pub struct OpenAiEmbedder {
    model: String,
    model_id: String,
    dims: usize,
    /// Sent as `dimensions` (text-embedding-3* with `embedder.dimensions` set).
    send_dimensions: Option<usize>,
    /// The endpoint, with `api-version` for Azure.
    url: reqwest::Url,
    /// The endpoint without credentials or query, for messages.
    display_url: String,
    key: Option<ApiKey>,
    key_env: String,
    azure: bool,
    client: reqwest::Client,
    tokenizer: Tokenizer,
    max_inputs: usize,
    max_tokens: usize,
    max_concurrency: usize,
    permits: Semaphore,
    limiter: Limiter,
    timeout: Duration,
    max_retries: u32,
    backoff_base: Duration,
    backoff_cap: Duration,
    price: Option<f64>,
    /// The server refused `encoding_format: base64`: ask for floats from now on.
    float_only: AtomicBool,
    /// Once a setup error is seen, every later request fails with it without being sent.
    fatal: OnceLock<String>,
    /// Slow start: with no configured limits, one request goes alone until the server
    /// has answered (and told its limits in `x-ratelimit-*` headers, if it has any).
    probe: tokio::sync::Mutex<()>,
    answered: AtomicBool,
    requests: AtomicU64,
    tokens_used: AtomicU64,
    truncated: AtomicU64,
    rate_limited: AtomicU64,
}

impl fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiEmbedder")
            .field("model", &self.model)
            .field("dimensions", &self.dims)
            .field("url", &self.display_url)
            .field("api_key_env", &self.key_env)
            .field("api_key", &self.key.as_ref().map(|_| "***"))
            .field("azure", &self.azure)
            .field("max_inputs_per_request", &self.max_inputs)
            .field("max_tokens_per_request", &self.max_tokens)
            .field("max_concurrency", &self.max_concurrency)
            .field("limits_per_minute", &self.limiter.limits())
            .finish_non_exhaustive()
    }
}

/// One input of a request: its position in the `embed` call, its (truncated) text and
/// our count of its tokens.
#[derive(Debug)]
struct Item<'a> {
    index: usize,
    text: Cow<'a, str>,
    tokens: usize,
}

/// How one HTTP attempt ended.
enum Attempt {
    Vectors {
        vectors: Vec<Vec<f32>>,
        prompt_tokens: Option<u64>,
    },
    Retry {
        reason: String,
        wait: Option<Duration>,
        rate_limited: bool,
        /// No connection could be made (wrong host or port, server down).
        unreachable: bool,
    },
    /// The server blames the input (400/413/422): bisect.
    Refused(String),
    Fatal(String),
    /// The server refuses `encoding_format: base64`.
    WantsFloats,
}

/// How a request ended after its retries.
enum Sent {
    Vectors(Vec<Vec<f32>>),
    Refused(String),
}

impl OpenAiEmbedder {
    pub fn new(config: &EmbedderConfig) -> anyhow::Result<OpenAiEmbedder> {
        let model = config.model.trim().to_string();
        if model.is_empty() {
            return Err(config_error!("embedder.model: is empty"));
        }
        let mut url = reqwest::Url::parse(config.base_url.trim()).map_err(|e| {
            config_error!(
                "embedder.base_url: {:?} is not a URL ({e})",
                crate::config::redact_url(&config.base_url)
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(config_error!(
                "embedder.base_url: expected http://… or https://…, got {:?}",
                crate::config::redact_url(&config.base_url)
            ));
        }
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        let path = url.path().trim_end_matches('/').to_string();
        if !path.ends_with("/embeddings") {
            url.set_path(&format!("{path}/embeddings"));
        }
        let azure = config.azure_api_version.is_some();
        if let Some(v) = &config.azure_api_version {
            if v.trim().is_empty() {
                return Err(config_error!("embedder.azure_api_version: is empty"));
            }
            url.query_pairs_mut().append_pair("api-version", v.trim());
        }
        let display_url = format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap_or_default(),
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        ) + url.path();

        let key_env = config.api_key_env.trim().to_string();
        let key = if key_env.is_empty() {
            None
        } else {
            std::env::var(&key_env)
                .ok()
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .map(ApiKey)
        };
        if key.is_none() && !loopback {
            return Err(if key_env.is_empty() {
                config_error!("embedder.api_key_env: is empty; name the environment variable that holds the API key")
            } else {
                config_error!("embedder.api_key_env: environment variable {key_env} is not set")
            });
        }

        let known = known_dimensions(&model);
        let dims = match (config.dimensions, known) {
            (Some(0), _) => return Err(config_error!("embedder.dimensions: must be at least 1")),
            (Some(d), Some(native)) if d > native => {
                return Err(config_error!(
                    "embedder.dimensions: {model} has at most {native} dimensions, got {d}"
                ))
            }
            (Some(d), Some(native)) if model == "text-embedding-ada-002" && d != native => {
                return Err(config_error!(
                    "embedder.dimensions: text-embedding-ada-002 always has 1536 dimensions, got {d}"
                ))
            }
            (Some(d), _) => d,
            (None, Some(native)) => native,
            (None, None) => {
                return Err(config_error!(
                    "embedder.dimensions: required for model {model:?} (only OpenAI's text-embedding-3-small, text-embedding-3-large and text-embedding-ada-002 are known)"
                ))
            }
        };
        let send_dimensions = config
            .dimensions
            .filter(|_| model.starts_with("text-embedding-3"));

        if config.max_inputs_per_request == 0 {
            return Err(config_error!(
                "embedder.max_inputs_per_request: must be at least 1"
            ));
        }
        if config.max_tokens_per_request == 0 {
            return Err(config_error!(
                "embedder.max_tokens_per_request: must be at least 1"
            ));
        }
        if config.max_concurrency == 0 {
            return Err(config_error!(
                "embedder.max_concurrency: must be at least 1"
            ));
        }
        if config.timeout_seconds == 0 {
            return Err(config_error!(
                "embedder.timeout_seconds: must be at least 1"
            ));
        }
        if let Some(p) = config.price_per_million_tokens {
            if !(p.is_finite() && p >= 0.0) {
                return Err(config_error!(
                    "embedder.price_per_million_tokens: must be a non-negative number"
                ));
            }
        }

        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in &config.headers {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| config_error!("embedder.headers: {name:?} is not a header name"))?;
            let mut v = HeaderValue::from_str(value)
                .map_err(|_| config_error!("embedder.headers.{name}: not a valid header value"))?;
            v.set_sensitive(true);
            headers.insert(n, v);
        }
        if let Some(k) = &key {
            let (name, value) = if azure {
                (HeaderName::from_static("api-key"), k.0.clone())
            } else {
                (reqwest::header::AUTHORIZATION, format!("Bearer {}", k.0))
            };
            let mut v = HeaderValue::from_str(&value).map_err(|_| {
                config_error!("embedder.api_key_env: {key_env} holds characters that cannot be sent in a header")
            })?;
            v.set_sensitive(true);
            headers.insert(name, v);
        }
        let timeout = Duration::from_secs(config.timeout_seconds);
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("vecsync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(config.max_concurrency)
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;

        Ok(OpenAiEmbedder {
            model_id: config.model_id(),
            tokenizer: Tokenizer::for_model(&model),
            price: config.price_per_million_tokens.or(known_price(&model)),
            model,
            dims,
            send_dimensions,
            url,
            display_url,
            key,
            key_env,
            azure,
            client,
            max_inputs: config.max_inputs_per_request,
            max_tokens: config.max_tokens_per_request,
            max_concurrency: config.max_concurrency,
            permits: Semaphore::new(config.max_concurrency),
            limiter: Limiter::new(
                config.requests_per_minute.map(f64::from),
                config.tokens_per_minute.map(|t| t as f64),
            ),
            timeout,
            max_retries: config.max_retries,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(30),
            float_only: AtomicBool::new(false),
            fatal: OnceLock::new(),
            probe: tokio::sync::Mutex::new(()),
            answered: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            tokens_used: AtomicU64::new(0),
            truncated: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
        })
    }

    /// Exponential backoff (full jitter) between `base` and `cap` when the server gives no
    /// `retry-after` (defaults 500 ms and 30 s).
    pub fn with_backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_cap = cap.max(base);
        self
    }

    /// Per-request timeout finer than `embedder.timeout_seconds` (tests).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The endpoint requests go to (without credentials or query).
    pub fn endpoint(&self) -> &str {
        &self.display_url
    }

    /// Rate limits in force, per minute: (requests, tokens), configured or learned.
    pub fn limits_per_minute(&self) -> (Option<f64>, Option<f64>) {
        self.limiter.limits()
    }

    /// Removes anything that looks like the key from a message.
    fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        if let Some(k) = &self.key {
            if k.0.len() >= 4 {
                out = out.replace(&k.0, "***");
            }
        }
        // OpenAI echoes (masked) keys: "Incorrect API key provided: sk-abc***xyz".
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(pos) = rest.find("sk-") {
            let word_start = rest[..pos]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-'));
            result.push_str(&rest[..pos]);
            if !word_start {
                result.push_str("sk-");
                rest = &rest[pos + 3..];
                continue;
            }
            result.push_str("sk-***");
            let after = &rest[pos + 3..];
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || "-_*.".contains(c)))
                .unwrap_or(after.len());
            rest = &after[end..];
        }
        result.push_str(rest);
        result
    }

    fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .backoff_base
            .saturating_mul(1u32 << retry.min(20))
            .min(self.backoff_cap);
        let nanos = exp.as_nanos().min(u64::MAX as u128) as u64;
        Duration::from_nanos(rand::thread_rng().gen_range(0..=nanos))
    }

    /// Packs items into requests by both input count and token count.
    fn pack<'a>(&self, items: Vec<Item<'a>>) -> Vec<Vec<Item<'a>>> {
        let mut jobs = Vec::new();
        let mut current: Vec<Item<'a>> = Vec::new();
        let mut tokens = 0usize;
        for item in items {
            if !current.is_empty()
                && (current.len() >= self.max_inputs || tokens + item.tokens > self.max_tokens)
            {
                jobs.push(std::mem::take(&mut current));
                tokens = 0;
            }
            tokens += item.tokens;
            current.push(item);
        }
        if !current.is_empty() {
            jobs.push(current);
        }
        jobs
    }

    /// Embeds one packed request, bisecting it if the server blames its input.
    async fn run_top(&self, job: &[Item<'_>]) -> Result<Vec<InputResult>, EmbedError> {
        let refusals = AtomicUsize::new(0);
        let results = self.run(job, &refusals, job.len()).await?;
        if job.len() >= 3 && results.iter().all(|r| r.is_err()) {
            let first = results
                .iter()
                .find_map(|r| r.as_ref().err())
                .cloned()
                .unwrap_or_default();
            return Err(self.set_fatal(format!(
                "the API refused each of the {} inputs of a request on its own ({first}); this looks like a setup problem, not bad input",
                job.len()
            )));
        }
        Ok(results)
    }

    fn run<'a>(
        &'a self,
        job: &'a [Item<'a>],
        refusals: &'a AtomicUsize,
        budget: usize,
    ) -> BoxFuture<'a, Result<Vec<InputResult>, EmbedError>> {
        Box::pin(async move {
            match self.send(job).await? {
                Sent::Vectors(vectors) => Ok(vectors.into_iter().map(Ok).collect()),
                Sent::Refused(message) if job.len() == 1 => Ok(vec![Err(message)]),
                Sent::Refused(message) => {
                    if refusals.fetch_add(1, Ordering::Relaxed) + 1 > budget {
                        return Err(self.set_fatal(format!(
                            "the API refused more than {budget} requests while isolating bad inputs: {message}"
                        )));
                    }
                    tracing::debug!(
                        "request of {} inputs refused ({message}); splitting it",
                        job.len()
                    );
                    let (left, right) = job.split_at(job.len() / 2);
                    let (mut a, b) = futures::try_join!(
                        self.run(left, refusals, budget),
                        self.run(right, refusals, budget)
                    )?;
                    a.extend(b);
                    Ok(a)
                }
            }
        })
    }

    fn set_fatal(&self, message: String) -> EmbedError {
        let message = self.redact(&message);
        let _ = self.fatal.set(message.clone());
        EmbedError::Fatal(self.fatal.get().cloned().unwrap_or(message))
    }

    /// Sends one request, with retries.
    async fn send(&self, job: &[Item<'_>]) -> Result<Sent, EmbedError> {
        let tokens: usize = job.iter().map(|i| i.tokens).sum();
        let mut retry = 0u32;
        let mut float_switches = 0;
        loop {
            if let Some(m) = self.fatal.get() {
                return Err(EmbedError::Fatal(m.clone()));
            }
            let outcome = {
                let _probe = if self.answered.load(Ordering::Acquire)
                    || self.limiter.limits() != (None, None)
                {
                    None
                } else {
                    let guard = self.probe.lock().await;
                    (!self.answered.load(Ordering::Acquire)).then_some(guard)
                };
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| EmbedError::Fatal("embedder closed".into()))?;
                if let Some(m) = self.fatal.get() {
                    return Err(EmbedError::Fatal(m.clone()));
                }
                let ticket = self.limiter.acquire(tokens).await;
                let outcome = self.attempt(job, &ticket).await;
                if let Attempt::Vectors {
                    prompt_tokens: Some(t),
                    ..
                } = &outcome
                {
                    self.limiter.charged(&ticket, tokens, *t);
                }
                outcome
            };
            match outcome {
                Attempt::Vectors {
                    vectors,
                    prompt_tokens,
                } => {
                    self.tokens_used
                        .fetch_add(prompt_tokens.unwrap_or(tokens as u64), Ordering::Relaxed);
                    return Ok(Sent::Vectors(vectors));
                }
                Attempt::Refused(m) => return Ok(Sent::Refused(self.redact(&m))),
                Attempt::Fatal(m) => return Err(self.set_fatal(m)),
                Attempt::WantsFloats if float_switches == 0 => {
                    float_switches += 1;
                    if !self.float_only.swap(true, Ordering::Relaxed) {
                        tracing::info!(
                            "the API refuses encoding_format \"base64\"; asking for floats"
                        );
                    }
                }
                Attempt::WantsFloats => {
                    return Err(self.set_fatal(format!(
                        "{} refuses the request's encoding_format",
                        self.display_url
                    )))
                }
                Attempt::Retry {
                    reason,
                    wait,
                    rate_limited,
                    unreachable,
                } => {
                    let reason = self.redact(&reason);
                    // A server never reached since start is a setup mistake (wrong
                    // base_url), not an outage: say so quickly instead of retrying for
                    // minutes and charging every row an attempt.
                    if unreachable
                        && retry >= UNREACHABLE_RETRIES
                        && !self.answered.load(Ordering::Acquire)
                    {
                        return Err(self.set_fatal(format!(
                            "embedder.base_url: {reason}; check the URL and that the server is running"
                        )));
                    }
                    if retry >= self.max_retries {
                        return Err(EmbedError::Transient(format!(
                            "{reason} (gave up after {} attempts)",
                            retry + 1
                        )));
                    }
                    let wait = wait.unwrap_or_else(|| self.backoff(retry));
                    if rate_limited {
                        self.limiter.pause(wait);
                    }
                    retry += 1;
                    tracing::warn!(
                        wait_ms = wait.as_millis() as u64,
                        "embedding request: {reason} (retry {retry} of {} in {wait:.1?})",
                        self.max_retries
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// One HTTP attempt.
    async fn attempt(&self, job: &[Item<'_>], ticket: &Ticket) -> Attempt {
        let floats = self.float_only.load(Ordering::Relaxed);
        let body = wire::Request {
            model: &self.model,
            input: job.iter().map(|i| i.text.as_ref()).collect(),
            encoding_format: if floats { "float" } else { "base64" },
            dimensions: self.send_dimensions,
        };
        let body = match serde_json::to_vec(&body) {
            Ok(b) => b,
            Err(e) => return Attempt::Fatal(format!("cannot encode the request: {e}")),
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let sent = self
            .client
            .post(self.url.clone())
            .body(body)
            .timeout(self.timeout)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return self.transport_error(e),
        };
        self.answered.store(true, Ordering::Release);
        let status = response.status();
        let headers = response.headers().clone();
        self.limiter.observe(
            ticket,
            server_view(&headers, "requests"),
            server_view(&headers, "tokens"),
        );
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return self.transport_error(e),
        };
        if status.is_success() {
            return match wire::parse_response(&body, job.len(), self.dims) {
                Ok(p) => Attempt::Vectors {
                    vectors: p.vectors,
                    prompt_tokens: p.prompt_tokens,
                },
                Err(wire::BodyError::Dimensions { got, expected }) => Attempt::Fatal(format!(
                    "embedder.dimensions: {} returned {got}-dimension vectors for model {:?} but {expected} {}; set embedder.dimensions = {got} (with a vector({got}) column), or use a model that supports `dimensions`",
                    self.display_url,
                    self.model,
                    match self.send_dimensions {
                        Some(_) => "were asked for (it ignores `dimensions`)",
                        None => "were expected",
                    }
                )),
                Err(reason) => Attempt::Retry {
                    reason: format!("{status} with an unusable body: {reason}"),
                    wait: None,
                    rate_limited: false,
                    unreachable: false,
                },
            };
        }
        let err = wire::error_message(&body);
        let message = err.message.clone().unwrap_or_else(|| "no message".into());
        let lower = message.to_ascii_lowercase();
        let model_missing = err.code.as_deref() == Some("model_not_found")
            || (lower.contains("model")
                && (lower.contains("not found")
                    || lower.contains("does not exist")
                    || lower.contains("not exist")
                    || lower.contains("unknown")));
        match status.as_u16() {
            429 if err.code.as_deref() == Some("insufficient_quota")
                || err.kind.as_deref() == Some("insufficient_quota") =>
            {
                Attempt::Fatal(format!(
                    "{} says the account is out of quota ({status}): {message}",
                    self.display_url
                ))
            }
            429 => {
                self.rate_limited.fetch_add(1, Ordering::Relaxed);
                Attempt::Retry {
                    reason: format!("rate limited ({status}): {message}"),
                    wait: retry_after(&headers),
                    rate_limited: true,
                    unreachable: false,
                }
            }
            408 | 500..=599 => Attempt::Retry {
                reason: format!("{status}: {message}"),
                wait: retry_after(&headers),
                rate_limited: false,
                unreachable: false,
            },
            401 | 403 => Attempt::Fatal(format!(
                "{} refused the API key{} ({status}): {message}",
                self.display_url,
                if self.key.is_some() {
                    format!(" from {}", self.key_env)
                } else {
                    format!(" ({} is not set)", self.key_env)
                }
            )),
            404 => Attempt::Fatal(format!(
                "{status} from {}: {message} (check embedder.base_url and embedder.model {:?})",
                self.display_url, self.model
            )),
            _ if model_missing => Attempt::Fatal(format!(
                "{status} from {}: {message} (check embedder.model {:?})",
                self.display_url, self.model
            )),
            400 | 413 | 422 if lower.contains("encoding_format") && !floats => Attempt::WantsFloats,
            400 | 413 | 422 if lower.contains("dimensions") && self.send_dimensions.is_some() => {
                Attempt::Fatal(format!(
                    "{status} from {}: {message} (check embedder.dimensions)",
                    self.display_url
                ))
            }
            400 | 413 | 422 => Attempt::Refused(format!("{status}: {message}")),
            _ => Attempt::Fatal(format!(
                "unexpected {status} from {}: {message}",
                self.display_url
            )),
        }
    }

    fn transport_error(&self, e: reqwest::Error) -> Attempt {
        let e = e.without_url();
        let reason = if e.is_timeout() {
            format!("no answer within {:.1?}", self.timeout)
        } else if e.is_connect() {
            format!(
                "cannot connect to {}: {}",
                self.display_url,
                error_chain(&e)
            )
        } else {
            format!("request failed: {}", error_chain(&e))
        };
        Attempt::Retry {
            reason,
            wait: None,
            rate_limited: false,
            unreachable: e.is_connect(),
        }
    }
}

/// Connection attempts to a server that never answered before the run stops.
const UNREACHABLE_RETRIES: u32 = 2;

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    wire::one_line(&s, 300)
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// `retry-after-ms` (milliseconds), then `retry-after` (seconds), capped.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let ms = header_str(headers, "retry-after-ms")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| Duration::from_secs_f64(v / 1000.0));
    let secs = || {
        header_str(headers, "retry-after")
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(Duration::from_secs_f64)
    };
    ms.or_else(secs).map(|d| d.min(MAX_RETRY_AFTER))
}

/// `x-ratelimit-{limit,remaining,reset}-{what}`.
fn server_view(headers: &HeaderMap, what: &str) -> ServerView {
    let num = |name: String| {
        header_str(headers, &name)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    ServerView {
        limit: num(format!("x-ratelimit-limit-{what}")),
        remaining: num(format!("x-ratelimit-remaining-{what}")),
        reset: header_str(headers, &format!("x-ratelimit-reset-{what}"))
            .and_then(limiter::parse_duration),
    }
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimensions(&self) -> usize {
        self.dims
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.tokenizer.prepare(text).tokens
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<InputResult>, EmbedError> {
        if let Some(m) = self.fatal.get() {
            return Err(EmbedError::Fatal(m.clone()));
        }
        let prepare = || {
            let mut results: Vec<Option<InputResult>> = (0..texts.len()).map(|_| None).collect();
            let mut items = Vec::with_capacity(texts.len());
            for (index, text) in texts.iter().enumerate() {
                if text.is_empty() {
                    results[index] = Some(Err("empty text".into()));
                    continue;
                }
                let p = self.tokenizer.prepare(text);
                if p.truncated {
                    self.truncated.fetch_add(1, Ordering::Relaxed);
                }
                items.push(Item {
                    index,
                    text: p.text,
                    tokens: p.tokens,
                });
            }
            (results, items)
        };
        // Tokenizing a large batch takes milliseconds of CPU: keep it off the reactor
        // where the runtime allows it.
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let (mut results, items) = if multi_thread && texts.len() >= 64 {
            tokio::task::block_in_place(prepare)
        } else {
            prepare()
        };
        let jobs = self.pack(items);
        let outcomes =
            futures::future::try_join_all(jobs.iter().map(|job| self.run_top(job))).await?;
        for (job, outcome) in jobs.iter().zip(outcomes) {
            for (item, result) in job.iter().zip(outcome) {
                results[item.index] = Some(result);
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err("not embedded".into())))
            .collect())
    }

    fn suggested_concurrency(&self) -> usize {
        self.max_concurrency
    }

    fn price_per_million_tokens(&self) -> Option<f64> {
        self.price
    }

    fn usage(&self) -> Usage {
        let tokens = self.tokens_used.load(Ordering::Relaxed);
        Usage {
            requests: self.requests.load(Ordering::Relaxed),
            tokens,
            cost: self.price.map(|p| tokens as f64 * p / 1e6),
            truncated_inputs: self.truncated.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base_url: &str) -> EmbedderConfig {
        EmbedderConfig {
            provider: "openai".into(),
            model: "text-embedding-3-small".into(),
            base_url: base_url.into(),
            api_key_env: "VECSYNC_TEST_UNSET_KEY_VAR".into(),
            ..EmbedderConfig::default()
        }
    }

    #[test]
    fn missing_key_names_the_setting() {
        let e = OpenAiEmbedder::new(&config("https://api.example.invalid/v1")).unwrap_err();
        let e = e.downcast::<crate::config::ConfigError>().unwrap();
        assert_eq!(
            e.0,
            "embedder.api_key_env: environment variable VECSYNC_TEST_UNSET_KEY_VAR is not set"
        );
    }

    #[test]
    fn loopback_needs_no_key() {
        for url in [
            "http://127.0.0.1:11434/v1",
            "http://localhost:8080/v1/",
            "http://[::1]:80/v1",
        ] {
            let e = OpenAiEmbedder::new(&config(url)).unwrap();
            assert!(e.endpoint().ends_with("/v1/embeddings"), "{}", e.endpoint());
        }
    }

    #[test]
    fn dimensions_defaults_and_requirements() {
        let mut c = config("http://127.0.0.1:1/v1");
        assert_eq!(OpenAiEmbedder::new(&c).unwrap().dimensions(), 1536);
        c.model = "text-embedding-3-large".into();
        assert_eq!(OpenAiEmbedder::new(&c).unwrap().dimensions(), 3072);
        c.dimensions = Some(256);
        let e = OpenAiEmbedder::new(&c).unwrap();
        assert_eq!(e.dimensions(), 256);
        assert_eq!(e.send_dimensions, Some(256));
        assert_eq!(e.model_id(), "text-embedding-3-large:256");
        c.model = "nomic-embed-text".into();
        c.dimensions = None;
        let err = OpenAiEmbedder::new(&c).unwrap_err().to_string();
        assert!(err.starts_with("embedder.dimensions:"), "{err}");
        c.dimensions = Some(768);
        let e = OpenAiEmbedder::new(&c).unwrap();
        assert_eq!(e.send_dimensions, None);
        assert_eq!(e.tokenizer, Tokenizer::Bytes);
        c.model = "text-embedding-ada-002".into();
        c.dimensions = Some(512);
        assert!(OpenAiEmbedder::new(&c).is_err());
    }

    #[test]
    fn azure_url() {
        let mut c = config("http://127.0.0.1:9/openai/deployments/emb");
        c.azure_api_version = Some("2024-02-01".into());
        let e = OpenAiEmbedder::new(&c).unwrap();
        assert_eq!(
            e.url.as_str(),
            "http://127.0.0.1:9/openai/deployments/emb/embeddings?api-version=2024-02-01"
        );
    }

    #[test]
    fn redaction() {
        let mut e = OpenAiEmbedder::new(&config("http://127.0.0.1:1/v1")).unwrap();
        e.key = Some(ApiKey("secret-key-123".into()));
        let r = e.redact("bad key secret-key-123 and sk-abc***xyz, ok, task-list");
        assert_eq!(r, "bad key *** and sk-***, ok, task-list");
        assert!(!format!("{e:?}").contains("secret-key-123"));
    }

    #[test]
    fn packing_respects_both_limits() {
        let mut c = config("http://127.0.0.1:1/v1");
        c.max_inputs_per_request = 3;
        c.max_tokens_per_request = 10;
        let e = OpenAiEmbedder::new(&c).unwrap();
        let items = [4, 4, 4, 1, 1, 1, 1, 20, 2]
            .iter()
            .enumerate()
            .map(|(index, &tokens)| Item {
                index,
                text: Cow::Borrowed("x"),
                tokens,
            })
            .collect();
        let jobs: Vec<Vec<usize>> = e
            .pack(items)
            .iter()
            .map(|j| j.iter().map(|i| i.tokens).collect())
            .collect();
        assert_eq!(
            jobs,
            vec![vec![4, 4], vec![4, 1, 1], vec![1, 1], vec![20], vec![2]]
        );
    }

    #[test]
    fn retry_after_headers() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", HeaderValue::from_static("50"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(50)));
        h.insert("x-ratelimit-limit-tokens", HeaderValue::from_static("1000"));
        h.insert("x-ratelimit-reset-tokens", HeaderValue::from_static("6m0s"));
        let v = server_view(&h, "tokens");
        assert_eq!(v.limit, Some(1000.0));
        assert_eq!(v.reset, Some(Duration::from_secs(360)));
    }
}
