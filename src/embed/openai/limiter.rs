//! The client-side rate limiter shared by every request of one [`super::OpenAiEmbedder`].
//!
//! Two buckets, one for requests and one for tokens, each a GCRA ("theoretical arrival
//! time") bucket: FIFO, exact, no polling. A request reserves its cost in both and
//! sleeps until both allow it. Limits come from the configuration
//! (`requests_per_minute`, `tokens_per_minute`) and from the server's
//! `x-ratelimit-limit-*` headers (the lower one wins); the server's `remaining`/`reset`
//! headers pull our view of the bucket down when the server sees less budget than we do
//! (another client sharing the key, a different count of tokens). A 429 pauses everyone.
//!
//! We pace at [`SAFETY`] of the limit and allow a burst of [`BURST`] worth of the limit,
//! so that the server's own bucket stays a little above empty and jitter in arrival
//! times does not turn into 429s, even when the server enforces its per-minute limit
//! over one-second windows. A request bigger than the burst waits for a full bucket and
//! leaves a debt that later requests wait out, so the pace stays right.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Fraction of the limit we aim for.
pub const SAFETY: f64 = 0.97;
/// Burst allowance, as a duration of the (paced) rate. Half of the one-second window
/// servers commonly enforce per-minute limits over, so that requests delayed on the
/// way (connection setup, a busy client) and arriving bunched still fit.
pub const BURST: Duration = Duration::from_millis(500);

/// What the server told us about one bucket, from `x-ratelimit-*` headers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServerView {
    pub limit: Option<f64>,
    pub remaining: Option<f64>,
    pub reset: Option<Duration>,
}

#[derive(Debug)]
struct Bucket {
    /// Per minute, from the configuration.
    configured: Option<f64>,
    /// Per minute, from the server's headers.
    learned: Option<f64>,
    /// Theoretical arrival time: the bucket is full at or before it, and holds
    /// `capacity - (tat - now) * rate` at `now` otherwise.
    tat: Instant,
    /// Everything reserved so far (to know what was sent after a given request).
    reserved_total: f64,
}

impl Bucket {
    fn new(configured: Option<f64>, now: Instant) -> Bucket {
        Bucket {
            configured: configured.filter(|l| *l > 0.0),
            learned: None,
            tat: now,
            reserved_total: 0.0,
        }
    }

