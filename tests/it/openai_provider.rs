//! The OpenAI-compatible provider against a hostile mock server on 127.0.0.1.

use crate::mock_openai;

use std::io::Write;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use mock_openai::{Fault, Knobs, MockOpenAi, RetryHint, POISON, POISON_MESSAGE};
use vecsync::config::EmbedderConfig;
use vecsync::embed::openai::OpenAiEmbedder;
use vecsync::embed::{EmbedError, Embedder, InputResult};

const KEY_ENV: &str = "VECSYNC_TEST_MOCK_OPENAI_KEY";
const SECRET: &str = "sk-test-S3CR3T-abcdefghijklmnop0123456789";
const DIMS: usize = 8;

fn set_key() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| std::env::set_var(KEY_ENV, SECRET));
}

fn config(mock: &MockOpenAi, f: impl FnOnce(&mut EmbedderConfig)) -> EmbedderConfig {
    set_key();
    let mut c = EmbedderConfig {
        provider: "openai".into(),
        model: "text-embedding-3-small".into(),
        dimensions: Some(DIMS),
        base_url: mock.base_url(),
        api_key_env: KEY_ENV.into(),
        max_inputs_per_request: 16,
        max_concurrency: 4,
        timeout_seconds: 5,
        max_retries: 5,
        ..EmbedderConfig::default()
    };
    f(&mut c);
    c
}

fn embedder(c: &EmbedderConfig) -> OpenAiEmbedder {
    OpenAiEmbedder::new(c)
        .unwrap()
        .with_backoff(Duration::from_millis(5), Duration::from_millis(50))
}

fn texts(n: usize, prefix: &str) -> Vec<String> {
    (0..n)
        .map(|i| format!("{prefix} job posting number {i}: senior rust engineer in Lyon"))
        .collect()
}

/// Every input got its own vector.
fn assert_own_vectors(texts: &[String], results: &[InputResult]) {
    assert_eq!(texts.len(), results.len());
    for (t, r) in texts.iter().zip(results) {
        let v = r.as_ref().unwrap_or_else(|e| panic!("{t:?} failed: {e}"));
        assert_eq!(v, &MockOpenAi::vector(t, DIMS), "wrong vector for {t:?}");
    }
}

