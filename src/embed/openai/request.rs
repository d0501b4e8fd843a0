//! Sending one `embed` call: packing texts into requests, bisecting requests whose input
//! the server refuses, retrying with backoff, and classifying each HTTP answer.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use rand::Rng;
use reqwest::header::HeaderMap;

use super::limiter::{self, ServerView, Ticket};
use super::{wire, OpenAiEmbedder};
use crate::embed::{EmbedError, InputResult};
use crate::redact::redact;

/// Longest server-requested wait we honour for one retry.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

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
    /// Worth another try: `cause` is what the call fails with once retries run out
    /// ([`EmbedError::RateLimited`], `Unavailable`, `Malformed` or `Dimensions`).
    Retry {
        cause: EmbedError,
        wait: Option<Duration>,
        /// No connection could be made (wrong host or port, server down).
        unreachable: bool,
    },
    /// The server blames the input (400/413/422): bisect.
    Refused(String),
    /// A setup mistake: stops the run.
    Fatal(String),
    /// The server refuses `encoding_format: base64`.
    WantsFloats,
    /// The server takes at most this many inputs per request (fewer than were sent).
    TooManyInputs(usize),
}

/// How a request ended after its retries.
enum Sent {
    Vectors(Vec<Vec<f32>>),
    Refused(String),
    /// Resend in requests of at most this many inputs.
    Split(usize),
}