    /// The limit in force, per minute.
    fn limit(&self) -> Option<f64> {
        match (self.configured, self.learned) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Paced rate per second.
    fn rate(&self) -> Option<f64> {
        self.limit().map(|l| l * SAFETY / 60.0)
    }

    /// Earliest instant at which `cost` may be sent.
    fn allowed_at(&self, cost: f64, now: Instant) -> Instant {
        let Some(rate) = self.rate() else { return now };
        let capacity = rate * BURST.as_secs_f64();
        // A request bigger than the burst waits for a full bucket and leaves a debt.
        let need = cost.min(capacity);
        let slack = Duration::from_secs_f64(((capacity - need) / rate).max(0.0));
        self.tat.checked_sub(slack).unwrap_or(now).max(now)
    }

    fn reserve(&mut self, cost: f64, at: Instant) {
        self.reserved_total += cost;
        if let Some(rate) = self.rate() {
            self.tat = self.tat.max(at) + Duration::from_secs_f64(cost / rate);
        }
    }

    /// Our own view of what is left now.
    fn level(&self, now: Instant) -> Option<f64> {
        let rate = self.rate()?;
        let capacity = rate * BURST.as_secs_f64();
        let owed = self.tat.saturating_duration_since(now).as_secs_f64() * rate;
        Some(capacity - owed)
    }

    /// Lowers our level to `level` if it is above it.
    fn lower_to(&mut self, level: f64, now: Instant) {
        let (Some(rate), Some(ours)) = (self.rate(), self.level(now)) else {
            return;
        };
        if level < ours {
            let capacity = rate * BURST.as_secs_f64();
            let secs = ((capacity - level) / rate).clamp(0.0, 600.0);
            self.tat = now + Duration::from_secs_f64(secs);
        }
    }

    /// Takes the server's view into account for a request sent at `sent_at`, right after
    /// which `reserved_after` had been reserved in total.
    fn sync(&mut self, view: ServerView, sent_at: Instant, reserved_after: f64, now: Instant) {
        if let Some(l) = view.limit.filter(|l| l.is_finite() && *l > 0.0) {
            self.learned = Some(l);
        }
        let (Some(limit), Some(remaining)) = (self.limit(), view.remaining) else {
            return;
        };
        let true_rate = limit / 60.0;
        // The server charged this request somewhere between `sent_at` and now, and has
        // been refilling since; whatever was sent after it will be charged too.
        let mut level = remaining + true_rate * now.duration_since(sent_at).as_secs_f64();
        if let Some(reset) = view.reset {
            // `reset` is when the server's bucket is full again: its capacity is what is
            // left plus what refills until then.
            level = level.min(remaining + true_rate * reset.as_secs_f64());
        }
        level -= (self.reserved_total - reserved_after).max(0.0);
        self.lower_to(level, now);
    }

    /// Nothing may be sent before `until`, and the bucket is empty then.
    fn pause_until(&mut self, until: Instant) {
        if self.rate().is_some() {
            self.tat = self.tat.max(until + BURST);
        }
    }

    /// The server charged `actual` for something we reserved as `reserved`.
    fn reconcile(&mut self, reserved: f64, actual: f64) {
        let Some(rate) = self.rate() else { return };
        let diff = actual - reserved;
        self.reserved_total += diff;
        if diff > 0.0 {
            self.tat += Duration::from_secs_f64(diff / rate);
        } else if diff < 0.0 {
            let back = Duration::from_secs_f64(-diff / rate);
            self.tat = self.tat.checked_sub(back).unwrap_or(self.tat);
        }
    }
}

#[derive(Debug)]
struct State {
    requests: Bucket,
    tokens: Bucket,
    paused_until: Instant,
    /// The server's tokens per our token (EWMA of `usage.prompt_tokens / our count`).
    ratio: f64,
}

/// A reservation: when it may go, and what it needs to be reconciled with the response.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    pub at: Instant,
    pub tokens: f64,
    requests_after: f64,
    tokens_after: f64,
}

#[derive(Debug)]
pub struct Limiter {
    state: Mutex<State>,
}

impl Limiter {
    pub fn new(requests_per_minute: Option<f64>, tokens_per_minute: Option<f64>) -> Limiter {
        let now = Instant::now();
        Limiter {
            state: Mutex::new(State {
                requests: Bucket::new(requests_per_minute, now),
                tokens: Bucket::new(tokens_per_minute, now),
                paused_until: now,
                ratio: 1.0,
            }),
        }
    }

    /// Reserves one request of `tokens` (our count). Sleep until `ticket.at`, then send.
    pub fn reserve(&self, tokens: usize) -> Ticket {
        let now = Instant::now();
        let mut s = self.state.lock().unwrap();
        let cost = tokens as f64 * s.ratio;
        let at = s
            .requests
            .allowed_at(1.0, now)
            .max(s.tokens.allowed_at(cost, now))
            .max(s.paused_until);
        s.requests.reserve(1.0, at);
        s.tokens.reserve(cost, at);
        Ticket {
            at,
            tokens: cost,
            requests_after: s.requests.reserved_total,
            tokens_after: s.tokens.reserved_total,
        }
    }

    /// Reserves and sleeps until the request may go.
    pub async fn acquire(&self, tokens: usize) -> Ticket {
        let ticket = self.reserve(tokens);
        tokio::time::sleep_until(ticket.at.into()).await;
        ticket
    }

    /// The server's answer to a request sent with `ticket` (any status).
    pub fn observe(&self, ticket: &Ticket, requests: ServerView, tokens: ServerView) {
        let now = Instant::now();
        let mut s = self.state.lock().unwrap();
        s.requests
            .sync(requests, ticket.at, ticket.requests_after, now);
        s.tokens.sync(tokens, ticket.at, ticket.tokens_after, now);
    }