fn gaps(mock: &MockOpenAi) -> Vec<Duration> {
    let r = mock.requests();
    r.windows(2)
        .map(|w| w[1].at.duration_since(w[0].at))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_ms_is_honoured() {
    let mock = MockOpenAi::start(Knobs::default()).await;
    mock.set(|k| {
        k.faults.push_back(Fault::RateLimited {
            retry_after_ms: Some(300),
            retry_after_s: Some(30),
        })
    });
    let e = embedder(&config(&mock, |_| {}));
    let t = texts(3, "a");
    let r = e.embed(&t).await.unwrap();
    assert_own_vectors(&t, &r);
    assert_eq!(mock.request_count(), 2);
    assert_eq!(mock.count_status(429), 1);
    let gap = gaps(&mock)[0];
    // retry-after-ms wins over retry-after (30 s).
    assert!(gap >= Duration::from_millis(300), "{gap:?}");
    assert!(gap < Duration::from_secs(5), "{gap:?}");
    assert_eq!(e.usage().rate_limited, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_seconds_is_honoured() {
    let mock = MockOpenAi::start(Knobs::default()).await;
    mock.set(|k| {
        k.faults.push_back(Fault::RateLimited {
            retry_after_ms: None,
            retry_after_s: Some(1),
        })
    });
    let e = embedder(&config(&mock, |_| {}));
    let t = texts(2, "b");
    assert_own_vectors(&t, &e.embed(&t).await.unwrap());
    let gap = gaps(&mock)[0];
    assert!(gap >= Duration::from_secs(1), "{gap:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_without_hint_backs_off_and_succeeds() {
    let mock = MockOpenAi::start(Knobs::default()).await;
    let hintless = Fault::RateLimited {
        retry_after_ms: None,
        retry_after_s: None,
    };
    mock.set(|k| {
        k.faults
            .extend([hintless.clone(), hintless.clone(), hintless])
    });
    let e = OpenAiEmbedder::new(&config(&mock, |_| {}))
        .unwrap()
        .with_backoff(Duration::from_millis(40), Duration::from_millis(400));
    let t = texts(3, "c");
    assert_own_vectors(&t, &e.embed(&t).await.unwrap());
    assert_eq!(mock.request_count(), 4);
    assert_eq!(e.usage().rate_limited, 3);
    // Full jitter draws each wait from [0, 40·2^n ms]: the three waits stay under the cap.
    let total: Duration = gaps(&mock).iter().sum();
    assert!(total < Duration::from_secs(2), "{total:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried() {
    let mock = MockOpenAi::start(Knobs::default()).await;
    mock.set(|k| {
        k.faults
            .extend([Fault::Status(500), Fault::Status(503), Fault::Status(502)])
    });
    let e = embedder(&config(&mock, |c| c.max_concurrency = 1));
    let t = texts(5, "d");
    assert_own_vectors(&t, &e.embed(&t).await.unwrap());
    assert_eq!(mock.request_count(), 4);

    // A fraction of failures over many requests: everything still lands in its row.
    mock.reset_log();
    mock.set(|k| {
        k.fail_fraction = 0.3;
        k.fail_status = 503;
    });
    let e = embedder(&config(&mock, |c| {
        c.max_inputs_per_request = 10;
        c.max_retries = 10
    }));
    let t = texts(200, "d2");
    assert_own_vectors(&t, &e.embed(&t).await.unwrap());
    assert!(mock.count_status(503) > 0);
    assert_eq!(mock.count_status(200), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_retries_are_transient() {
    let mock = MockOpenAi::start(Knobs::default()).await;
    mock.set(|k| k.always = Some(Fault::Status(500)));
    let e = embedder(&config(&mock, |c| c.max_retries = 2));
    let err = e.embed(&texts(3, "e")).await.unwrap_err();
    assert!(matches!(err, EmbedError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("500"), "{err}");
    assert_eq!(mock.request_count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_are_retried() {
    let mock = MockOpenAi::start(Knobs::default()).await;
    mock.set(|k| k.faults.push_back(Fault::Hang(Duration::from_secs(3))));
    let e = embedder(&config(&mock, |_| {})).with_timeout(Duration::from_millis(300));
    let t = texts(4, "f");
    let started = Instant::now();
    assert_own_vectors(&t, &e.embed(&t).await.unwrap());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(mock.request_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_retried_and_never_written() {
    let mock = MockOpenAi::start(Knobs::default()).await;
    mock.set(|k| {
        k.faults.extend([
            Fault::Truncated,
            Fault::Malformed,
            Fault::Nan,
            Fault::MissingIndex,
        ])
    });
    let e = embedder(&config(&mock, |c| c.max_concurrency = 1));
    let t = texts(6, "g");
    assert_own_vectors(&t, &e.embed(&t).await.unwrap());
    assert_eq!(mock.request_count(), 5);
    assert_eq!(mock.count_status(200), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shuffled_items_are_mapped_by_index() {
    let mock = MockOpenAi::start(Knobs {
        shuffle: true,
        ..Knobs::default()
    })
    .await;
    let e = embedder(&config(&mock, |_| {}));
    let t = texts(100, "h");
    assert_own_vectors(&t, &e.embed(&t).await.unwrap());
}

/// A wrong count is retried (it may be a glitch) and then an error, never a write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_count_is_an_error_not_a_write() {
    let mock = MockOpenAi::start(Knobs {
        always: Some(Fault::WrongCount),
        ..Knobs::default()
    })
    .await;
    let e = embedder(&config(&mock, |c| c.max_retries = 2));
    let err = e.embed(&texts(4, "i")).await.unwrap_err();
    assert!(matches!(err, EmbedError::Malformed(_)), "{err:?}");
    assert!(err.to_string().contains("vectors for"), "{err}");
    assert_eq!(mock.request_count(), 3);
}

/// A server that ignores `dimensions` answers every request the same way: the first such
/// answer is a setup error naming `embedder.dimensions`, with no retry (each is paid).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_dims_is_a_setup_error_at_the_first_answer() {
    for knobs in [
        Knobs {
            always: Some(Fault::WrongDims),
            ..Knobs::default()
        },
        Knobs {
            ignore_dimensions: true,
            dims: 24,
            ..Knobs::default()
        },
    ] {
        let mock = MockOpenAi::start(knobs).await;
        let e = embedder(&config(&mock, |c| c.max_retries = 5));
        let err = e.embed(&texts(4, "i")).await.unwrap_err();
        assert!(err.is_setup(), "{err:?}");
        let msg = err.to_string();
        assert!(msg.starts_with("embedder.dimensions: "), "{msg}");
        assert!(msg.contains(&format!("but {DIMS} were asked for")), "{msg}");
        assert_eq!(mock.request_count(), 1, "not retried");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_inputs_are_isolated_by_bisection() {
    let mock = MockOpenAi::start(Knobs::default()).await;
    let mut t = texts(16, "j");
    t[5] = format!("{POISON} five");
    t[11] = format!("eleven {POISON}");
    let e = embedder(&config(&mock, |c| c.max_inputs_per_request = 16));
    let r = e.embed(&t).await.unwrap();
    for (i, (text, result)) in t.iter().zip(&r).enumerate() {
        if i == 5 || i == 11 {
            let err = result.as_ref().unwrap_err();
            assert!(
                matches!(err, EmbedError::Rejected { index, .. } if *index == i),
                "{err:?}"
            );
            assert!(err.to_string().contains(POISON_MESSAGE), "{err}");
        } else {
            assert_eq!(result.as_ref().unwrap(), &MockOpenAi::vector(text, DIMS));
        }
    }
    // 16 → 8+8 → four 4s → four 2s (two refused) → four singles.
    assert_eq!(mock.request_count(), 15);
    assert_eq!(mock.count_status(400), 9);
}

/// A deployment that takes one input per request (some Azure ones) says so in its 400:
/// the client learns it once for the run. Bisecting every batch instead would cost
/// 2n-1 requests for n inputs, batch after batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stated_input_cap_is_learned_once_for_the_run() {
    for cap in [1, 4] {
        let mock = MockOpenAi::start(Knobs {
            max_inputs: Some(cap),
            ..Knobs::default()
        })
        .await;
        let e = embedder(&config(&mock, |c| {
            c.max_inputs_per_request = 16;
            c.max_concurrency = 1;
        }));
        let first = texts(16, &format!("cap{cap}"));
        assert_own_vectors(&first, &e.embed(&first).await.unwrap());
        assert_eq!(
            (mock.count_status(400), mock.count_status(200)),
            (1, 16 / cap),
            "cap {cap}: one refusal, then requests that fit"
        );
        assert!(format!("{e:?}").contains(&format!("max_inputs_per_request: {cap}")));
        // The next batches are packed to fit from the start.
        for round in 0..3 {
            let more = texts(16, &format!("cap{cap}-{round}"));
            assert_own_vectors(&more, &e.embed(&more).await.unwrap());
        }
        assert_eq!(mock.count_status(400), 1, "cap {cap}: never refused again");
        assert_eq!(mock.request_count(), 1 + 4 * 16 / cap);
        assert!(mock
            .requests()
            .iter()
            .all(|r| r.status != 200 || r.inputs.len() <= cap));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_for_every_input_is_fatal_not_a_row_failure() {
    let mock = MockOpenAi::start(Knobs {
        poison: Some(String::new()), // every input "contains" it
        ..Knobs::default()
    })
    .await;
    let e = embedder(&config(&mock, |c| c.max_inputs_per_request = 8));
    let err = e.embed(&texts(8, "k")).await.unwrap_err();
    assert!(matches!(err, EmbedError::Setup(_)), "{err:?}");
    assert!(err.to_string().contains(POISON_MESSAGE), "{err}");
    assert!(mock.request_count() <= 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key_is_fatal_at_once() {
    let mock = MockOpenAi::start(Knobs {
        api_key: Some("the-right-key".into()),
        latency: Duration::from_millis(20),
        ..Knobs::default()
    })
    .await;
    let e = embedder(&config(&mock, |c| {
        c.max_inputs_per_request = 4;
        c.max_concurrency = 2
    }));
    let started = Instant::now();
    let err = e.embed(&texts(40, "l")).await.unwrap_err();
    assert!(matches!(err, EmbedError::Setup(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(mock.request_count() <= 2, "{}", mock.request_count());
    let msg = err.to_string();
    assert!(msg.contains("401"), "{msg}");
    assert!(!msg.contains(SECRET) && !msg.contains("S3CR3T"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
    // Later calls fail the same way without sending anything.
    let before = mock.request_count();
    assert!(matches!(
        e.embed(&texts(4, "l2")).await,
        Err(EmbedError::Setup(_))
    ));
    assert_eq!(mock.request_count(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_quota_is_fatal_not_retried() {
    let mock = MockOpenAi::start(Knobs {
        always: Some(Fault::QuotaExceeded),
        ..Knobs::default()
    })
    .await;
    let e = embedder(&config(&mock, |_| {}));
    let err = e.embed(&texts(3, "qx")).await.unwrap_err();
    assert!(matches!(err, EmbedError::Setup(_)), "{err:?}");
    assert!(err.to_string().contains("quota"), "{err}");
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_model_is_fatal() {
    let mock = MockOpenAi::start(Knobs::default()).await;
    let e = embedder(&config(&mock, |c| {
        c.model = "text-embedding-9-huge".into();
        c.max_concurrency = 1;
    }));
    let err = e.embed(&texts(40, "m")).await.unwrap_err();
    assert!(matches!(err, EmbedError::Setup(_)), "{err:?}");
    assert!(err.to_string().contains("text-embedding-9-huge"), "{err}");
    assert_eq!(mock.request_count(), 1);

    // A wrong base URL (404 on the path) is fatal too.
    let mut c = config(&mock, |c| c.max_concurrency = 1);
    c.base_url = format!("http://{}/api", mock.addr);
    let err = embedder(&c).embed(&texts(2, "m2")).await.unwrap_err();
    assert!(matches!(err, EmbedError::Setup(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packing_respects_max_inputs_and_max_tokens() {
    let mock = MockOpenAi::start(Knobs::default()).await;
    // mock-embed is counted bytes/4 by both sides: 40-byte texts are 10 tokens.
    let t: Vec<String> = (0..23).map(|i| format!("{i:0>40}")).collect();
    let e = embedder(&config(&mock, |c| {
        c.model = "mock-embed".into();
        c.max_inputs_per_request = 5;
        c.max_tokens_per_request = 35;
    }));
    assert_eq!(e.count_tokens(&t[0]), 10);
    assert_own_vectors(&t, &e.embed(&t).await.unwrap());
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 8); // 3 per request (30 tokens) → 8 requests
    assert!(reqs.iter().all(|r| r.inputs.len() <= 5 && r.tokens <= 35));
    // The model's dimensions are not sent for models other than text-embedding-3*.
    assert!(reqs.iter().all(|r| r.dimensions.is_none()));

    mock.reset_log();
    let e = embedder(&config(&mock, |c| {
        c.model = "mock-embed".into();
        c.max_inputs_per_request = 5;
        c.max_tokens_per_request = 1000;
    }));
    assert_own_vectors(&t, &e.embed(&t).await.unwrap());
    let sizes: Vec<usize> = mock.requests().iter().map(|r| r.inputs.len()).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 23);
    assert!(
        sizes.iter().all(|&s| s <= 5) && sizes.len() == 5,
        "{sizes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limit_holds_across_calls() {
    let mock = MockOpenAi::start(Knobs {
        latency: Duration::from_millis(60),
        ..Knobs::default()
    })
    .await;
    let e = Arc::new(embedder(&config(&mock, |c| {
        c.max_inputs_per_request = 2;
        c.max_concurrency = 3;
    })));
    assert_eq!(e.suggested_concurrency(), 3);
    let calls = (0..3).map(|c| {
        let e = e.clone();
        tokio::spawn(async move {
            let t = texts(12, &format!("n{c}"));
            let r = e.embed(&t).await.unwrap();
            assert_own_vectors(&t, &r);
        })
    });
    for c in futures::future::join_all(calls).await {
        c.unwrap();
    }
    assert_eq!(mock.request_count(), 18);
    assert_eq!(mock.max_in_flight(), 3);
}

/// Runs `n` texts of ~10 tokens through a client against a mock limited to `tpm`.
async fn run_against_tpm(hint: RetryHint, configured: Option<u64>) -> (MockOpenAi, Duration) {
    let tpm = 120_000; // 2000 tokens/s, bucket of one second
    let mock = MockOpenAi::start(Knobs {
        tokens_per_minute: Some(tpm),
        hint,
        latency: Duration::from_millis(10),
        ..Knobs::default()
    })
    .await;
    let e = Arc::new(embedder(&config(&mock, |c| {
        c.model = "mock-embed".into();
        c.max_inputs_per_request = 10; // 100 tokens a request
        c.max_concurrency = 4;
        c.tokens_per_minute = configured;
    })));
    let started = Instant::now();
    let calls = (0..4).map(|c| {
        let e = e.clone();
        tokio::spawn(async move {
            let t: Vec<String> = (0..150).map(|i| format!("{c}-{i:0>36}")).collect();
            let r = e.embed(&t).await.unwrap();
            assert_own_vectors(&t, &r);
        })
    });
    for c in futures::future::join_all(calls).await {
        c.unwrap();
    }
    (mock, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tpm_limiter_keeps_429s_low() {
    // Limit learned from x-ratelimit-* headers: 6000 tokens at 2000/s with a 2000 burst.
    let (mock, took) = run_against_tpm(RetryHint::None, None).await;
    let limited = mock.count_status(429);
    assert!(
        limited <= 2,
        "{limited} of {} requests were 429",
        mock.request_count()
    );
    assert!(took >= Duration::from_millis(1500), "{took:?}");
    assert!(took < Duration::from_secs(6), "{took:?}");
    // Configured limit, server hints in seconds.
    let (mock, _) = run_against_tpm(RetryHint::Secs, Some(120_000)).await;
    let limited = mock.count_status(429);
    assert!(
        limited <= 1,
        "{limited} of {} requests were 429",
        mock.request_count()
    );
}

/// A `MakeWriter` that appends to a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// Captures every log line of this thread, at every level. First installs (once per
/// process) an inert global subscriber: tracing caches each log line's interest process
/// wide, computed on the thread that reaches it first, and a sibling test's thread with no
/// subscriber at all would cache "never" and silence the line here too (tokio-rs/tracing
/// issue 3611). Seen as "no log captured" in a full run on a loaded machine.
fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry())
            .expect("no other global subscriber in the tests");
    });
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    (logs, guard)
}

#[tokio::test(flavor = "current_thread")]
async fn the_key_never_leaks() {
    let (logs, _guard) = capture_logs();

    let mock = MockOpenAi::start(Knobs::default()).await;
    mock.set(|k| {
        k.faults.extend([
            Fault::Status(500),
            Fault::RateLimited {
                retry_after_ms: Some(10),
                retry_after_s: None,
            },
            Fault::Hang(Duration::from_secs(2)),
            Fault::Malformed,
        ])
    });
    let e = embedder(&config(&mock, |c| c.max_concurrency = 1))
        .with_timeout(Duration::from_millis(200));
    let t = texts(3, "o");
    assert_own_vectors(&t, &e.embed(&t).await.unwrap());
    assert!(mock
        .requests()
        .iter()
        .all(|r| r.key.as_deref() == Some(SECRET)));
    // Now the server refuses the key and echoes it back in full.
    mock.set(|k| k.api_key = Some("another-key".into()));
    let err = e.embed(&texts(2, "o2")).await.unwrap_err();

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("500"), "no log captured: {logs}");
    assert!(logs.contains("429"), "{logs}");
    for shown in [logs, err.to_string(), format!("{err:?}"), format!("{e:?}")] {
        assert!(!shown.contains(SECRET), "key leaked: {shown}");
        assert!(!shown.contains("S3CR3T"), "key leaked: {shown}");
    }
}

/// A hostile proxy echoes every request header back: neither the key nor the value of a
/// custom `embedder.headers` entry shows in the error or the log lines.
#[tokio::test(flavor = "current_thread")]
async fn header_values_never_leak() {
    const HEADER_SECRET: &str = "hdr-t0ken-QWERTY-98765";
    let (logs, _guard) = capture_logs();

    let mock = MockOpenAi::start(Knobs {
        always: Some(Fault::EchoHeaders(500)),
        ..Knobs::default()
    })
    .await;
    let e = embedder(&config(&mock, |c| {
        c.max_retries = 1;
        c.headers.insert("X-Org-Token".into(), HEADER_SECRET.into());
    }));
    let err = e.embed(&texts(2, "hdr")).await.unwrap_err();
    assert!(matches!(err, EmbedError::Unavailable(_)), "{err:?}");
    assert!(
        mock.requests().iter().all(|r| r
            .headers
            .iter()
            .any(|(n, v)| n == "x-org-token" && v == HEADER_SECRET)),
        "the header is sent"
    );
    let message = err.to_string();
    assert!(message.contains("x-org-token: ***"), "{message}");
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("x-org-token"), "no log captured: {logs}");
    for shown in [logs, message, format!("{err:?}")] {
        assert!(
            !shown.contains(HEADER_SECRET),
            "header value leaked: {shown}"
        );
        assert!(!shown.contains("S3CR3T"), "key leaked: {shown}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base64_is_requested_and_floats_are_understood() {
    let mock = MockOpenAi::start(Knobs::default()).await;
    let e = embedder(&config(&mock, |_| {}));
    let t = texts(20, "p");
    assert_own_vectors(&t, &e.embed(&t).await.unwrap());
    let reqs = mock.requests();
    assert!(reqs
        .iter()
        .all(|r| r.encoding_format.as_deref() == Some("base64")));
    assert!(reqs.iter().all(|r| r.dimensions == Some(DIMS)));
    // A server that ignores encoding_format and answers floats.
    mock.set(|k| k.floats_only = true);
    let t = texts(20, "p2");
    assert_own_vectors(&t, &e.embed(&t).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_and_cost_are_counted() {
    let mock = MockOpenAi::start(Knobs::default()).await;
    let e = embedder(&config(&mock, |c| c.max_inputs_per_request = 4));
    let mut t = texts(10, "q");
    t.push("lorem ipsum ".repeat(5000)); // 10 000 tokens: cut to 8191
    let r = e.embed(&t).await.unwrap();
    assert!(r.iter().all(|r| r.is_ok()));
    let sent = mock
        .requests()
        .into_iter()
        .flat_map(|r| r.inputs)
        .find(|t| t.starts_with("lorem"))
        .unwrap();
    let sent = &sent;
    assert!(sent.len() < t[10].len());
    assert!((8180..=8191).contains(&e.count_tokens(sent)));
    assert_eq!(r[10].as_ref().unwrap(), &MockOpenAi::vector(sent, DIMS));
    let u = e.usage();
    assert_eq!(u.requests, 3);
    assert_eq!(u.tokens, mock.tokens_served());
    assert!(u.tokens > 8191);
    assert_eq!(u.truncated_inputs, 1);
    assert_eq!(u.rate_limited, 0);
    let cost = u.cost.unwrap();
    assert!(
        (cost - u.tokens as f64 * 0.02 / 1e6).abs() < 1e-12,
        "{cost}"
    );

    // Without usage in the response, our own count is used; unknown models have no price.
    let mock = MockOpenAi::start(Knobs {
        report_usage: false,
        ..Knobs::default()
    })
    .await;
    let e = embedder(&config(&mock, |c| c.model = "mock-embed".into()));
    let t: Vec<String> = (0..3).map(|i| format!("{i:0>40}")).collect();
    e.embed(&t).await.unwrap();
    assert_eq!(e.usage().tokens, 30);
    assert_eq!(e.usage().cost, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_texts_are_never_sent() {
    let mock = MockOpenAi::start(Knobs::default()).await;
    let e = embedder(&config(&mock, |_| {}));
    let t = vec!["one".to_string(), String::new(), "three".to_string()];
    let r = e.embed(&t).await.unwrap();
    assert_eq!(r[1], Err(EmbedError::Empty { index: 1 }));
    assert_eq!(r[1].as_ref().unwrap_err().to_string(), "empty text");
    assert_eq!(r[0].as_ref().unwrap(), &MockOpenAi::vector("one", DIMS));
    assert_eq!(r[2].as_ref().unwrap(), &MockOpenAi::vector("three", DIMS));
    assert!(mock.requests().iter().all(|r| r.inputs.len() == 2));
    // Nothing to send at all: no request.
    mock.reset_log();
    assert_eq!(e.embed(&[String::new()]).await.unwrap().len(), 1);
    assert_eq!(e.embed(&[]).await.unwrap().len(), 0);
    assert_eq!(mock.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_and_extra_headers() {
    let mock = MockOpenAi::start(Knobs {
        api_key: Some(SECRET.into()),
        ..Knobs::default()
    })
    .await;
    let e = embedder(&config(&mock, |c| {
        c.base_url = format!("http://{}/openai/deployments/emb-small", mock.addr);
        c.azure_api_version = Some("2024-02-01".into());
        c.headers.insert("x-team".into(), "search".into());
    }));
    let t = texts(3, "r");
    assert_own_vectors(&t, &e.embed(&t).await.unwrap());
    let r = &mock.requests()[0];
    assert_eq!(r.path, "/openai/deployments/emb-small/embeddings");
    assert_eq!(r.query.as_deref(), Some("api-version=2024-02-01"));
    let header = |n: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("api-key"), Some(SECRET));
    assert_eq!(header("authorization"), None);
    assert_eq!(header("x-team"), Some("search"));
}

#[test]
fn missing_key_is_a_config_error_unless_loopback() {
    let c = EmbedderConfig {
        provider: "openai".into(),
        model: "text-embedding-3-small".into(),
        base_url: "https://api.openai.invalid/v1".into(),
        api_key_env: "VECSYNC_TEST_NO_SUCH_KEY".into(),
        ..EmbedderConfig::default()
    };
    let err = OpenAiEmbedder::new(&c).unwrap_err();
    assert!(err.downcast_ref::<vecsync::config::ConfigError>().is_some());
    assert_eq!(
        err.to_string(),
        "embedder.api_key_env: environment variable VECSYNC_TEST_NO_SUCH_KEY is not set"
    );
    let local = EmbedderConfig {
        base_url: "http://127.0.0.1:11434/v1".into(),
        ..c
    };
    assert!(OpenAiEmbedder::new(&local).is_ok());
}
