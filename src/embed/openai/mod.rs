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
//! wrong URL or an unknown model stops the run at once ([`EmbedError::Setup`]); a 400
//! that blames the input is bisected until the offending inputs are isolated, and only
//! those fail. A 400 that states the server's limit of inputs per request (Azure
//! deployments that take one) lowers `max_inputs_per_request` for the rest of the run.
//! Any doubt about a response (count, index, dimensions, NaN, bad JSON) fails the
//! request — it is retried — rather than risk writing a vector to the wrong row.
//!
//! The API key never appears in a log line, an error or `Debug` output.
//!
//! Files: this one checks the settings and builds the client; `request` sends an `embed`
//! call (packing, bisection, retries, classifying answers); `limiter` paces requests;
//! `tokens` counts tokens; `wire` holds the JSON bodies.

pub mod limiter;
mod request;
pub mod tokens;
pub mod wire;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::sync::Semaphore;

use self::limiter::Limiter;
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
    /// `embedder.max_inputs_per_request`, lowered for the rest of the run when the server
    /// says it takes fewer.
    max_inputs: AtomicUsize,
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
            .field(
                "max_inputs_per_request",
                &self.max_inputs.load(Ordering::Relaxed),
            )
            .field("max_tokens_per_request", &self.max_tokens)
            .field("max_concurrency", &self.max_concurrency)
            .field("limits_per_minute", &self.limiter.limits())
            .finish_non_exhaustive()
    }
}

impl OpenAiEmbedder {
    pub fn new(config: &EmbedderConfig) -> anyhow::Result<OpenAiEmbedder> {
        let model = config.model.trim().to_string();
        if model.is_empty() {
            return Err(config_error!(setting = "embedder.model", "is empty"));
        }
        let mut url = reqwest::Url::parse(config.base_url.trim()).map_err(|e| {
            config_error!(
                setting = "embedder.base_url",
                "{:?} is not a URL ({e})",
                crate::config::redact_url(&config.base_url)
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(config_error!(
                setting = "embedder.base_url",
                "expected http://… or https://…, got {:?}",
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
                return Err(config_error!(
                    setting = "embedder.azure_api_version",
                    "is empty"
                ));
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
                config_error!(
                    setting = "embedder.api_key_env",
                    "is empty; name the environment variable that holds the API key"
                )
            } else {
                config_error!(
                    setting = "embedder.api_key_env",
                    "environment variable {key_env} is not set"
                )
            });
        }

        let known = known_dimensions(&model);
        let dims = match (config.dimensions, known) {
            (Some(0), _) => return Err(config_error!(
                setting = "embedder.dimensions",
                "must be at least 1")),
            (Some(d), Some(native)) if d > native => {
                return Err(config_error!(
                    setting = "embedder.dimensions",
                    "{model} has at most {native} dimensions, got {d}"
                ))
            }
            (Some(d), Some(native)) if model == "text-embedding-ada-002" && d != native => {
                return Err(config_error!(
                    setting = "embedder.dimensions",
                    "text-embedding-ada-002 always has 1536 dimensions, got {d}"
                ))
            }
            (Some(d), _) => d,
            (None, Some(native)) => native,
            (None, None) => {
                return Err(config_error!(
                    setting = "embedder.dimensions",
                    "required for model {model:?} (only OpenAI's text-embedding-3-small, text-embedding-3-large and text-embedding-ada-002 are known)"
                ))
            }
        };
        let send_dimensions = config
            .dimensions
            .filter(|_| model.starts_with("text-embedding-3"));

        if config.max_inputs_per_request == 0 {
            return Err(config_error!(
                setting = "embedder.max_inputs_per_request",
                "must be at least 1"
            ));
        }
        if config.max_tokens_per_request == 0 {
            return Err(config_error!(
                setting = "embedder.max_tokens_per_request",
                "must be at least 1"
            ));
        }
        if config.max_concurrency == 0 {
            return Err(config_error!(
                setting = "embedder.max_concurrency",
                "must be at least 1"
            ));
        }
        if config.timeout_seconds == 0 {
            return Err(config_error!(
                setting = "embedder.timeout_seconds",
                "must be at least 1"
            ));
        }
        if let Some(p) = config.price_per_million_tokens {
            if !(p.is_finite() && p >= 0.0) {
                return Err(config_error!(
                    setting = "embedder.price_per_million_tokens",
                    "must be a non-negative number"
                ));
            }
        }

        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(k) = &key {
            crate::redact::register(&k.0);
        }
        for (name, value) in &config.headers {
            crate::redact::register(value);
            let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                config_error!(
                    setting = "embedder.headers",
                    "{name:?} is not a header name"
                )
            })?;
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
                config_error!(
                    setting = "embedder.api_key_env",
                    "{key_env} holds characters that cannot be sent in a header"
                )
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
            max_inputs: AtomicUsize::new(config.max_inputs_per_request),
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
        self.embed_all(texts).await
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
            e.to_string(),
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
        crate::redact::register("secret-key-123");
        let r = crate::redact::redact("bad key secret-key-123 and sk-abc***xyz, ok, task-list");
        assert_eq!(r, "bad key *** and sk-***, ok, task-list");
        assert!(!format!("{e:?}").contains("secret-key-123"));
    }
}
