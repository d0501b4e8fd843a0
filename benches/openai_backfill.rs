//! Backfill throughput of the OpenAI provider under a tokens-per-minute limit.
//!
//! Against the hostile mock (tests/it/support/mock_openai.rs) with 200 ms latency and a TPM
//! limit it enforces with 429s (its bucket holds one second's worth, like a per-minute
//! limit enforced per second), this embeds 50 000 job postings of ~200 words through
//! `OpenAiEmbedder`, called the way the pipeline calls it (claims of 256 rows, 8 batches
//! in flight), and reports the achieved TPM against the limit and the 429 rate. In the
//! same run it measures the original system's pattern (50 inputs per request, one
//! request at a time) and reports the ratio of rows per second.
//!
//! `cargo bench --bench openai_backfill`; knobs (env): `VECSYNC_BENCH_ROWS` (50000),
//! `VECSYNC_BENCH_SECONDS` (target duration of one run, 30), `VECSYNC_BENCH_DIMS` (256),
//! `VECSYNC_BENCH_BASELINE_ROWS` (2000).

#[path = "../tests/it/support/mock_openai.rs"]
mod mock_openai;

#[path = "support/common.rs"]
mod support;
use support::env_usize;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mock_openai::{Knobs, MockOpenAi, RetryHint};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use vecsync::config::EmbedderConfig;
use vecsync::embed::openai::tokens::Tokenizer;
use vecsync::embed::openai::OpenAiEmbedder;
use vecsync::embed::Embedder;

const MODEL: &str = "text-embedding-3-small";

/// Varied job postings of about 200 words.
fn postings(n: usize) -> Vec<String> {
    const TITLES: &[&str] = &[
        "Senior Backend Engineer",
        "Data Analyst",
        "Product Designer",
        "Site Reliability Engineer",
        "Nurse Practitioner",
        "Warehouse Associate",
        "Account Executive",
        "Machine Learning Engineer",
        "Customer Success Manager",
        "Electrician",
        "Financial Controller",
        "Frontend Developer",
        "Registered Nurse",
        "Truck Driver",
        "Marketing Coordinator",
        "HR Business Partner",
        "Mobile Developer",
        "Security Analyst",
        "Chef de Partie",
        "Mechanical Engineer",
    ];
    const COMPANIES: &[&str] = &[
        "Acme Robotics",
        "Northwind Health",
        "Blue Fjord Logistics",
        "Helios Energy",
        "Pinecone Labs",
        "Orbital Foods",
        "Cobalt Bank",
        "Atlas Retail",
        "Quantum Freight",
        "Lumen Media",
        "Verdant Farms",
        "Ironclad Security",
        "Summit Insurance",
        "Nimbus Cloud",
        "Harbor Hotels",
    ];
    const CITIES: &[&str] = &[
        "Berlin, Germany",
        "Lyon, France",
        "Austin, TX",
        "Toronto, Canada",
        "Remote (EU)",
        "Manchester, UK",
        "Bangalore, India",
        "São Paulo, Brazil",
        "Melbourne, Australia",
        "Denver, CO",
        "Remote (US)",
        "Madrid, Spain",
        "Warsaw, Poland",
        "Osaka, Japan",
    ];
    const SKILLS: &[&str] = &[
        "Rust",
        "PostgreSQL",
        "Kubernetes",
        "Python",
        "SQL",
        "Excel",
        "Figma",
        "TypeScript",
        "React",
        "forklift certification",
        "patient care",
        "CRM tools",
        "Terraform",
        "AWS",
        "negotiation",
        "Go",
        "Kafka",
        "Spark",
        "first aid",
        "HACCP",
        "CAD",
        "SAP",
        "Swift",
        "Kotlin",
        "Tableau",
        "incident response",
        "budgeting",
        "GAAP",
        "payroll",
        "Linux",
    ];
    const DUTIES: &[&str] = &[
        "design and maintain services that handle millions of requests a day",
        "work closely with product managers to turn customer feedback into shipped features",
        "own the reliability of our production systems and lead incident reviews",
        "prepare weekly reports for the leadership team and explain what changed and why",
        "mentor junior colleagues and review their work with care",
        "keep our inventory accurate and our loading docks safe and on schedule",
        "build long-term relationships with key accounts across the region",
        "plan and deliver patient care in a busy and friendly ward",
        "improve our data pipelines so that analysts can trust every number",
        "collaborate with designers to create accessible and delightful interfaces",
        "maintain electrical installations in commercial buildings to code",
        "prepare monthly closings, reconciliations and audit documentation",
        "run experiments, measure their impact and share what we learn",
    ];
    const PERKS: &[&str] = &[
        "a generous learning budget",
        "flexible hours",
        "four-day work week in summer",
        "private health insurance",
        "a yearly team retreat",
        "stock options",
        "paid parental leave",
        "a modern office near the station",
        "home office equipment",
        "30 days of paid vacation",
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2024);
    (0..n)
        .map(|i| {
            let title = TITLES.choose(&mut rng).unwrap();
            let company = COMPANIES.choose(&mut rng).unwrap();
            let city = CITIES.choose(&mut rng).unwrap();
            let mut text = format!(
                "{title} at {company}\n{city}\n\nPosting #{i}. {company} is hiring a {title} to join a team of {} people. ",
                rng.gen_range(3..60)
            );
            let mut words = text.split_whitespace().count();
            let target = rng.gen_range(180..=220);
            while words < target {
                let sentence = match rng.gen_range(0..4) {
                    0 => format!("You will {}. ", DUTIES.choose(&mut rng).unwrap()),
                    1 => {
                        let s: Vec<&str> = SKILLS.choose_multiple(&mut rng, 3).copied().collect();
                        format!(
                            "We are looking for {} years of experience with {}, {} and {}. ",
                            rng.gen_range(1..10),
                            s[0],
                            s[1],
                            s[2]
                        )
                    }
                    2 => format!(
                        "We offer {} and {}, with a salary between {}k and {}k. ",
                        PERKS.choose(&mut rng).unwrap(),
                        PERKS.choose(&mut rng).unwrap(),
                        rng.gen_range(30..80),
                        rng.gen_range(80..160)
                    ),
                    _ => format!(
                        "In your first {} months you will {}. ",
                        rng.gen_range(2..12),
                        DUTIES.choose(&mut rng).unwrap()
                    ),
                };
                words += sentence.split_whitespace().count();
                text.push_str(&sentence);
            }
            text
        })
        .collect()
}

