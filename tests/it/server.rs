//! `vecsync serve` over real HTTP on 127.0.0.1: the cron route (exact limit, bearer
//! secret), status (equal to `vecsync status --json`), search, metrics, health checks,
//! `/v1/embeddings` (the official `openai` Python client, error shapes, one vecsync
//! embedding through another), and secrets kept out of every output. SQLite and
//! PostgreSQL stores; the fake embedder except where the real local model is the point.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use async_trait::async_trait;
use common::{config_dir, TestDb};
use serde_json::{json, Value};
use vecsync::config::Config;
use vecsync::embed::fake::FakeEmbedder;
use vecsync::embed::{EmbedError, Embedder, InputResult, Usage};
use vecsync::server::{router, AppState, ServerOptions};
use vecsync::store::{self, ClaimedRow, Completion, Failure, RowId, SearchHit, Status, Store};

const BIN: &str = env!("CARGO_BIN_EXE_vecsync");
const CRON_SECRET: &str = "cron-s3cret-7f3a9c";

/// A server bound on 127.0.0.1:0, stopped when dropped.
struct Server {
    base: String,
    state: AppState,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.shutdown_token().cancel();
    }
}

async fn start(state: AppState) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = state.shutdown_token();
    let app = router(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .unwrap();
    });
    Server {
        base: format!("http://{addr}"),
        state,
    }
}

async fn open_state(config: Config, cron_secret: Option<&str>) -> AppState {
    AppState::open(
        config,
        ServerOptions {
            cron_secret: cron_secret.map(str::to_string),
            ..ServerOptions::default()
        },
    )
    .await
    .expect("open the server state")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .no_proxy()
        .build()
        .unwrap()
}

