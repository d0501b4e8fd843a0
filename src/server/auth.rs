//! Who may use which route, the browser login, and per-address rate limits.
//!
//! Every route but `/healthz`, `/readyz` and `/login` (always open) belongs to one
//! [`Access`] class, checked by [`guard`] before the handler:
//!
//! | class | routes | loopback bind | public bind (`require_auth`) |
//! |---|---|---|---|
//! | `Read` | `/`, `/api/status`, `/api/search`, `/v1/models` | open | secret or session |
//! | `Metrics` | `/metrics` | open, or `METRICS_TOKEN` if set | secret, `METRICS_TOKEN` or session |
//! | `Work` | the cron route, `/v1/embeddings` | secret if `CRON_SECRET` is set | secret |
//!
//! "Secret" is `Authorization: Bearer $CRON_SECRET`. A browser cannot send that header
//! from a page load, so `/login` takes the secret once in a form and answers with a
//! session cookie (`HttpOnly`, `SameSite=Strict`) that holds an expiry and an
//! HMAC-SHA256 of it keyed by the secret, never the secret itself. On a public bind,
//! `/api/search` is rate-limited per client address ([`limit_search`]), and so are
//! failed credentials ([`guard`]). On a loopback bind, requests a web page could send
//! (another `Host`, another site's `Origin`) are refused ([`same_host_only`]).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::error::ApiError;
use super::AppState;

/// The login form (self-contained, like the status page).
const LOGIN_PAGE: &str = include_str!("login.html");

/// Name of the session cookie.
const SESSION_COOKIE: &str = "vecsync_session";

/// How long a browser session lasts.
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// Failed credentials tolerated per client address: a burst, then one a minute.
const AUTH_FAILURES_BURST: u32 = 10;
const AUTH_FAILURES_PER_MINUTE: u32 = 1;

/// What a route requires; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Read,
    Metrics,
    Work,
}

/// True when a server listening on `addrs` must ask for credentials on every route but
/// the health checks: any address that is not loopback is reachable by others.
pub fn requires_auth(addrs: &[SocketAddr]) -> bool {
    addrs.iter().any(|a| !a.ip().is_loopback())
}

/// A secret compared in constant time.
pub(super) struct Secret(Vec<u8>);

impl Secret {
    pub(super) fn new(value: &str) -> Option<Secret> {
        let value = value.trim();
        (!value.is_empty()).then(|| Secret(value.as_bytes().to_vec()))
    }

    pub(super) fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Compares HMAC tags rather than the bytes, so neither the content nor the length of
    /// the secret shows in the time taken.
    fn matches(&self, given: &[u8]) -> bool {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"vecsync secret comparison");
        let tag = ring::hmac::sign(&key, &self.0);
        ring::hmac::verify(&key, given, tag.as_ref()).is_ok()
    }

    /// A session cookie value valid until `expires` (seconds since the Unix epoch):
    /// `EXPIRES.HEX(HMAC-SHA256(secret, "vecsync session EXPIRES"))`.
    fn session(&self, expires: u64) -> String {
        format!(
            "{expires}.{}",
            hex::encode(self.session_tag(expires).as_ref())
        )
    }

    fn session_tag(&self, expires: u64) -> ring::hmac::Tag {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0);
        ring::hmac::sign(&key, format!("vecsync session {expires}").as_bytes())
    }

    /// True if `value` is a session this secret issued that has not expired at `now`.
    fn accepts_session(&self, value: &str, now: u64) -> bool {
        let Some((expires, tag)) = value.split_once('.') else {
            return false;
        };
        let (Ok(expires), Ok(tag)) = (expires.parse::<u64>(), hex::decode(tag)) else {
            return false;
        };
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0);
        expires > now
            && ring::hmac::verify(&key, format!("vecsync session {expires}").as_bytes(), &tag)
                .is_ok()
    }
}

