//! A hostile OpenAI-compatible `/embeddings` server for tests and benchmarks.
//!
//! In-process (axum on 127.0.0.1:0), configured per test and changeable while it runs
//! ([`MockOpenAi::set`]). It answers with deterministic vectors derived from a hash of
//! each text (the same as [`vecsync::embed::fake::FakeEmbedder`]), so a test can check
//! that every row got ITS vector ([`MockOpenAi::vector`]). It can: add latency; enforce
//! tokens-per-minute and requests-per-minute limits by answering 429 (with
//! `retry-after-ms`, `retry-after`, both or neither) and report `x-ratelimit-*` headers;
//! fail the next requests or a fraction of them with 500/503; hang past the client's
//! timeout; send truncated or malformed JSON, vectors out of `index` order, too few
//! vectors, wrong dimensions, NaN or a missing index; refuse any batch holding a poison
//! input with a 400; answer 401 to a wrong key (echoing it) and 404 to an unknown model;
//! echo every request header in an error, like a hostile proxy; take at most N inputs per
//! request, like some Azure deployments. It records
//! every request (inputs, timestamps, keys, status) and the most requests it saw in
//! flight at once.
//!
//! Use it from another test with
//! `#[path = "support/mock_openai.rs"] mod mock_openai;` (or from a `support` module).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use vecsync::embed::openai::tokens::Tokenizer;
use vecsync::embed::openai::wire::encode_base64;

/// Inputs containing this are refused (400) by default.
pub const POISON: &str = "POISON";
/// The provider's message for a batch holding a poison input.
pub const POISON_MESSAGE: &str = "Invalid 'input': this text is not allowed (mock poison)";

/// A failure injected into one response.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// This status with an OpenAI-style error body (500, 503…).
    Status(u16),
    /// A 429 with these hints.
    RateLimited {
        retry_after_ms: Option<u64>,
        retry_after_s: Option<u64>,
    },
    /// A 429 `insufficient_quota` (billing), which no retry fixes.
    QuotaExceeded,
    /// Answer (normally) only after this long.
    Hang(Duration),
    /// A 200 whose JSON stops halfway.
    Truncated,
    /// A 200 whose body is not JSON.
    Malformed,
    /// One vector fewer than inputs.
    WrongCount,
    /// Vectors one dimension too long.
    WrongDims,
    /// A NaN in the first vector (base64 only; as floats it is malformed JSON).
    Nan,
    /// The first item has no `index`.
    MissingIndex,
    /// This status, with a message that echoes every request header, value included
    /// (a hostile proxy).
    EchoHeaders(u16),
}

/// What a 429 caused by the rate limits carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryHint {
    None,
    Ms,
    Secs,
    Both,
}

/// The settings; all of them can be changed while the server runs.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// Added to every successful answer.
    pub latency: Duration,
    /// Dimensions when the request does not send `dimensions`.
    pub dims: usize,
    /// Models served; any other gets a 404 `model_not_found`.
    pub models: Vec<String>,
    /// The key required (`Authorization: Bearer` or `api-key`); `None` accepts anything.
    pub api_key: Option<String>,
    pub tokens_per_minute: Option<u64>,
    pub requests_per_minute: Option<u64>,
    /// The limits' bucket holds this much time's worth of the limit (default 1 s, like
    /// a per-minute limit enforced per second).
    pub burst: Duration,
    pub hint: RetryHint,
    /// Applied one each to the next requests.
    pub faults: VecDeque<Fault>,
    /// Applied to every request after `faults` run out.
    pub always: Option<Fault>,
    /// Fraction of requests answered `fail_status` (deterministic sequence).
    pub fail_fraction: f64,
    pub fail_status: u16,
    /// Answer items in a random order (their `index` stays right).
    pub shuffle: bool,
    /// A batch holding an input that contains this is refused with a 400.
    pub poison: Option<String>,
    /// Ignore `encoding_format: base64` and answer floats.
    pub floats_only: bool,
    /// How tokens are counted for the limits and `usage` (default: by model, like the client).
    pub tokenizer: Option<Tokenizer>,
    /// Send `usage.prompt_tokens`.
    pub report_usage: bool,
    /// Refuse a request of more inputs with Azure's 400 "Too many inputs. The max number
    /// of inputs is N." (Azure deployments that take one input per request).
    pub max_inputs: Option<usize>,
    /// Ignore the request's `dimensions` and answer `dims`-dimension vectors (servers that
    /// do not support it, e.g. a model without Matryoshka truncation).
    pub ignore_dimensions: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            latency: Duration::ZERO,
            dims: 8,
            models: vec![
                "text-embedding-3-small".into(),
                "text-embedding-3-large".into(),
                "text-embedding-ada-002".into(),
                "mock-embed".into(),
            ],
            api_key: None,
            tokens_per_minute: None,
            requests_per_minute: None,
            burst: Duration::from_secs(1),
            hint: RetryHint::Ms,
            faults: VecDeque::new(),
            always: None,
            fail_fraction: 0.0,
            fail_status: 500,
            shuffle: false,
            poison: Some(POISON.into()),
            floats_only: false,
            tokenizer: None,
            report_usage: true,
            max_inputs: None,
            ignore_dimensions: false,
        }
    }
}

