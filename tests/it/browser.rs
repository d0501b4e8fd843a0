//! The status page in a real browser: headless Chromium loads `/` from a server over a
//! partly embedded demo table, and the coverage and queue numbers it shows must be the
//! ones `/api/status` reports. Saves a screenshot to `test-output/status-page.png`.
//!
//! Needs Debian's `chromium` (scripts/test.sh installs it; so does this test, as root,
//! when apt-get is available).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::TestDb;
use serde_json::Value;
use vecsync::server::{router, AppState, ServerOptions};

fn chromium() -> PathBuf {
    let find = || {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
    };
    if let Some(p) = find() {
        return p;
    }
    // Debian's package; only possible as root with apt.
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if is_root && Path::new("/usr/bin/apt-get").exists() {
        let _ = Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .status();
    }
    find().expect("chromium is needed: apt-get install -y chromium (scripts/test.sh does it)")
}

/// Runs headless Chromium with the flags every run uses, with a deadline.
fn run_chromium(profile: &Path, args: &[String]) -> Output {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    // Read stdout while waiting: a large DOM would fill the pipe.
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut { stdout }, &mut s).ok();
        s
    });
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = Vec::new();
            std::io::Read::read_to_end(&mut child.stderr.take().unwrap(), &mut stderr).ok();
            return Output {
                status,
                stdout: reader.join().unwrap(),
                stderr,
            };
        }
        if started.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The element with `id`: its `data-value` attribute and its text.
fn element(dom: &str, id: &str) -> (String, String) {
    let needle = format!("id=\"{id}\"");
    let at = dom
        .find(&needle)
        .unwrap_or_else(|| panic!("no element #{id} in the page"));
    let tag_start = dom[..at].rfind('<').unwrap();
    let tag_end = at + dom[at..].find('>').unwrap();
    let tag = &dom[tag_start..tag_end];
    let data = tag
        .split("data-value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_string();
    let text_end = tag_end + 1 + dom[tag_end + 1..].find('<').unwrap();
    (data, dom[tag_end + 1..text_end].trim().to_string())
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_shows_what_api_status_says() {
    let db = common::sqlite_db(300).await;
    // Three rows with no text: failures with a reason on the page.
    db.exec(
        "UPDATE jobs SET title = '', company = '', location = '', description = ''
         WHERE id IN (5, 17, 42)",
    )
    .await;
    let state = AppState::open(db.config(), ServerOptions::default())
        .await
        .unwrap();
    let shutdown = state.shutdown_token();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(state);
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    });
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    // Backfill part of the table, in three runs, and spread the completions over the
    // last minutes so the chart has a shape.
    for limit in [40, 60, 80] {
        let r = http
            .post(format!("{base}/api/process-embedding-queue?limit={limit}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    db.exec(
        "UPDATE vecsync_state SET embedded_at = embedded_at - 60 * (CAST(row_id AS INTEGER) % 9)",
    )
    .await;
    let status: Value = http
        .get(format!("{base}/api/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let coverage = status["coverage"].as_f64().unwrap();
    assert!(coverage > 0.3 && coverage < 0.9, "{status}");

    let profile = tempfile::tempdir().unwrap();
    let url = format!("{base}/");
    let dom_out = {
        let (p, url) = (profile.path().to_path_buf(), url.clone());
        tokio::task::spawn_blocking(move || {
            run_chromium(
                &p,
                &[
                    "--virtual-time-budget=6000".into(),
                    "--dump-dom".into(),
                    url,
                ],
            )
        })
        .await
        .unwrap()
    };
    let dom = String::from_utf8_lossy(&dom_out.stdout).to_string();
    assert!(
        dom.contains("id=\"coverage-value\""),
        "no page in chromium's output; stderr: {}",
        String::from_utf8_lossy(&dom_out.stderr)
    );

    let (data, text) = element(&dom, "coverage-value");
    assert_eq!(
        data.parse::<f64>().unwrap(),
        coverage,
        "data-value of #coverage-value"
    );
    let shown = format!("{:.1}%", (coverage * 1000.0).floor() / 10.0);
    assert_eq!(text, shown, "#coverage-value");
    for (id, value) in [
        ("queue-pending", &status["queue"]["pending"]),
        ("queue-leased", &status["queue"]["leased"]),
        ("queue-failed", &status["queue"]["failed"]),
        ("embedded", &status["embedded"]),
        ("total", &status["total"]),
    ] {
        let (data, text) = element(&dom, id);
        assert_eq!(data, value.to_string(), "data-value of #{id}");
        assert_eq!(digits(&text), value.to_string(), "text of #{id}: {text:?}");
    }
    assert_eq!(status["queue"]["failed"], 3);
    assert!(dom.contains("empty text"), "failure reasons are listed");
    assert!(dom.contains("fake:16"), "the model is named");
    let (_, eta) = element(&dom, "eta");
    assert!(eta.contains("min") || eta.contains('h'), "an ETA: {eta:?}");

    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-output");
    std::fs::create_dir_all(&out_dir).unwrap();
    let png = out_dir.join("status-page.png");
    let _ = std::fs::remove_file(&png);
    let shot = {
        let (p, png) = (profile.path().to_path_buf(), png.clone());
        tokio::task::spawn_blocking(move || {
            run_chromium(
                &p,
                &[
                    "--virtual-time-budget=6000".into(),
                    format!("--screenshot={}", png.display()),
                    "--window-size=1400,900".into(),
                    url,
                ],
            )
        })
        .await
        .unwrap()
    };
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot missing or blank ({size} bytes); stderr: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    shutdown.cancel();
}