struct Run {
    rows: usize,
    seconds: f64,
    tokens_served: u64,
    requests: usize,
    rate_limited: usize,
}

/// Embeds `texts` the way the pipeline does: claims of `claim` rows, `callers` in flight.
async fn backfill(
    e: Arc<OpenAiEmbedder>,
    texts: Arc<Vec<String>>,
    claim: usize,
    callers: usize,
) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers = (0..callers).map(|_| {
        let (e, texts, next) = (e.clone(), texts.clone(), next.clone());
        tokio::spawn(async move {
            loop {
                let start = next.fetch_add(claim, Ordering::Relaxed);
                if start >= texts.len() {
                    break;
                }
                let chunk = &texts[start..(start + claim).min(texts.len())];
                let results = e.embed(chunk).await.expect("embed failed");
                assert!(results.iter().all(|r| r.is_ok()));
            }
        })
    });
    for w in futures::future::join_all(workers).await {
        w.unwrap();
    }
    started.elapsed().as_secs_f64()
}

fn config(mock: &MockOpenAi, dims: usize, f: impl FnOnce(&mut EmbedderConfig)) -> EmbedderConfig {
    let mut c = EmbedderConfig {
        provider: "openai".into(),
        model: MODEL.into(),
        dimensions: Some(dims),
        base_url: mock.base_url(),
        api_key_env: "VECSYNC_BENCH_NO_KEY".into(), // loopback: no key needed
        timeout_seconds: 30,
        ..EmbedderConfig::default()
    };
    f(&mut c);
    c
}

async fn measure(
    mock: &MockOpenAi,
    texts: Arc<Vec<String>>,
    cfg: EmbedderConfig,
    claim: usize,
    callers: usize,
) -> Run {
    mock.reset_log();
    let e = Arc::new(OpenAiEmbedder::new(&cfg).unwrap());
    let rows = texts.len();
    let seconds = backfill(e, texts, claim, callers).await;
    Run {
        rows,
        seconds,
        tokens_served: mock.tokens_served(),
        requests: mock.request_count(),
        rate_limited: mock.count_status(429),
    }
}