    /// The server charged `actual` tokens (`usage.prompt_tokens`) for a request we
    /// counted as `ours` tokens and reserved with `ticket`.
    pub fn charged(&self, ticket: &Ticket, ours: usize, actual: u64) {
        let mut s = self.state.lock().unwrap();
        s.tokens.reconcile(ticket.tokens, actual as f64);
        if ours > 0 && actual > 0 {
            let r = (actual as f64 / ours as f64).clamp(0.25, 4.0);
            s.ratio = 0.8 * s.ratio + 0.2 * r;
        }
    }

    /// A 429: nobody sends before `wait` has passed.
    pub fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut s = self.state.lock().unwrap();
        s.paused_until = s.paused_until.max(until);
        s.requests.pause_until(until);
        s.tokens.pause_until(until);
    }

    /// Limits in force (per minute), for logs and tests.
    pub fn limits(&self) -> (Option<f64>, Option<f64>) {
        let s = self.state.lock().unwrap();
        (s.requests.limit(), s.tokens.limit())
    }
}

/// Parses `x-ratelimit-reset-*` values: Go-style durations ("6m0s", "1s", "12ms",
/// "1h2m3.5s", "250us") or a bare number of seconds ("0.5").
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = 0.0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    (total.is_finite() && total >= 0.0).then(|| Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(parse_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_duration("12ms"), Some(Duration::from_millis(12)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_duration("0.25"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("20"), Some(Duration::from_secs(20)));
        assert_eq!(parse_duration("abc"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn paces_at_the_limit() {
        // 6000 tokens a minute = ~97/s paced: 10 requests of 97 tokens span ~9 s after
        // the burst of one second's worth.
        let l = Limiter::new(None, Some(6000.0));
        let start = Instant::now();
        let mut last = start;
        for _ in 0..10 {
            last = l.reserve(97).at;
        }
        let span = last.duration_since(start).as_secs_f64();
        assert!((7.5..9.5).contains(&span), "{span}");
    }

    #[test]
    fn big_requests_leave_a_debt() {
        let l = Limiter::new(None, Some(60.0 / SAFETY)); // 1 token/s paced
        let a = l.reserve(10).at;
        let b = l.reserve(1).at;
        let gap = b.duration_since(a).as_secs_f64();
        assert!((9.5..10.5).contains(&gap), "{gap}");
    }

    #[test]
    fn no_limit_means_no_wait() {
        let l = Limiter::new(None, None);
        let now = Instant::now();
        for _ in 0..100 {
            assert!(l.reserve(1_000_000).at <= now + Duration::from_millis(50));
        }
    }

    #[test]
    fn learns_limits_and_pauses() {
        let l = Limiter::new(Some(1000.0), None);
        let t = l.reserve(10);
        l.observe(
            &t,
            ServerView {
                limit: Some(500.0),
                remaining: Some(499.0),
                reset: Some(Duration::from_millis(120)),
            },
            ServerView {
                limit: Some(60_000.0),
                remaining: Some(59_000.0),
                reset: None,
            },
        );
        assert_eq!(l.limits(), (Some(500.0), Some(60_000.0)));
        l.pause(Duration::from_millis(300));
        let t = l.reserve(1);
        assert!(t.at >= Instant::now() + Duration::from_millis(250));
    }

    #[test]
    fn server_view_lowers_ours() {
        // The server says it has nothing left: the next request waits for a refill.
        let l = Limiter::new(None, Some(60_000.0 / SAFETY)); // 1000 tokens/s paced
        let t = l.reserve(100);
        l.observe(
            &t,
            ServerView::default(),
            ServerView {
                limit: None,
                remaining: Some(0.0),
                reset: Some(Duration::from_secs(1)),
            },
        );
        let next = l.reserve(500);
        let wait = next
            .at
            .saturating_duration_since(Instant::now())
            .as_secs_f64();
        assert!(wait > 0.3, "{wait}");
    }
}