/// One request as the mock saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub at: Instant,
    /// When the answer was ready (None while in flight or if the client went away).
    pub done: Option<Instant>,
    pub path: String,
    pub query: Option<String>,
    /// The bearer token or `api-key` header.
    pub key: Option<String>,
    pub model: String,
    pub inputs: Vec<String>,
    pub encoding_format: Option<String>,
    pub dimensions: Option<usize>,
    pub tokens: u64,
    pub status: u16,
    /// All header names and values, to check that extra headers arrive.
    pub headers: Vec<(String, String)>,
}

struct Bucket {
    per_minute: f64,
    capacity: f64,
    level: f64,
    at: Instant,
}

impl Bucket {
    fn new(per_minute: u64, burst: Duration) -> Bucket {
        let capacity = (per_minute as f64 / 60.0 * burst.as_secs_f64()).max(1.0);
        Bucket {
            per_minute: per_minute as f64,
            capacity,
            level: capacity,
            at: Instant::now(),
        }
    }
    fn rate(&self) -> f64 {
        self.per_minute / 60.0
    }
    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.level = (self.level + dt * self.rate()).min(self.capacity);
        self.at = now;
    }
    /// Time until `n` would fit, or zero.
    fn wait_for(&self, n: f64) -> Duration {
        if self.level >= n {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(((n - self.level) / self.rate()).min(3600.0))
        }
    }
    fn headers(&self, what: &str, h: &mut HeaderMap) {
        let reset = Duration::from_secs_f64((self.capacity - self.level).max(0.0) / self.rate());
        insert(
            h,
            &format!("x-ratelimit-limit-{what}"),
            self.per_minute as u64,
        );
        insert(
            h,
            &format!("x-ratelimit-remaining-{what}"),
            self.level.max(0.0) as u64,
        );
        insert(h, &format!("x-ratelimit-reset-{what}"), go_duration(reset));
    }
}

fn insert(h: &mut HeaderMap, name: &str, value: impl ToString) {
    if let (Ok(n), Ok(v)) = (
        axum::http::HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(&value.to_string()),
    ) {
        h.insert(n, v);
    }
}

/// "6m0s", "1.5s", "12ms" like OpenAI's reset headers.
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        let s = format!("{:.3}", d.as_secs_f64());
        format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
    } else {
        let secs = d.as_secs();
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

struct Limits {
    tokens: Option<Bucket>,
    requests: Option<Bucket>,
    /// The knobs the buckets were made from, to rebuild them when the knobs change.
    made_from: (Option<u64>, Option<u64>, Duration),
}

struct Inner {
    knobs: Mutex<Knobs>,
    limits: Mutex<Limits>,
    log: Mutex<Vec<Recorded>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    served: AtomicUsize,
    rng: Mutex<rand_chacha::ChaCha8Rng>,
}

struct InFlight<'a>(&'a Inner);