async fn get(server: &Server, path: &str) -> (u16, String) {
    let r = client()
        .get(format!("{}{path}", server.base))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn get_json(server: &Server, path: &str) -> (u16, Value) {
    let (status, body) = get(server, path).await;
    let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
    (status, v)
}

async fn cron(server: &Server, query: &str, bearer: Option<&str>) -> (u16, Value) {
    let mut req = client().post(format!(
        "{}/api/process-embedding-queue{query}",
        server.base
    ));
    if let Some(b) = bearer {
        req = req.header("Authorization", b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

async fn embeddings(server: &Server, body: Value) -> (u16, Value) {
    let r = client()
        .post(format!("{}/v1/embeddings", server.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

const EMBEDDED: &str = "SELECT count(*) FROM jobs WHERE embedding IS NOT NULL";

/// The text the demo template renders for a posting.
fn rendered(p: &vecsync::demo::JobPosting) -> String {
    format!(
        "{} at {}\n{}\n\n{}",
        p.title, p.company, p.location, p.description
    )
}

/// Runs the binary with a deadline (a server that should have refused to start must not
/// hang the test).
fn run_with_deadline(mut cmd: Command, deadline: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vecsync");
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "vecsync did not exit within {deadline:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn vecsync_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env("VECSYNC_MODEL_DIR", common::model_dir())
        .env_remove("DATABASE_URL")
        .env_remove("CRON_SECRET");
    cmd
}

/// `vecsync status --json` for `config`.
async fn cli_status(config: &Config) -> Value {
    let dir = config_dir(config);
    let cmd = vecsync_cmd(dir.path(), &["status", "--json"]);
    let out = tokio::task::spawn_blocking(move || run_with_deadline(cmd, Duration::from_secs(120)))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "status --json: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `/api/status` holds every key of `vecsync status --json` with the same value, and
/// nothing else but the `embedder` and `worker` additions.
fn assert_same_status(server: &Value, cli: &Value) {
    let (s, c) = (server.as_object().unwrap(), cli.as_object().unwrap());
    // SQLite audits on every status: its `last_audit` is the time of each call.
    for (key, value) in c.iter().filter(|(k, _)| *k != "last_audit") {
        assert_eq!(
            s.get(key),
            Some(value),
            "/api/status[{key}] differs from the CLI's"
        );
    }
    for key in s.keys() {
        assert!(
            c.contains_key(key) || key == "embedder" || key == "worker",
            "unexpected key {key}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The cron route
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_route_processes_exactly_limit_rows_and_reports_remaining() {
    let db = common::sqlite_db(120).await;
    let server = start(open_state(db.config(), None).await).await;

    // Claims of 25 rows, two batches in flight: still exactly 30 rows.
    let (status, body) = cron(&server, "?limit=30", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["processed"], 30, "{body}");
    assert_eq!(body["failed"], 0, "{body}");
    assert_eq!(body["remaining"], 90, "{body}");
    assert!(body["duration_ms"].is_u64(), "{body}");
    assert_eq!(db.scalar(EMBEDDED).await, 30);

    // The original route's default: 50 rows.
    let (status, body) = cron(&server, "", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["processed"].as_u64(), body["remaining"].as_u64()),
        (Some(50), Some(40))
    );

    let (_, body) = cron(&server, "?limit=1000", None).await;
    assert_eq!(
        (body["processed"].as_u64(), body["remaining"].as_u64()),
        (Some(40), Some(0))
    );
    assert_eq!(db.scalar(EMBEDDED).await, 120);

    let (_, body) = cron(&server, "?limit=10", None).await;
    assert_eq!(
        (body["processed"].as_u64(), body["remaining"].as_u64()),
        (Some(0), Some(0))
    );

    for bad in ["?limit=0", "?limit=abc", "?limit=-5"] {
        let (status, body) = cron(&server, bad, None).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"].as_str().unwrap().contains("limit"), "{body}");
    }
    // GET works too (cron schedulers such as Vercel's send GET).
    let (status, body) = get_json(&server, "/api/process-embedding-queue").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["processed"], 0, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_route_requires_the_bearer_secret() {
    let db = common::sqlite_db(40).await;
    let server = start(open_state(db.config(), Some(CRON_SECRET)).await).await;
    let wrong = [
        None,
        Some("Bearer wrong".to_string()),
        Some(format!("Bearer {CRON_SECRET}x")),
        Some(format!("Bearer {}", &CRON_SECRET[..CRON_SECRET.len() - 1])),
        Some(format!("Basic {CRON_SECRET}")),
        Some(CRON_SECRET.to_string()),
        Some("Bearer ".to_string()),
    ];
    for bearer in &wrong {
        let (status, body) = cron(&server, "?limit=10", bearer.as_deref()).await;
        assert_eq!(status, 401, "{bearer:?}: {body}");
        assert!(!body.to_string().contains(CRON_SECRET));
    }
    assert_eq!(db.scalar(EMBEDDED).await, 0, "nothing was processed");
    assert_eq!(
        db.scalar("SELECT count(*) FROM vecsync_state").await,
        0,
        "nothing was processed"
    );

    // /v1/embeddings is protected by the same secret, with an OpenAI-shaped 401.
    let (status, body) = embeddings(&server, json!({"model": "fake", "input": "x"})).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_api_key", "{body}");

    // Read-only routes stay open (the status page polls them).
    assert_eq!(get(&server, "/api/status").await.0, 200);

    let (status, body) = cron(&server, "?limit=10", Some(&format!("Bearer {CRON_SECRET}"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["processed"], 10);
    let (status, _) = cron(
        &server,
        "?limit=1",
        Some(&format!("bearer  {CRON_SECRET} ")),
    )
    .await;
    assert_eq!(status, 200, "the scheme is case-insensitive");
}

/// A server as `serve` runs it on a non-loopback bind (`require_auth`), here on
/// 127.0.0.1: binding a public address in a test would expose it, and 127.0.0.2 is
/// loopback too, so the bind → policy step is tested apart (`requires_auth` in
/// src/server/auth.rs, and the refusal to start without a secret below).
async fn public_server(db: &common::SqliteDb, f: impl FnOnce(&mut Config)) -> Server {
    let mut config = db.config();
    f(&mut config);
    start(
        AppState::open(
            config,
            ServerOptions {
                cron_secret: Some(CRON_SECRET.into()),
                require_auth: true,
                metrics_token: Some(METRICS_TOKEN.into()),
                ..ServerOptions::default()
            },
        )
        .await
        .expect("open the server state"),
    )
    .await
}

const METRICS_TOKEN: &str = "metrics-t0ken-5e6f";

/// A client that never follows redirects, sending from `source` (a loopback address:
/// each one is its own client for the per-address limits).
fn client_from(source: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(source.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// `(status, body)` of `method path` with these headers.
async fn call(
    c: &reqwest::Client,
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = c.request(method.parse().unwrap(), format!("{}{path}", server.base));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if path.starts_with("/v1/embeddings") {
        req = req.json(&json!({"model": "fake", "input": "night nurse"}));
    }
    let r = req.send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_bind_needs_the_secret_on_every_route_but_health_checks() {
    let db = common::sqlite_db(20).await;
    let server = public_server(&db, |_| {}).await;
    let c = client_from("127.0.0.1");
    let bearer = format!("Bearer {CRON_SECRET}");
    let protected = [
        ("GET", "/api/status"),
        ("GET", "/api/search?q=nurse"),
        ("GET", "/metrics"),
        ("GET", "/v1/models"),
        ("POST", "/api/process-embedding-queue?limit=5"),
        ("GET", "/api/process-embedding-queue?limit=5"),
        ("POST", "/v1/embeddings"),
    ];
    for (i, (method, path)) in protected.into_iter().enumerate() {
        // One address per route: failed credentials are limited per address (below).
        let c = client_from(&format!("127.0.1.{}", i + 1));
        for wrong in [None, Some("Bearer wrong"), Some(METRICS_TOKEN)] {
            let headers: Vec<(&str, &str)> =
                wrong.map(|w| ("Authorization", w)).into_iter().collect();
            let (status, _, body) = call(&c, &server, method, path, &headers).await;
            assert_eq!(status, 401, "{method} {path} with {wrong:?}: {body}");
            assert!(!body.contains(CRON_SECRET));
        }
        let (status, _, body) =
            call(&c, &server, method, path, &[("Authorization", &bearer)]).await;
        assert_eq!(status, 200, "{method} {path} with the secret: {body}");
    }
    // The page sends a browser to the login form.
    let (status, headers, _) = call(&c, &server, "GET", "/", &[]).await;
    assert_eq!(
        (status, headers["location"].to_str().unwrap()),
        (303, "/login")
    );
    let (status, _, page) = call(&c, &server, "GET", "/", &[("Authorization", &bearer)]).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"coverage-value\""));
    // Health checks stay open for load balancers; so does the login form.
    for path in ["/healthz", "/readyz", "/login"] {
        assert_eq!(call(&c, &server, "GET", path, &[]).await.0, 200, "{path}");
    }
    // METRICS_TOKEN opens /metrics, and only /metrics.
    let metrics_bearer = format!("Bearer {METRICS_TOKEN}");
    let (status, _, text) = call(
        &c,
        &server,
        "GET",
        "/metrics",
        &[("Authorization", &metrics_bearer)],
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        series(&text)["vecsync_unauthorized_requests_total"] >= 21.0,
        "{text}"
    );
    let (status, _, _) = call(
        &c,
        &server,
        "GET",
        "/api/status",
        &[("Authorization", &metrics_bearer)],
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_log_in_with_a_session_cookie_that_is_not_the_secret() {
    let db = common::sqlite_db(20).await;
    let server = public_server(&db, |_| {}).await;
    let c = client_from("127.0.0.1");
    let (status, _, form) = call(&c, &server, "GET", "/login", &[]).await;
    assert_eq!(status, 200);
    assert!(
        form.contains("name=\"secret\"") && form.contains("action=\"/login\""),
        "{form}"
    );

    let login = |secret: &str| {
        c.post(format!("{}/login", server.base))
            .form(&[("secret", secret)])
            .send()
    };
    let r = login("not-the-secret").await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("set-cookie").is_none());
    assert!(r.text().await.unwrap().contains("not the server"));

    let r = login(CRON_SECRET).await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains(CRON_SECRET), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let session = cookie.split(';').next().unwrap().to_string();

    // The page and what it polls work with the cookie, as a browser sends it.
    for path in ["/", "/api/status", "/api/search?q=nurse", "/metrics"] {
        let (status, _, body) = call(&c, &server, "GET", path, &[("Cookie", &session)]).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    // The routes that cost work still want the bearer secret, and a forged or altered
    // session is refused.
    let (status, _, _) = call(
        &c,
        &server,
        "POST",
        "/api/process-embedding-queue?limit=1",
        &[("Cookie", &session)],
    )
    .await;
    assert_eq!(status, 401);
    let (expires, tag) = session.split_once('.').unwrap();
    let later = format!("{}9.{tag}", expires);
    for forged in [
        later,
        format!("{expires}.{}", "0".repeat(64)),
        format!("vecsync_session={CRON_SECRET}"),
    ] {
        let (status, _, _) = call(&c, &server, "GET", "/api/status", &[("Cookie", &forged)]).await;
        assert_eq!(status, 401, "{forged}");
    }
    // Behind a TLS proxy the cookie is marked Secure.
    let r = c
        .post(format!("{}/login", server.base))
        .header("X-Forwarded-Proto", "https")
        .form(&[("secret", CRON_SECRET)])
        .send()
        .await
        .unwrap();
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("; Secure"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_search_and_failed_credentials_are_rate_limited_per_address() {
    let db = common::sqlite_db(20).await;
    let server = public_server(&db, |c| {
        c.server.search_per_minute = 1;
        c.server.search_burst = 3;
    })
    .await;
    let bearer = format!("Bearer {CRON_SECRET}");
    let auth = [("Authorization", bearer.as_str())];
    let first = client_from("127.0.0.1");
    for i in 0..3 {
        let (status, _, body) = call(&first, &server, "GET", "/api/search?q=nurse", &auth).await;
        assert_eq!(status, 200, "search {i}: {body}");
    }
    let (status, headers, body) = call(&first, &server, "GET", "/api/search?q=nurse", &auth).await;
    assert_eq!(status, 429, "{body}");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());
    // Other routes, and other addresses, are not affected.
    assert_eq!(
        call(&first, &server, "GET", "/api/status", &auth).await.0,
        200
    );
    let second = client_from("127.0.0.2");
    assert_eq!(
        call(&second, &server, "GET", "/api/search?q=nurse", &auth)
            .await
            .0,
        200
    );

    // Guessing the secret: after 10 failures an address is refused before its
    // credentials are looked at, even the right ones; other addresses are not.
    let guesser = client_from("127.0.0.3");
    for i in 0..10 {
        let (status, _, _) = call(
            &guesser,
            &server,
            "GET",
            "/api/status",
            &[("Authorization", "Bearer guess")],
        )
        .await;
        assert_eq!(status, 401, "guess {i}");
    }
    let (status, headers, _) = call(&guesser, &server, "GET", "/api/status", &auth).await;
    assert_eq!(status, 429);
    assert!(headers.contains_key("retry-after"));
    let r = guesser
        .post(format!("{}/login", server.base))
        .form(&[("secret", CRON_SECRET)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "the login form too");
    assert_eq!(
        call(&second, &server, "GET", "/api/status", &auth).await.0,
        200
    );
}

/// On loopback, `/metrics` stays open unless `METRICS_TOKEN` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_token_on_loopback() {
    let db = common::sqlite_db(5).await;
    let server = start(
        AppState::open(
            db.config(),
            ServerOptions {
                metrics_token: Some(METRICS_TOKEN.into()),
                ..ServerOptions::default()
            },
        )
        .await
        .unwrap(),
    )
    .await;
    let c = client_from("127.0.0.1");
    assert_eq!(call(&c, &server, "GET", "/metrics", &[]).await.0, 401);
    let metrics_bearer = format!("Bearer {METRICS_TOKEN}");
    assert_eq!(
        call(
            &c,
            &server,
            "GET",
            "/metrics",
            &[("Authorization", &metrics_bearer)]
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(&c, &server, "GET", "/api/status", &[]).await.0,
        200,
        "reads stay open"
    );
}

#[test]
fn non_loopback_bind_without_secret_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    vecsync::demo::populate_sqlite(&conn, 5, vecsync::demo::DEFAULT_SEED).unwrap();
    let config = common::test_config(format!("sqlite://{}", db.display()), 8);
    let cfg_dir = config_dir(&config);
    for secret in [None, Some(""), Some("abcde")] {
        let mut cmd = vecsync_cmd(cfg_dir.path(), &["serve", "--bind", "0.0.0.0:0"]);
        if let Some(s) = secret {
            cmd.env("CRON_SECRET", s);
        }
        let out = run_with_deadline(cmd, Duration::from_secs(60));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(
            stderr.contains("CRON_SECRET") && stderr.contains("0.0.0.0"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"));
    }
}

/// On a loopback bind without a secret, what a web page the user visits could send is
/// refused before it costs anything: another `Host` (DNS rebinding), another site's
/// `Origin` or `Sec-Fetch-Site` (a cross-site POST or `<img>` GET of the cron route), and
/// a non-JSON `/v1/embeddings` body (a form or text/plain POST needs no CORS preflight).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_bind_refuses_what_other_sites_could_send() {
    let db = common::sqlite_db(20).await;
    let server = start(open_state(db.config(), None).await).await;
    let port = server.base.rsplit(':').next().unwrap().to_string();
    let c = client();
    let cron_path = "/api/process-embedding-queue?limit=5";
    let evil_host = format!("vecsync.attacker.example:{port}");
    let refused = [
        ("GET", "/api/status", [("host", evil_host.as_str())]),
        ("POST", cron_path, [("host", evil_host.as_str())]),
        ("POST", "/v1/embeddings", [("host", evil_host.as_str())]),
        ("GET", cron_path, [("sec-fetch-site", "cross-site")]),
        ("GET", cron_path, [("sec-fetch-site", "same-site")]),
        ("POST", cron_path, [("origin", "https://attacker.example")]),
        ("POST", "/v1/embeddings", [("origin", "null")]),
        (
            "GET",
            "/api/status",
            [("host", "127.0.0.1.attacker.example")],
        ),
    ];
    for (method, path, headers) in &refused {
        let (status, _, body) = call(&c, &server, method, path, &headers[..]).await;
        assert_eq!(status, 403, "{method} {path} {headers:?}: {body}");
    }
    let (status, _, body) = call(
        &c,
        &server,
        "POST",
        "/v1/embeddings",
        &[("content-type", "text/plain")],
    )
    .await;
    assert_eq!(status, 415, "{body}");
    assert_eq!(db.scalar(EMBEDDED).await, 0, "nothing was embedded");

    // The same requests from this host, curl or the status page itself are served.
    let local = [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        format!("127.0.0.2:{port}"),
        "localhost".to_string(),
    ];
    for host in &local {
        let (status, _, body) = call(&c, &server, "GET", "/api/status", &[("host", host)]).await;
        assert_eq!(status, 200, "Host {host}: {body}");
    }
    let origin = format!("http://127.0.0.1:{port}");
    let page_fetch = [
        ("origin", origin.as_str()),
        ("sec-fetch-site", "same-origin"),
    ];
    let (status, _, body) = call(&c, &server, "POST", "/v1/embeddings", &page_fetch).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = call(&c, &server, "GET", cron_path, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(db.scalar(EMBEDDED).await, 5);
}

/// On a public bind the secret guards every route, so the `Host` a proxy forwards is
/// not checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_bind_accepts_the_host_its_proxy_forwards() {
    let db = common::sqlite_db(5).await;
    let server = public_server(&db, |_| {}).await;
    let bearer = format!("Bearer {CRON_SECRET}");
    let (status, _, body) = call(
        &client(),
        &server,
        "GET",
        "/api/status",
        &[("host", "vecsync.example.com"), ("authorization", &bearer)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

// ---------------------------------------------------------------------------------------
// Status, search, metrics, health
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_json_equals_cli_status() {
    let db = common::sqlite_db(80).await;
    db.exec(
        "UPDATE jobs SET title = '', company = '', location = '', description = '' WHERE id = 3",
    )
    .await;
    let server = start(open_state(db.config(), None).await).await;
    let (_, body) = cron(&server, "?limit=30", None).await;
    assert_eq!(
        body["processed"].as_u64().unwrap() + body["failed"].as_u64().unwrap(),
        30
    );

    let (status, api) = get_json(&server, "/api/status").await;
    assert_eq!(status, 200);
    let cli = cli_status(&db.config()).await;
    assert_same_status(&api, &cli);
    assert_eq!(api["total"], 80);
    assert_eq!(api["embedder"]["provider"], "fake");
    assert_eq!(api["embedder"]["dimensions"], common::DIMS);
    assert_eq!(api["worker"]["enabled"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_returns_ranked_hits_and_rejects_an_empty_query() {
    let db = common::sqlite_db(60).await;
    let server = start(open_state(db.config(), None).await).await;
    cron(&server, "?limit=1000", None).await;
    let postings = vecsync::demo::generate(60, vecsync::demo::DEFAULT_SEED);
    let target = &postings[6];
    // The fake embedder maps a text to one vector: the row's own text is its best match.
    let r = client()
        .get(format!("{}/api/search", server.base))
        .query(&[("q", rendered(target).as_str()), ("k", "5")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let hits: Value = r.json().await.unwrap();
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 5);
    assert_eq!(hits[0]["id"], target.id.to_string());
    assert!(
        (hits[0]["score"].as_f64().unwrap() - 1.0).abs() < 1e-4,
        "{}",
        hits[0]
    );
    assert_eq!(hits[0]["fields"]["title"], target.title.as_str());
    assert_eq!(hits[0]["fields"]["company"], target.company.as_str());
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    let (_, default_k) = get_json(&server, "/api/search?q=nurse").await;
    assert_eq!(default_k.as_array().unwrap().len(), 10);

    for bad in [
        "/api/search?q=",
        "/api/search?q=%20%20",
        "/api/search",
        "/api/search?q=x&k=0",
        "/api/search?q=x&k=abc",
    ] {
        let (status, body) = get_json(&server, bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"].is_string(), "{bad}: {body}");
    }
}

/// The fake embedder, with a poison word (rejected alone, permanently), a flaky word (the
/// whole batch fails, transiently) and usage counters.
struct ScriptedEmbedder {
    inner: FakeEmbedder,
    requests: AtomicU64,
    tokens: AtomicU64,
}

#[async_trait]
impl Embedder for ScriptedEmbedder {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn dimensions(&self) -> usize {
        self.inner.dimensions()
    }
    fn count_tokens(&self, text: &str) -> usize {
        self.inner.count_tokens(text)
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<InputResult>, EmbedError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if texts.iter().any(|t| t.contains("FLAKY")) {
            return Err(EmbedError::Unavailable("provider answered 503".into()));
        }
        let tokens: usize = texts.iter().map(|t| self.count_tokens(t)).sum();
        self.tokens.fetch_add(tokens as u64, Ordering::SeqCst);
        Ok(texts
            .iter()
            .enumerate()
            .map(|(index, t)| {
                if t.contains("POISON") {
                    Err(EmbedError::Rejected {
                        index,
                        reason: "the provider rejects this input".into(),
                    })
                } else {
                    Ok(self.inner.vector(t))
                }
            })
            .collect())
    }
    fn suggested_concurrency(&self) -> usize {
        2
    }
    fn usage(&self) -> Usage {
        Usage {
            requests: self.requests.load(Ordering::SeqCst),
            tokens: self.tokens.load(Ordering::SeqCst),
            rate_limited: 7,
            ..Usage::default()
        }
    }
}

/// `name{labels} value` lines of a Prometheus text body.
fn series(body: &str) -> std::collections::HashMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_rows_failures_queue_usage_and_latency() {
    let db = common::sqlite_db(40).await;
    db.exec(
        "UPDATE jobs SET title = '', company = '', location = '', description = '' WHERE id = 1;
         UPDATE jobs SET description = description || ' POISON' WHERE id = 2;",
    )
    .await;
    let config = db.config();
    let store = store::open(&config).await.unwrap();
    let embedder = Arc::new(ScriptedEmbedder {
        inner: FakeEmbedder::new(&config.embedder.model_id(), common::DIMS),
        requests: AtomicU64::new(0),
        tokens: AtomicU64::new(0),
    });
    store.prepare(common::DIMS).await.unwrap();
    let server = start(AppState::new(
        config,
        store,
        embedder,
        ServerOptions::default(),
    ))
    .await;

    let (_, body) = cron(&server, "?limit=1000", None).await;
    assert_eq!(
        (body["processed"].as_u64(), body["failed"].as_u64()),
        (Some(38), Some(2)),
        "{body}"
    );
    // Row 3 changes and its new text makes the provider fail: a transient failure.
    db.exec("UPDATE jobs SET description = 'FLAKY ' || description WHERE id = 3")
        .await;
    let (_, body) = cron(&server, "?limit=1000", None).await;
    assert_eq!(
        (body["processed"].as_u64(), body["failed"].as_u64()),
        (Some(0), Some(1)),
        "{body}"
    );

    let (status, text) = get(&server, "/metrics").await;
    assert_eq!(status, 200);
    let m = series(&text);
    let at = |name: &str| -> f64 {
        *m.get(name)
            .unwrap_or_else(|| panic!("no series {name} in:\n{text}"))
    };
    assert_eq!(at("vecsync_rows_embedded_total"), 38.0);
    assert_eq!(at("vecsync_rows_failed_total{reason=\"empty\"}"), 1.0);
    assert_eq!(at("vecsync_rows_failed_total{reason=\"permanent\"}"), 1.0);
    assert_eq!(at("vecsync_rows_failed_total{reason=\"transient\"}"), 1.0);
    // Row 3 waits for its retry; the stores count that wait as a lease.
    assert_eq!(
        at("vecsync_queue_rows{state=\"pending\"}") + at("vecsync_queue_rows{state=\"leased\"}"),
        1.0
    );
    assert_eq!(at("vecsync_queue_rows{state=\"failed\"}"), 2.0);
    assert_eq!(at("vecsync_table_rows"), 40.0);
    assert_eq!(at("vecsync_embedded_rows"), 37.0, "row 3 is stale now");
    assert!((at("vecsync_coverage_ratio") - 37.0 / 40.0).abs() < 1e-9);
    assert_eq!(
        at("vecsync_embedder_requests_total"),
        3.0,
        "2 batches, then 1"
    );
    assert!(at("vecsync_embedder_tokens_total") > 100.0);
    assert_eq!(at("vecsync_embedder_rate_limited_total"), 7.0);
    assert_eq!(at("vecsync_cron_runs_total"), 2.0);
    assert_eq!(at("vecsync_database_up"), 1.0);
    assert_eq!(
        at("vecsync_embedder_info{provider=\"fake\",model=\"fake:16\",dimensions=\"16\"}"),
        1.0
    );
    for h in [
        "vecsync_batch_duration_seconds",
        "vecsync_embed_duration_seconds",
        "vecsync_write_duration_seconds",
    ] {
        assert!(
            text.contains(&format!("# TYPE {h} histogram")),
            "{h}:\n{text}"
        );
        assert_eq!(at(&format!("{h}_count")), 3.0, "{h}: one per batch");
        assert_eq!(at(&format!("{h}_bucket{{le=\"+Inf\"}}")), 3.0);
    }
}

/// A database that is down.
struct DownStore;

#[async_trait]
impl Store for DownStore {
    async fn init(&self) -> anyhow::Result<()> {
        Err(anyhow!("connection refused"))
    }
    async fn uninstall(&self) -> anyhow::Result<()> {
        Err(anyhow!("connection refused"))
    }
    async fn prepare(&self, _: usize) -> anyhow::Result<()> {
        Err(anyhow!("connection refused"))
    }
    async fn verify(&self, _: usize) -> anyhow::Result<()> {
        Err(anyhow!("connection refused"))
    }
    async fn enqueue_needed(&self) -> anyhow::Result<u64> {
        Err(anyhow!("connection refused"))
    }
    async fn peek_needed(&self, _: Option<&RowId>, _: usize) -> anyhow::Result<Vec<ClaimedRow>> {
        Err(anyhow!("connection refused"))
    }
    async fn claim(&self, _: usize, _: Duration) -> anyhow::Result<Vec<ClaimedRow>> {
        Err(anyhow!("connection refused"))
    }
    async fn complete(
        &self,
        _: &[Completion],
        _: &[Failure],
    ) -> anyhow::Result<vecsync::store::WriteOutcome> {
        Err(anyhow!("connection refused"))
    }
    async fn release(&self, _: &[RowId]) -> anyhow::Result<()> {
        Err(anyhow!("connection refused"))
    }
    async fn record_usage(&self, _: &str, _: &vecsync::store::UsageTotals) -> anyhow::Result<()> {
        Err(anyhow!("connection refused"))
    }
    async fn retry_failed(&self) -> anyhow::Result<u64> {
        Err(anyhow!("connection refused"))
    }
    async fn status(&self) -> anyhow::Result<Status> {
        Err(anyhow!("connection refused"))
    }
    async fn audit(&self) -> anyhow::Result<Status> {
        Err(anyhow!("connection refused"))
    }
    async fn ping(&self) -> anyhow::Result<()> {
        Err(anyhow!("connection refused"))
    }
    async fn search(&self, _: &[f32], _: usize) -> anyhow::Result<Vec<SearchHit>> {
        Err(anyhow!("connection refused"))
    }
    async fn reconcile(&self) -> anyhow::Result<u64> {
        Err(anyhow!("connection refused"))
    }
}

/// However many clients poll `/api/status`, `/metrics` and `/readyz` at once, the database
/// answers at most one status query per 2 s (`/readyz` only pings it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pollers_share_one_status_query() {
    let db = common::sqlite_db(5).await;
    let server = start(open_state(db.config(), None).await).await;
    let queries = |text: &str| series(text)["vecsync_status_queries_total"];
    let (_, text) = get(&server, "/metrics").await;
    let before = queries(&text);
    assert!(before >= 1.0, "{text}");
    let polls = (0..8).map(|i| {
        let path = if i % 4 == 3 { "/readyz" } else { "/api/status" };
        get_json(&server, path)
    });
    for (status, body) in futures::future::join_all(polls).await {
        assert_eq!(status, 200, "{body}");
    }
    let (_, text) = get(&server, "/metrics").await;
    let after = queries(&text);
    // The first scrape's status is shared for 2 s; a slow machine may need one more.
    assert!(after - before <= 1.0, "{before} -> {after} status queries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_readyz() {
    let db = common::sqlite_db(5).await;
    let server = start(open_state(db.config(), None).await).await;
    let (status, body) = get_json(&server, "/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = get_json(&server, "/readyz").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("ready")),
        "{body}"
    );
    assert_eq!(body["model"], "fake:16");

    // The database is down: alive, not ready, and the page's source says why.
    let config = db.config();
    let down = start(AppState::new(
        config.clone(),
        Arc::new(DownStore),
        common::fake_embedder(&config),
        ServerOptions::default(),
    ))
    .await;
    assert_eq!(get(&down, "/healthz").await.0, 200);
    let (status, body) = get_json(&down, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("connection refused"),
        "{body}"
    );
    let (status, body) = get_json(&down, "/api/status").await;
    assert_eq!(status, 503);
    assert!(body["error"].is_string());
    let (status, text) = get(&down, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(series(&text)["vecsync_database_up"], 0.0);
    let (status, body) = cron(&down, "?limit=5", None).await;
    assert_eq!(status, 500, "{body}");

    // The status page is served, self-contained.
    let (status, page) = get(&server, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"coverage-value\"") && page.contains("/api/status"));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no CDN"
    );
}

// ---------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cron_status_and_search() {
    let pg = common::postgres::pg_db(200, common::DIMS).await;
    let config = pg.pg_config();
    let server = start(open_state(config.clone(), None).await).await;

    let (status, body) = cron(&server, "?limit=50", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["processed"].as_u64(), body["remaining"].as_u64()),
        (Some(50), Some(150)),
        "{body}"
    );
    assert_eq!(pg.scalar(EMBEDDED).await, 50);

    let (_, api) = get_json(&server, "/api/status").await;
    let cli = cli_status(&config).await;
    assert_same_status(&api, &cli);
    assert_eq!(api["embedded"], 50);

    let (_, body) = cron(&server, "?limit=100000", None).await;
    assert_eq!(
        (body["processed"].as_u64(), body["remaining"].as_u64()),
        (Some(150), Some(0))
    );
    let postings = vecsync::demo::generate(200, vecsync::demo::DEFAULT_SEED);
    let target = &postings[41];
    let r = client()
        .get(format!("{}/api/search", server.base))
        .query(&[("q", rendered(target).as_str()), ("k", "3")])
        .send()
        .await
        .unwrap();
    let hits: Value = r.json().await.unwrap();
    assert_eq!(hits.as_array().unwrap().len(), 3, "{hits}");
    assert_eq!(hits[0]["id"], target.id.to_string(), "{hits}");
    assert_eq!(hits[0]["fields"]["location"], target.location.as_str());

    let (_, text) = get(&server, "/metrics").await;
    let m = series(&text);
    assert_eq!(m["vecsync_rows_embedded_total"], 200.0);
    assert_eq!(m["vecsync_coverage_ratio"], 1.0);
}

// ---------------------------------------------------------------------------------------
// /v1/embeddings
// ---------------------------------------------------------------------------------------

/// Error bodies: exactly OpenAI's `{"error": {message, type, param, code}}`.
fn assert_openai_error(body: &Value, param: Option<&str>, code: Option<&str>) {
    let e = body["error"]
        .as_object()
        .unwrap_or_else(|| panic!("{body}"));
    let mut keys: Vec<&str> = e.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["code", "message", "param", "type"], "{body}");
    assert!(!e["message"].as_str().unwrap().is_empty());
    assert_eq!(e["type"], "invalid_request_error", "{body}");
    assert_eq!(e["param"].as_str(), param, "{body}");
    assert_eq!(e["code"].as_str(), code, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_embeddings_answers_like_openai() {
    let db = common::sqlite_db(3).await;
    let server = start(open_state(db.config(), None).await).await;
    let fake = FakeEmbedder::new("fake:16", common::DIMS);

    let (status, body) = embeddings(
        &server,
        json!({"model": "fake", "input": ["night nurse", "truck driver"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "list");
    assert_eq!(body["model"], "fake");
    assert_eq!(body["data"][1]["object"], "embedding");
    assert_eq!(body["data"][1]["index"], 1);
    let v: Vec<f32> = serde_json::from_value(body["data"][1]["embedding"].clone()).unwrap();
    assert_eq!(v, fake.vector("truck driver"));
    assert_eq!(body["usage"]["prompt_tokens"], 4);
    assert_eq!(body["usage"]["total_tokens"], 4);

    // base64: little-endian f32, and the model id is accepted as the model name.
    let (status, body) = embeddings(
        &server,
        json!({"model": "fake:16", "input": "night nurse", "encoding_format": "base64", "dimensions": 16}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let v =
        vecsync::embed::openai::wire::decode_base64(body["data"][0]["embedding"].as_str().unwrap())
            .unwrap();
    assert_eq!(v, fake.vector("night nurse"));

    let (status, body) = embeddings(
        &server,
        json!({"model": "text-embedding-3-small", "input": "x"}),
    )
    .await;
    assert_eq!(status, 404);
    assert_openai_error(&body, Some("model"), Some("model_not_found"));
    for (input, what) in [
        (json!(""), "empty string"),
        (json!([]), "empty array"),
        (json!(["a", " "]), "blank item"),
        (json!(vec!["x"; 2049]), "2049 inputs"),
        (json!([1, 2, 3]), "token ids"),
        (json!(null), "null"),
        (json!(5), "a number"),
    ] {
        let (status, body) = embeddings(&server, json!({"model": "fake", "input": input})).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_openai_error(&body, Some("input"), None);
    }
    let (status, body) =
        embeddings(&server, json!({"model": "fake", "input": vec!["x"; 2048]})).await;
    assert_eq!(status, 200, "2048 inputs are fine");
    assert_eq!(body["data"].as_array().unwrap().len(), 2048);

    let (status, body) = embeddings(
        &server,
        json!({"model": "fake", "input": "x", "encoding_format": "int8"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_openai_error(&body, Some("encoding_format"), None);
    let (status, body) = embeddings(
        &server,
        json!({"model": "fake", "input": "x", "dimensions": 8}),
    )
    .await;
    assert_eq!(status, 400);
    assert_openai_error(&body, Some("dimensions"), None);
    let (status, body) = embeddings(&server, json!({"input": "x"})).await;
    assert_eq!(status, 400);
    assert_openai_error(&body, Some("model"), None);
    let r = client()
        .post(format!("{}/v1/embeddings", server.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_openai_error(&r.json().await.unwrap(), None, None);
}

/// A config for the local model over a small SQLite table.
fn local_config(db: &common::SqliteDb) -> Config {
    let mut config = db.config();
    config.embedder = vecsync::config::EmbedderConfig {
        model_dir: Some(common::model_dir()),
        ..Default::default()
    };
    config.validate().unwrap();
    config
}

fn python_has_openai() -> bool {
    Command::new("python3")
        .args(["-c", "import openai"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The official `openai` package, installed with pip if missing.
fn ensure_openai_package() {
    if python_has_openai() {
        return;
    }
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "openai",
        ])
        .stdin(Stdio::null())
        .status()
        .expect("python3 is needed for this test");
    assert!(
        status.success() && python_has_openai(),
        "pip install openai failed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_python_client_gets_the_local_models_vectors() {
    tokio::task::spawn_blocking(ensure_openai_package)
        .await
        .unwrap();
    let db = common::sqlite_db_dims(2, 384);
    let state = open_state(local_config(&db), None).await;
    let embedder = state.embedder();
    let server = start(state).await;

    let texts: Vec<String> = [
        "night shift nurse in a hospital",
        "truck driver CDL long haul",
        "Grüße aus Köln — Übersetzer (m/w/d) 🚀",
        "Senior Rust engineer: async, PostgreSQL, pgvector.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let vectors: Vec<Vec<f32>> = embedder
        .embed(&texts)
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let tokens: Vec<usize> = texts.iter().map(|t| embedder.count_tokens(t)).collect();
    let expected = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        expected.path(),
        serde_json::to_vec(&json!({"texts": texts, "vectors": vectors, "tokens": tokens})).unwrap(),
    )
    .unwrap();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/openai_client.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script)
        .arg(format!("{}/v1", server.base))
        .arg("all-MiniLM-L6-v2")
        .arg(expected.path())
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL");
    let out = tokio::task::spawn_blocking(move || run_with_deadline(cmd, Duration::from_secs(300)))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "openai_client.py failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.trim_end().ends_with("ok"), "{stdout}");
}

fn vectors_by_id(path: &Path) -> Vec<(i64, Vec<f32>)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT id, embedding FROM jobs ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| {
        let blob: Vec<u8> = r.get(1)?;
        Ok((
            r.get(0)?,
            blob.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_vecsync_embeds_through_another() {
    // Server: the local model.
    let server_db = common::sqlite_db_dims(1, 384);
    let state = open_state(local_config(&server_db), None).await;
    let local = state.embedder();
    let server = start(state).await;

    // Client: provider "openai" pointed at the server; no key needed for loopback.
    let client_db = common::sqlite_db_dims(12, 384);
    let mut config = client_db.config();
    config.embedder = vecsync::config::EmbedderConfig {
        provider: "openai".into(),
        model: "all-MiniLM-L6-v2".into(),
        dimensions: Some(384),
        base_url: format!("{}/v1", server.base),
        api_key_env: "VECSYNC_TEST_NO_SUCH_KEY".into(),
        max_inputs_per_request: 5,
        ..Default::default()
    };
    config.validate().unwrap();
    let store = store::open(&config).await.unwrap();
    let remote = vecsync::embed::from_config(&config).unwrap();
    let summary = common::backfill_with(store, remote.clone(), &config)
        .await
        .expect("backfill through /v1/embeddings");
    assert_eq!(summary.written, 12);
    assert!(remote.usage().requests >= 3, "5 inputs per request");

    // The same table embedded in-process.
    let direct_db = common::sqlite_db_dims(12, 384);
    let direct_config = local_config(&direct_db);
    let store = store::open(&direct_config).await.unwrap();
    common::backfill_with(store, local, &direct_config)
        .await
        .unwrap();

    let (a, b) = (
        vectors_by_id(&client_db.path),
        vectors_by_id(&direct_db.path),
    );
    assert_eq!(a.len(), 12);
    for ((id_a, va), (id_b, vb)) in a.iter().zip(&b) {
        assert_eq!(id_a, id_b);
        assert_eq!(va.len(), 384);
        let diff = va
            .iter()
            .zip(vb)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        // Same model and text; only the batch composition differs.
        assert!(diff < 1e-5, "row {id_a}: max difference {diff}");
    }
}

// ---------------------------------------------------------------------------------------
// The binary: secrets, --work, graceful shutdown
// ---------------------------------------------------------------------------------------

/// The database password given as `?password=…` (a form tokio-postgres accepts),
/// `PGPASSWORD` and a custom header's value stay out of errors and of `serve`'s output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_other_forms_stay_out_of_errors_and_logs() {
    const PGPASSWORD: &str = "pgpassword-env-Z9Y8X7";
    const HEADER: &str = "hdr-value-Q1W2E3R4";
    let pg = common::postgres::pg_db(5, common::DIMS).await;
    let mut config = pg.pg_config();
    let mut url = url::Url::parse(&config.database_url).unwrap();
    let password = url
        .password()
        .expect("the test URL carries a password")
        .to_string();
    url.set_password(None).unwrap();
    url.query_pairs_mut().append_pair("password", &password);
    let query_form = url.to_string();
    assert!(
        query_form.contains(&format!("password={password}")),
        "{query_form}"
    );
    config
        .embedder
        .headers
        .insert("X-Org-Token".into(), HEADER.into());
    let dir = config_dir(&Config {
        database_url: "sqlite://unused.db".into(),
        ..config.clone()
    });
    let leaks = |what: &str, text: &str| {
        for secret in [password.as_str(), PGPASSWORD, HEADER] {
            assert!(!text.contains(secret), "a secret in {what}: {text}");
        }
    };

    // An error that names the database: it does not exist.
    let mut missing = url.clone();
    missing.set_path("/no_such_database_here");
    let mut cmd = vecsync_cmd(dir.path(), &["-vv", "status"]);
    cmd.env("DATABASE_URL", missing.as_str())
        .env("PGPASSWORD", PGPASSWORD);
    let out = tokio::task::spawn_blocking(move || run_with_deadline(cmd, Duration::from_secs(60)))
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("no_such_database_here") && stderr.contains("password=***"),
        "the error names the database, password masked: {stderr}"
    );
    leaks("the error", &stderr);

    // `serve` prints the URL it serves from, and answers from that database.
    let mut child = vecsync_cmd(dir.path(), &["-vv", "serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", &query_form)
        .env("PGPASSWORD", PGPASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut log = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                let _ = tx.send(addr.to_string());
            }
            log.push_str(&line);
            log.push('\n');
        }
        log
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("no 'listening on' line")
        });
    let r = client()
        .get(format!("http://{addr}/api/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["total"], 5, "{body}");
    leaks("/api/status", &body.to_string());
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert!(child.wait().unwrap().success());
    let log = reader.join().unwrap();
    assert!(
        log.contains("password=***"),
        "the URL is shown, masked: {log}"
    );
    leaks("serve's log", &log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_metrics_status_and_logs() {
    let pg = common::postgres::pg_db(60, common::DIMS).await;
    let config = pg.pg_config();
    let password = url::Url::parse(&config.database_url)
        .unwrap()
        .password()
        .map(str::to_string);
    assert!(
        password.as_ref().is_some_and(|p| p.len() >= 8),
        "the test server's URL should carry a password"
    );
    let password = password.unwrap();
    let dir = config_dir(&Config {
        database_url: "sqlite://unused.db".into(),
        ..config.clone()
    });
    let mut child = vecsync_cmd(
        dir.path(),
        &["-vv", "serve", "--bind", "127.0.0.1:0", "--work"],
    )
    .env("DATABASE_URL", &config.database_url)
    .env("CRON_SECRET", CRON_SECRET)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Every log line, and the address from the "listening on" line.
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    let _ = tx.send(addr);
                }
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        })
    };
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("no 'listening on' line; log:\n{}", log.lock().unwrap())
        });
    let server_url = format!("http://{addr}");
    let c = client();
    let mut bodies = String::new();

    // The worker (--work) embeds everything in the background.
    let started = Instant::now();
    loop {
        let s: Value = c
            .get(format!("{server_url}/api/status"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["coverage"] == 1.0 {
            assert_eq!(s["worker"]["running"], true, "{s}");
            bodies.push_str(&s.to_string());
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "worker did not finish: {s}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for path in ["/metrics", "/readyz", "/api/search?q=nurse", "/"] {
        let r = c.get(format!("{server_url}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        bodies.push_str(&r.text().await.unwrap());
    }
    for bearer in ["Bearer nope", "Bearer cron-s3cret-7f3a9", ""] {
        let r = c
            .post(format!("{server_url}/api/process-embedding-queue?limit=5"))
            .header("Authorization", bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        bodies.push_str(&r.text().await.unwrap());
    }
    let r = c
        .post(format!("{server_url}/api/process-embedding-queue?limit=5"))
        .bearer_auth(CRON_SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["remaining"], 0, "{body}");
    bodies.push_str(&body.to_string());
    let r = c
        .post(format!("{server_url}/v1/embeddings"))
        .bearer_auth(CRON_SECRET)
        .json(&json!({"model": "fake", "input": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // SIGTERM: both the server and the worker stop, gracefully (exit 0).
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve did not stop within 60 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    reader.join().unwrap();
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    let log = log.lock().unwrap().clone();
    assert!(status.success(), "exit {status:?}; log:\n{log}");
    assert!(log.contains("vecsync serve: stopped"), "{log}");
    assert!(
        log.contains("postgres://"),
        "the database is named, redacted: {log}"
    );
    for (what, text) in [
        ("responses", &bodies),
        ("stderr", &log),
        ("stdout", &stdout),
    ] {
        assert!(!text.contains(CRON_SECRET), "CRON_SECRET in {what}");
        assert!(!text.contains(&password), "the database password in {what}");
    }
    assert!(
        bodies.contains("vecsync_rows_embedded_total 60"),
        "the worker's rows count"
    );
}