/// The bearer token of a request, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The session cookie of a request, if any.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The client's address (all requests share one when the router is served without
/// `ConnectInfo`, as by `axum::serve(listener, router)`).
fn client_ip(extensions: &axum::http::Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

impl AppState {
    /// True if the request carries what `access` asks for on this server.
    fn allows(&self, access: Access, headers: &HeaderMap) -> bool {
        let auth = &self.inner.auth;
        let token = bearer(headers).map(str::as_bytes);
        let secret_ok = |s: &Option<Secret>| {
            s.as_ref()
                .is_some_and(|s| token.is_some_and(|t| s.matches(t)))
        };
        let session_ok = || {
            let now = unix_now();
            auth.secret
                .as_ref()
                .is_some_and(|s| session_cookie(headers).is_some_and(|c| s.accepts_session(c, now)))
        };
        match access {
            Access::Read => !auth.required || secret_ok(&auth.secret) || session_ok(),
            Access::Metrics => {
                (!auth.required && auth.metrics_token.is_none())
                    || secret_ok(&auth.secret)
                    || secret_ok(&auth.metrics_token)
                    || session_ok()
            }
            Access::Work => auth.secret.is_none() || secret_ok(&auth.secret),
        }
    }
}

/// What the server checks, besides the routes' own parameters.
pub(super) struct AuthState {
    /// Every route but the open ones needs credentials (a non-loopback bind).
    pub(super) required: bool,
    /// `CRON_SECRET`.
    pub(super) secret: Option<Secret>,
    /// `METRICS_TOKEN`: also accepted on `/metrics`.
    pub(super) metrics_token: Option<Secret>,
    /// `/api/search` per client address (only when `required`).
    pub(super) search: RateLimiter,
    /// Failed credentials per client address (only when `required`).
    pub(super) failures: RateLimiter,
}

impl AuthState {
    pub(super) fn new(
        required: bool,
        secret: Option<Secret>,
        metrics_token: Option<Secret>,
        search_per_minute: u32,
        search_burst: u32,
    ) -> AuthState {
        AuthState {
            required,
            secret,
            metrics_token,
            search: RateLimiter::new(search_per_minute, search_burst),
            failures: RateLimiter::new(AUTH_FAILURES_PER_MINUTE, AUTH_FAILURES_BURST),
        }
    }
}

/// The middleware in front of every route of class `access`. On a public bind, a client
/// address whose failed credentials ran out is refused (429) before its credentials are
/// even looked at, so a secret cannot be guessed at speed.
pub(super) async fn guard(
    State((state, access)): State<(AppState, Access)>,
    request: Request,
    next: Next,
) -> Response {
    let auth = &state.inner.auth;
    let (ip, now) = (client_ip(request.extensions()), Instant::now());
    if auth.required {
        if let Err(wait) = auth.failures.check(ip, now) {
            return ApiError::too_many_requests(wait).into_response();
        }
    }
    if !state.allows(access, request.headers()) {
        state.metrics().unauthorized.increment(1);
        if auth.required {
            let _ = auth.failures.take(ip, now);
        }
        return unauthorized(access, request.uri().path(), auth.required);
    }
    next.run(request).await
}

/// The middleware in front of every route on a loopback bind (`!required`, where the
/// routes are open or need only `CRON_SECRET`): refuses (403) what a web page the user
/// visits could send. A `Host` other than localhost or a loopback address (127.0.0.1,
/// [::1]…, any port) is a
/// DNS-rebinding name; an `Origin` of another host, or `Sec-Fetch-Site` saying the request
/// comes from another site, is a cross-site request (a GET of the cron route from an
/// `<img>`). Requests without those headers (curl, cron schedulers) pass. Behind a
/// reverse proxy, have it send `Host: 127.0.0.1` (nginx's default), or bind a
/// non-loopback address with `CRON_SECRET`, where every route needs the secret.
pub(super) async fn same_host_only(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if state.inner.auth.required || from_this_host(request.headers()) {
        return next.run(request).await;
    }
    state.metrics().unauthorized.increment(1);
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden: on a loopback bind, vecsync serve only answers requests to localhost or a loopback address from no other site; behind a proxy, send Host: 127.0.0.1",
    )
    .into_response()
}