fn report(name: &str, r: &Run, tpm: Option<u64>) {
    let achieved = r.tokens_served as f64 / (r.seconds / 60.0);
    print!(
        "{name}: {} rows in {:.1} s = {:.0} rows/s; {} requests, {} answered 429 ({:.2}%)",
        r.rows,
        r.seconds,
        r.rows as f64 / r.seconds,
        r.requests,
        r.rate_limited,
        100.0 * r.rate_limited as f64 / r.requests.max(1) as f64
    );
    if let Some(l) = tpm {
        print!(
            "; achieved {:.2}M TPM of {:.2}M = {:.1}%",
            achieved / 1e6,
            l as f64 / 1e6,
            100.0 * achieved / l as f64
        );
    }
    println!();
}

fn main() {
    let rows = env_usize("VECSYNC_BENCH_ROWS", 50_000);
    let target = env_usize("VECSYNC_BENCH_SECONDS", 30) as f64;
    let dims = env_usize("VECSYNC_BENCH_DIMS", 256);
    let baseline_rows = env_usize("VECSYNC_BENCH_BASELINE_ROWS", 2_000).min(rows);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let started = Instant::now();
        let texts = Arc::new(postings(rows));
        let sample: Vec<usize> = texts
            .iter()
            .take(2000)
            .map(|t| Tokenizer::Cl100k.count(t))
            .collect();
        let mean = sample.iter().sum::<usize>() as f64 / sample.len() as f64;
        let words = texts[..2000.min(rows)]
            .iter()
            .map(|t| t.split_whitespace().count())
            .sum::<usize>() as f64
            / 2000f64.min(rows as f64);
        let total_est = mean * rows as f64;
        // A limit that makes one run take about `target` seconds.
        let tpm = ((total_est / (target / 60.0)) / 1e5).round() as u64 * 100_000;
        println!(
            "{rows} postings, {words:.0} words / {mean:.0} tokens each (cl100k), ~{:.1}M tokens; generated in {:.1} s",
            total_est / 1e6,
            started.elapsed().as_secs_f64()
        );
        println!(
            "mock: 200 ms latency, {:.1}M tokens/min enforced with 429 (bucket of 1 s), {dims} dimensions, base64",
            tpm as f64 / 1e6
        );
        let mock = MockOpenAi::start(Knobs {
            latency: Duration::from_millis(200),
            dims,
            tokens_per_minute: Some(tpm),
            burst: Duration::from_secs(1),
            hint: RetryHint::Ms,
            poison: None,
            tokenizer: Some(Tokenizer::Cl100k),
            ..Knobs::default()
        })
        .await;

        // The original system's pattern: 50 inputs per request, one request at a time.
        let base_texts = Arc::new(texts[..baseline_rows].to_vec());
        let base_cfg = config(&mock, dims, |c| {
            c.max_inputs_per_request = 50;
            c.max_concurrency = 1;
        });
        let base = measure(&mock, base_texts, base_cfg, 50, 1).await;
        report("original (50/request, 1 in flight)", &base, None);
        tokio::time::sleep(Duration::from_secs(2)).await; // let the mock's bucket refill

        // vecsync with tokens_per_minute set to the account's limit.
        let cfg = config(&mock, dims, |c| {
            c.max_inputs_per_request = 256;
            c.max_concurrency = 8;
            c.tokens_per_minute = Some(tpm);
        });
        let configured = measure(&mock, texts.clone(), cfg, 256, 8).await;
        report("vecsync, tokens_per_minute set", &configured, Some(tpm));
        tokio::time::sleep(Duration::from_secs(2)).await;

        // vecsync learning the limit from x-ratelimit-* headers only.
        let cfg = config(&mock, dims, |c| {
            c.max_inputs_per_request = 256;
            c.max_concurrency = 8;
        });
        let learned = measure(&mock, texts.clone(), cfg, 256, 8).await;
        report("vecsync, limit learned from headers", &learned, Some(tpm));

        let base_rps = base.rows as f64 / base.seconds;
        for (name, r) in [("set", &configured), ("learned", &learned)] {
            println!(
                "speed-up over the original pattern ({name}): {:.1}x",
                (r.rows as f64 / r.seconds) / base_rps
            );
        }
    });
}