impl<'a> InFlight<'a> {
    fn enter(inner: &'a Inner) -> InFlight<'a> {
        let now = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        inner.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(inner)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

pub struct MockOpenAi {
    pub addr: std::net::SocketAddr,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockOpenAi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockOpenAi {
    /// Starts a server on 127.0.0.1 with an ephemeral port (needs a tokio runtime).
    pub async fn start(knobs: Knobs) -> MockOpenAi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let inner = Arc::new(Inner {
            limits: Mutex::new(Limits {
                tokens: None,
                requests: None,
                made_from: (None, None, Duration::ZERO),
            }),
            knobs: Mutex::new(knobs),
            log: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            served: AtomicUsize::new(0),
            rng: Mutex::new(rand_chacha::ChaCha8Rng::seed_from_u64(7)),
        });
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MockOpenAi { addr, inner, task }
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Changes knobs while the server runs.
    pub fn set(&self, f: impl FnOnce(&mut Knobs)) {
        f(&mut self.inner.knobs.lock().unwrap());
    }

    pub fn knobs(&self) -> Knobs {
        self.inner.knobs.lock().unwrap().clone()
    }

    /// The vector the mock returns for `text` at `dims` dimensions.
    pub fn vector(text: &str, dims: usize) -> Vec<f32> {
        vecsync::embed::fake::FakeEmbedder::new("mock", dims).vector(text)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.log.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.inner.log.lock().unwrap().len()
    }

    pub fn count_status(&self, status: u16) -> usize {
        self.inner
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.status == status)
            .count()
    }

    /// Tokens of the requests answered 200.
    pub fn tokens_served(&self) -> u64 {
        self.inner
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.status == 200)
            .map(|r| r.tokens)
            .sum()
    }

    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::SeqCst)
    }

    /// Forgets recorded requests and the in-flight maximum.
    pub fn reset_log(&self) {
        self.inner.log.lock().unwrap().clear();
        self.inner.max_in_flight.store(0, Ordering::SeqCst);
    }
}

fn error_response(status: u16, message: &str, kind: &str, code: Option<&str>) -> Response {
    let body = serde_json::json!({
        "error": {"message": message, "type": kind, "param": null, "code": code}
    });
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = Instant::now();
    let _guard = InFlight::enter(&inner);
    let key = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("api-key").and_then(|v| v.to_str().ok()))
        .map(str::to_string);
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let model = request["model"].as_str().unwrap_or_default().to_string();
    let inputs: Vec<String> = match &request["input"] {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect(),
        _ => Vec::new(),
    };
    let encoding_format = request["encoding_format"].as_str().map(str::to_string);
    let dimensions = request["dimensions"].as_u64().map(|d| d as usize);

    let (k, fault, random_fail) = {
        let mut knobs = inner.knobs.lock().unwrap();
        let fault = knobs.faults.pop_front().or(knobs.always.clone());
        let random_fail = knobs.fail_fraction > 0.0
            && inner.rng.lock().unwrap().gen::<f64>() < knobs.fail_fraction;
        (knobs.clone(), fault, random_fail)
    };

    let tokenizer = k.tokenizer.unwrap_or(Tokenizer::for_model(&model));
    let tokens: u64 = inputs.iter().map(|t| tokenizer.count(t) as u64).sum();

    let slot = {
        let mut log = inner.log.lock().unwrap();
        log.push(Recorded {
            at: arrived,
            done: None,
            path: uri.path().to_string(),
            query: uri.query().map(str::to_string),
            key: key.clone(),
            model: model.clone(),
            inputs: inputs.clone(),
            encoding_format: encoding_format.clone(),
            dimensions,
            tokens,
            status: 0,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
                .collect(),
        });
        log.len() - 1
    };
    let response = answer(
        &inner,
        &k,
        fault,
        random_fail,
        &uri,
        &headers,
        key.as_deref(),
        &request,
        &model,
        &inputs,
        encoding_format.as_deref(),
        dimensions,
        tokens,
    )
    .await;
    let mut log = inner.log.lock().unwrap();
    if let Some(r) = log.get_mut(slot) {
        r.status = response.status().as_u16();
        r.done = Some(Instant::now());
    }
    response
}