/// See [`same_host_only`].
fn from_this_host(headers: &HeaderMap) -> bool {
    let is_local = |host: &str| {
        // `host[:port]`, `[v6]:port`.
        let name = match host.rsplit_once(':') {
            Some((name, port)) if !port.contains(']') => name,
            _ => host,
        };
        // Any loopback address, so that a bind on 127.0.0.2 is reachable by its own name.
        let ip = name.trim_start_matches('[').trim_end_matches(']');
        name.eq_ignore_ascii_case("localhost")
            || ip.parse::<IpAddr>().is_ok_and(|a| a.is_loopback())
    };
    let value = |name: header::HeaderName| headers.get(name).map(|v| v.to_str().unwrap_or(""));
    let host_ok = value(header::HOST).is_none_or(is_local);
    let origin_ok = value(header::ORIGIN).is_none_or(|origin| {
        origin
            .split_once("://")
            .is_some_and(|(_, authority)| is_local(authority.trim_end_matches('/')))
    });
    let site_ok = headers
        .get("sec-fetch-site")
        .is_none_or(|v| v == "same-origin" || v == "none");
    host_ok && origin_ok && site_ok
}

/// The middleware in front of `/api/search`: on a public bind, each client address may
/// search `server.search_burst` times at once, then `server.search_per_minute` times a
/// minute (every search embeds the query, which may cost money).
pub(super) async fn limit_search(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let auth = &state.inner.auth;
    if auth.required {
        if let Err(wait) = auth
            .search
            .take(client_ip(request.extensions()), Instant::now())
        {
            return ApiError::too_many_requests(wait).into_response();
        }
    }
    next.run(request).await
}

/// The refusal, in the shape the route's clients expect: a browser loading the page is
/// sent to the login form; OpenAI clients get OpenAI's 401; others vecsync's.
fn unauthorized(access: Access, path: &str, login: bool) -> Response {
    if path == "/" && login {
        return Redirect::to("/login").into_response();
    }
    if path.starts_with("/v1/") {
        return ApiError::unauthorized(
            "Incorrect API key provided: this server expects its CRON_SECRET as the bearer token.",
        )
        .code("invalid_api_key")
        .openai()
        .into_response();
    }
    let how = match access {
        Access::Metrics => "send Authorization: Bearer <METRICS_TOKEN or CRON_SECRET>",
        _ if login => "send Authorization: Bearer <CRON_SECRET>, or log in at /login",
        _ => "send Authorization: Bearer <CRON_SECRET>",
    };
    ApiError::unauthorized(format!("unauthorized: {how}")).into_response()
}

/// `GET /login`: the form.
pub(super) async fn login_page() -> Response {
    login_form(StatusCode::OK, "")
}

/// `POST /login` (form field `secret`): a session cookie and back to the page, or the
/// form again. Failed attempts count against the client's address like any other.
pub(super) async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = &state.inner.auth;
    let now = Instant::now();
    if let Err(wait) = auth.failures.check(ip, now) {
        return ApiError::too_many_requests(wait).into_response();
    }
    let given = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "secret")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let Some(secret) = auth.secret.as_ref().filter(|s| s.matches(given.as_bytes())) else {
        state.metrics().unauthorized.increment(1);
        let _ = auth.failures.take(ip, now);
        return login_form(StatusCode::UNAUTHORIZED, "That is not the server's secret.");
    };
    let expires = unix_now() + SESSION_LIFETIME.as_secs();
    // Behind a TLS proxy the cookie is only ever sent over TLS.
    let https = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}",
        secret.session(expires),
        SESSION_LIFETIME.as_secs(),
        if https { "; Secure" } else { "" }
    );
    let mut r = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn login_form(status: StatusCode, problem: &str) -> Response {
    let mut r = (status, Html(LOGIN_PAGE.replace("{problem}", problem))).into_response();
    super::page_headers(&mut r);
    r
}