impl OpenAiEmbedder {
    /// [`crate::embed::Embedder::embed`]: one result per text, in order.
    pub(super) async fn embed_all(&self, texts: &[String]) -> Result<Vec<InputResult>, EmbedError> {
        if let Some(m) = self.fatal.get() {
            return Err(EmbedError::Setup(m.clone()));
        }
        let prepare = || {
            let mut results: Vec<Option<InputResult>> = (0..texts.len()).map(|_| None).collect();
            let mut items = Vec::with_capacity(texts.len());
            for (index, text) in texts.iter().enumerate() {
                if text.is_empty() {
                    results[index] = Some(Err(EmbedError::Empty { index }));
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
            .map(|r| {
                r.unwrap_or_else(|| Err(EmbedError::Malformed("no answer for this input".into())))
            })
            .collect())
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
                && (current.len() >= self.max_inputs.load(Ordering::Relaxed)
                    || tokens + item.tokens > self.max_tokens)
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
                .map(ToString::to_string)
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
                Sent::Split(cap) => {
                    let parts = futures::future::try_join_all(
                        job.chunks(cap).map(|part| self.run(part, refusals, budget)),
                    )
                    .await?;
                    Ok(parts.into_iter().flatten().collect())
                }
                Sent::Refused(reason) if job.len() == 1 => Ok(vec![Err(EmbedError::Rejected {
                    index: job[0].index,
                    reason,
                })]),
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
        let message = redact(&message);
        let _ = self.fatal.set(message.clone());
        EmbedError::Setup(self.fatal.get().cloned().unwrap_or(message))
    }

    /// Sends one request, with retries.
    async fn send(&self, job: &[Item<'_>]) -> Result<Sent, EmbedError> {
        let tokens: usize = job.iter().map(|i| i.tokens).sum();
        let mut retry = 0u32;
        let mut float_switches = 0;
        loop {
            if let Some(m) = self.fatal.get() {
                return Err(EmbedError::Setup(m.clone()));
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
                    .map_err(|_| EmbedError::Setup("embedder closed".into()))?;
                if let Some(m) = self.fatal.get() {
                    return Err(EmbedError::Setup(m.clone()));
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
                Attempt::Refused(m) => return Ok(Sent::Refused(redact(&m))),
                Attempt::TooManyInputs(cap) => {
                    // Learned once for the run: later requests are packed to fit, instead
                    // of each batch being refused and bisected again (2n-1 requests for n
                    // inputs at a cap of one).
                    if self.max_inputs.fetch_min(cap, Ordering::Relaxed) > cap {
                        tracing::info!(
                            "the API takes at most {cap} inputs per request; sending at most {cap} from now on (set embedder.max_inputs_per_request = {cap})"
                        );
                    }
                    return Ok(Sent::Split(cap));
                }
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
                    cause,
                    wait,
                    unreachable,
                } => {
                    let rate_limited = matches!(cause, EmbedError::RateLimited { .. });
                    let reason = redact(&cause.to_string());
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
                        return Err(gave_up(cause, retry + 1));
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
                Err(EmbedError::Malformed(reason)) => Attempt::Retry {
                    cause: EmbedError::Malformed(format!(
                        "{status} with an unusable body: {reason}"
                    )),
                    wait: None,
                    unreachable: false,
                },
                // A server that ignores `dimensions` answers every batch the same way:
                // no vector could ever be written, so stop the run at once.
                Err(EmbedError::Dimensions { expected, got }) => Attempt::Fatal(format!(
                    "embedder.dimensions: {} returned {got}-dimension vectors for model {:?} but {expected} {}; set embedder.dimensions = {got} (with a vector({got}) column), or use a model that supports `dimensions`",
                    self.display_url,
                    self.model,
                    match self.send_dimensions {
                        Some(_) => "were asked for (it ignores `dimensions`)",
                        None => "were expected",
                    }
                )),
                Err(cause) => Attempt::Retry {
                    cause,
                    wait: None,
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
        let cap = input_cap(&lower).filter(|&cap| cap < job.len());
        if let (400 | 413 | 422, Some(cap)) = (status.as_u16(), cap) {
            return Attempt::TooManyInputs(cap);
        }
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
                let wait = retry_after(&headers);
                Attempt::Retry {
                    cause: EmbedError::RateLimited {
                        retry_after: wait,
                        message: format!("{status}: {message}"),
                    },
                    wait,
                    unreachable: false,
                }
            }
            408 | 500..=599 => Attempt::Retry {
                cause: EmbedError::Unavailable(format!("{status}: {message}")),
                wait: retry_after(&headers),
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
            cause: EmbedError::Unavailable(reason),
            wait: None,
            unreachable: e.is_connect(),
        }
    }
}

/// The most inputs per request a refusal states, in its lowercased message: Azure's "the
/// max number of inputs is 16", or "at most 2048 inputs" (a vecsync server).
fn input_cap(message: &str) -> Option<usize> {
    let number_after = |marker: &str| {
        let rest = &message[message.find(marker)? + marker.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<usize>().ok().filter(|&n| n > 0)
    };
    number_after("max number of inputs is ").or_else(|| {
        let n = number_after("at most ")?;
        message
            .contains(&format!("at most {n} inputs"))
            .then_some(n)
    })
}

/// Connection attempts to a server that never answered before the run stops.
const UNREACHABLE_RETRIES: u32 = 2;

/// The error a request fails with after `attempts` attempts ended with `cause` (the
/// provider's text cleaned of secrets).
fn gave_up(cause: EmbedError, attempts: u32) -> EmbedError {
    let text = |m: String| format!("{} (gave up after {attempts} attempts)", redact(&m));
    match cause {
        EmbedError::RateLimited {
            retry_after,
            message,
        } => EmbedError::RateLimited {
            retry_after,
            message: text(message),
        },
        EmbedError::Unavailable(m) => EmbedError::Unavailable(text(m)),
        EmbedError::Malformed(m) => EmbedError::Malformed(text(m)),
        other => other,
    }
}

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

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;
    use crate::config::EmbedderConfig;

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
    fn input_caps_from_refusals() {
        let azure = "too many inputs. the max number of inputs is 16.  we hope to increase the number of inputs per request soon.";
        assert_eq!(input_cap(azure), Some(16));
        assert_eq!(
            input_cap("'input' has 3000 items; at most 2048 inputs per request"),
            Some(2048)
        );
        for other in [
            "invalid 'input': this text is not allowed",
            "at most 5 tokens",
            "the max number of inputs is 0",
        ] {
            assert_eq!(input_cap(other), None, "{other}");
        }
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