#[allow(clippy::too_many_arguments)]
async fn answer(
    inner: &Inner,
    k: &Knobs,
    fault: Option<Fault>,
    random_fail: bool,
    uri: &Uri,
    headers: &HeaderMap,
    key: Option<&str>,
    request: &serde_json::Value,
    model: &str,
    inputs: &[String],
    encoding_format: Option<&str>,
    dimensions: Option<usize>,
    tokens: u64,
) -> Response {
    let path = uri.path();
    let served = path == "/v1/embeddings"
        || path == "/embeddings"
        || (path.starts_with("/openai/deployments/") && path.ends_with("/embeddings"));
    if !served {
        return error_response(404, "Not found", "invalid_request_error", None);
    }
    if let Some(expected) = &k.api_key {
        if key != Some(expected.as_str()) {
            // Hostile: echo the key the client sent, in full.
            let msg = format!(
                "Incorrect API key provided: {}. You can find your API key in your account settings.",
                key.unwrap_or("(none)")
            );
            return error_response(401, &msg, "invalid_request_error", Some("invalid_api_key"));
        }
    }
    if request.is_null() || inputs.is_empty() {
        return error_response(
            400,
            "We could not parse the JSON body of your request.",
            "invalid_request_error",
            None,
        );
    }
    if !k.models.iter().any(|m| m == model) {
        let msg = format!("The model `{model}` does not exist or you do not have access to it.");
        return error_response(404, &msg, "invalid_request_error", Some("model_not_found"));
    }
    if let Some(max) = k.max_inputs.filter(|&max| inputs.len() > max) {
        let msg = format!(
            "Too many inputs. The max number of inputs is {max}.  We hope to increase the number of inputs per request soon. Please contact us through an Azure support request for further questions."
        );
        return error_response(400, &msg, "invalid_request_error", None);
    }
    if inputs.iter().any(|t| t.is_empty()) {
        return error_response(
            400,
            "'$.input' is invalid: empty string",
            "invalid_request_error",
            None,
        );
    }

    let mut hang = None;
    let mut damage = None;
    match fault {
        Some(Fault::Status(s)) => {
            return error_response(
                s,
                "The server had an error while processing your request.",
                "server_error",
                None,
            )
        }
        Some(Fault::RateLimited {
            retry_after_ms,
            retry_after_s,
        }) => {
            let mut r = error_response(
                429,
                "Rate limit reached (injected).",
                "requests",
                Some("rate_limit_exceeded"),
            );
            if let Some(ms) = retry_after_ms {
                insert(r.headers_mut(), "retry-after-ms", ms);
            }
            if let Some(s) = retry_after_s {
                insert(r.headers_mut(), "retry-after", s);
            }
            return r;
        }
        Some(Fault::QuotaExceeded) => {
            return error_response(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                Some("insufficient_quota"),
            )
        }
        Some(Fault::EchoHeaders(status)) => {
            let echoed: Vec<String> = headers
                .iter()
                .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap_or_default()))
                .collect();
            let msg = format!("rejected request with headers {}", echoed.join(", "));
            return error_response(status, &msg, "invalid_request_error", None);
        }
        Some(Fault::Hang(d)) => hang = Some(d),
        Some(other) => damage = Some(other),
        None => {}
    }
    if random_fail {
        return error_response(
            k.fail_status,
            "The server is overloaded (random failure).",
            "server_error",
            None,
        );
    }
    if let Some(p) = &k.poison {
        if inputs.iter().any(|t| t.contains(p.as_str())) {
            return error_response(400, POISON_MESSAGE, "invalid_request_error", None);
        }
    }

    // Rate limits: refuse (uncharged) when the bucket cannot take this request.
    let mut rl_headers = HeaderMap::new();
    {
        let mut limits = inner.limits.lock().unwrap();
        let wanted = (k.tokens_per_minute, k.requests_per_minute, k.burst);
        if limits.made_from != wanted {
            limits.tokens = k.tokens_per_minute.map(|l| Bucket::new(l, k.burst));
            limits.requests = k.requests_per_minute.map(|l| Bucket::new(l, k.burst));
            limits.made_from = wanted;
        }
        let now = Instant::now();
        let mut wait = Duration::ZERO;
        if let Some(b) = limits.tokens.as_mut() {
            b.refill(now);
            wait = wait.max(b.wait_for(tokens as f64));
        }
        if let Some(b) = limits.requests.as_mut() {
            b.refill(now);
            wait = wait.max(b.wait_for(1.0));
        }
        if wait.is_zero() {
            if let Some(b) = limits.tokens.as_mut() {
                b.level -= tokens as f64;
            }
            if let Some(b) = limits.requests.as_mut() {
                b.level -= 1.0;
            }
        }
        if let Some(b) = &limits.tokens {
            b.headers("tokens", &mut rl_headers);
        }
        if let Some(b) = &limits.requests {
            b.headers("requests", &mut rl_headers);
        }
        if !wait.is_zero() {
            drop(limits);
            let mut r = error_response(
                429,
                &format!(
                    "Rate limit reached for {model} on tokens per min (TPM): Limit {}, Requested {tokens}. Please try again in {}.",
                    k.tokens_per_minute.unwrap_or(0),
                    go_duration(wait)
                ),
                "tokens",
                Some("rate_limit_exceeded"),
            );
            r.headers_mut().extend(rl_headers);
            let ms = wait.as_millis() as u64 + 1;
            if matches!(k.hint, RetryHint::Ms | RetryHint::Both) {
                insert(r.headers_mut(), "retry-after-ms", ms);
            }
            if matches!(k.hint, RetryHint::Secs | RetryHint::Both) {
                insert(r.headers_mut(), "retry-after", ms.div_ceil(1000));
            }
            return r;
        }
    }

    if let Some(d) = hang {
        tokio::time::sleep(d).await;
    }
    if !k.latency.is_zero() {
        tokio::time::sleep(k.latency).await;
    }

    let dims = match k.ignore_dimensions {
        true => k.dims,
        false => dimensions.unwrap_or(k.dims),
    };
    let base64 = encoding_format == Some("base64") && !k.floats_only;
    let mut items: Vec<serde_json::Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let mut v = MockOpenAi::vector(text, dims);
            if damage == Some(Fault::WrongDims) {
                v.push(0.5);
            }
            if damage == Some(Fault::Nan) && i == 0 {
                v[0] = f32::NAN;
            }
            let embedding = if base64 {
                serde_json::Value::String(encode_base64(&v))
            } else {
                serde_json::json!(v)
            };
            serde_json::json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    if damage == Some(Fault::WrongCount) {
        items.pop();
    }
    if damage == Some(Fault::MissingIndex) {
        if let Some(obj) = items[0].as_object_mut() {
            obj.remove("index");
        }
    }
    if k.shuffle {
        let served = inner.served.fetch_add(1, Ordering::Relaxed) as u64;
        items.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(served));
    }
    let mut body = serde_json::json!({"object": "list", "data": items, "model": model});
    if k.report_usage {
        body["usage"] = serde_json::json!({"prompt_tokens": tokens, "total_tokens": tokens});
    }
    let mut text = serde_json::to_string(&body).unwrap_or_default();
    if damage == Some(Fault::Nan) && !base64 {
        text = text.replacen("null", "NaN", 1); // serde_json writes NaN as null
    }
    match damage {
        Some(Fault::Truncated) => text.truncate(text.len() / 2),
        Some(Fault::Malformed) => text = "<html><body>upstream error</body></html>".into(),
        _ => {}
    }
    let mut r = (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        text,
    )
        .into_response();
    r.headers_mut().extend(rl_headers);
    r
}