/// The client's address as an extractor that never fails (see [`client_ip`]).
pub(super) struct ClientIp(IpAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(&parts.extensions)))
    }
}

/// A token bucket per client address: `burst` requests at once, then `per_minute`.
pub(super) struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets kept before full ones (clients gone quiet) are forgotten.
const MAX_BUCKETS: usize = 10_000;

impl RateLimiter {
    pub(super) fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_minute.max(1)) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `ip` at `now`, or says how long until one is available.
    pub(super) fn take(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        self.with_bucket(ip, now, |b| {
            if b.tokens >= 1.0 {
                b.tokens -= 1.0;
                true
            } else {
                false
            }
        })
    }

    /// Like [`RateLimiter::take`] without taking.
    pub(super) fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        self.with_bucket(ip, now, |b| b.tokens >= 1.0)
    }

    fn with_bucket(
        &self,
        ip: IpAddr,
        now: Instant,
        f: impl FnOnce(&mut Bucket) -> bool,
    ) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let b = buckets.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_second).min(self.burst);
        b.at = now;
        if f(b) {
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn public_binds_require_auth() {
        assert!(!requires_auth(&[addr("127.0.0.1:8080")]));
        assert!(!requires_auth(&[
            addr("127.0.0.2:8080"),
            addr("[::1]:8080")
        ]));
        assert!(requires_auth(&[addr("0.0.0.0:8080")]));
        assert!(requires_auth(&[addr("[::]:8080")]));
        assert!(requires_auth(&[addr("192.168.1.20:8080")]));
        assert!(requires_auth(&[
            addr("127.0.0.1:8080"),
            addr("10.0.0.1:8080")
        ]));
    }

    #[test]
    fn secret_comparison() {
        let s = Secret::new("s3cret-value").unwrap();
        assert!(s.matches(b"s3cret-value"));
        assert!(!s.matches(b"s3cret-valuf"));
        assert!(!s.matches(b"s3cret"));
        assert!(!s.matches(b""));
        assert!(Secret::new("  ").is_none());
    }

    #[test]
    fn sessions_are_signed_expiring_and_never_the_secret() {
        let s = Secret::new("cron-s3cret").unwrap();
        let now = 1_700_000_000;
        let session = s.session(now + 60);
        assert!(!session.contains("cron-s3cret"));
        assert!(s.accepts_session(&session, now));
        assert!(!s.accepts_session(&session, now + 60), "expired");
        assert!(!Secret::new("other-secret")
            .unwrap()
            .accepts_session(&session, now));
        let (_, tag) = session.split_once('.').unwrap();
        assert!(
            !s.accepts_session(&format!("{}.{tag}", now + 3600), now),
            "a later expiry with the old tag"
        );
        for bad in ["", ".", "x.y", "123", "123.zz"] {
            assert!(!s.accepts_session(bad, now), "{bad:?}");
        }
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; vecsync_session=123.abc; b=2"),
        );
        assert_eq!(session_cookie(&h), Some("123.abc"));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("vecsync_sessionx=1"),
        );
        assert_eq!(session_cookie(&h), None);
    }

    #[test]
    fn token_buckets_per_address() {
        let limiter = RateLimiter::new(60, 3);
        let (a, b) = (
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        );
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take(a, t0).is_ok());
        }
        let wait = limiter.take(a, t0).unwrap_err();
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(limiter.check(a, t0).is_err());
        assert!(
            limiter.take(b, t0).is_ok(),
            "another address has its own bucket"
        );
        assert!(
            limiter.take(a, t0 + Duration::from_secs(1)).is_ok(),
            "refilled"
        );
        assert!(limiter.take(a, t0 + Duration::from_secs(1)).is_err());
    }
}
