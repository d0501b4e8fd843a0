//! Throughput of the built-in all-MiniLM-L6-v2 embedder: texts per second for
//! job-posting-length texts (150–250 words) and short texts (~10 words).
//!
//! `cargo bench --bench local_model` (or scripts/bench-local-model.sh, which also runs
//! a sentence-transformers baseline on the same texts). Prints one JSON object.
//!
//! Options (after `--`): `--threads N` (2), `--batch N` (32), `--jobs N` (256),
//! `--short N` (2048), `--repeat N` (3: the best run counts, so a busy machine
//! disturbs the figure less), `--quantize none|int8` (none), `--dump-texts PATH`
//! (write the texts as JSON and exit).

use std::time::Instant;

use vecsync::config::EmbedderConfig;
use vecsync::embed::local::LocalEmbedder;
use vecsync::embed::Embedder;

// As in the vecsync binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A tiny deterministic generator (SplitMix64), so every run embeds the same texts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const TITLES: &[&str] = &[
    "Senior Backend Engineer",
    "Registered Nurse",
    "Data Analyst",
    "Warehouse Associate",
    "Product Designer",
    "Account Executive",
    "DevOps Engineer",
    "Customer Support Specialist",
    "Machine Learning Engineer",
    "Electrician",
    "Financial Controller",
    "High School Teacher",
    "Site Reliability Engineer",
    "Marketing Manager",
    "Truck Driver (CDL-A)",
    "Pharmacist",
];
const COMPANIES: &[&str] = &[
    "Northwind Logistics",
    "Acme Analytics",
    "Globex Health",
    "Initech",
    "Umbrella Retail",
    "Stark Energy",
    "Wayne Financial",
    "Hooli Cloud",
    "Vandelay Industries",
    "Soylent Foods",
];
const LOCATIONS: &[&str] = &[
    "Berlin, Germany",
    "Austin, TX",
    "Remote (EU)",
    "London, UK",
    "Toronto, ON",
    "Bangalore, India",
    "São Paulo, Brazil",
    "Chicago, IL",
    "Sydney, Australia",
    "Paris, France",
];
const SENTENCES: &[&str] = &[
    "You will design, build and operate services that handle millions of requests a day.",
    "We are a small team that values calm, focused work and clear written communication.",
    "Experience with PostgreSQL, Kafka or similar systems is a strong plus.",
    "The role includes a light on-call rotation with a paid stand-by allowance.",
    "You will work closely with product managers, designers and our customers.",
    "We offer a competitive salary, equity, 28 days of paid holiday and a learning budget.",
    "Patient safety and quality of care are at the heart of everything we do.",
    "A valid driving licence and the ability to lift 50 pounds are required.",
    "You have three or more years of experience in a similar position.",
    "Fluency in English is required; German or French is a plus.",
    "Our hiring process has four steps and we answer every application within a week.",
    "You will mentor junior colleagues and review their work with care.",
    "Benefits include health, dental and vision insurance and a 401(k) match.",
    "The position is full time, Monday to Friday, with flexible hours.",
    "You will own the quarterly roadmap and report to the head of department.",
    "Knowledge of Excel, SQL and one BI tool such as Tableau or Looker is expected.",
    "We are an equal opportunity employer and welcome applicants of every background.",
    "Night and weekend shifts are paid at a higher rate.",
    "You will keep our infrastructure secure, observable and cheap to run.",
    "Relocation support is available for candidates moving from abroad.",
];
const WORDS: &[&str] = &[
    "remote",
    "hybrid",
    "senior",
    "junior",
    "python",
    "rust",
    "excel",
    "nurse",
    "shift",
    "salary",
    "bonus",
    "team",
    "customer",
    "warehouse",
    "forklift",
    "sales",
    "design",
    "cloud",
    "kubernetes",
    "teacher",
    "classroom",
    "driver",
    "route",
    "pharmacy",
];

/// A job posting of 150–250 words: title, company, location, then sentences.
fn job_text(rng: &mut Rng) -> String {
    let target = 150 + rng.below(101);
    let mut text = format!(
        "{} at {}\n{}\n\n",
        rng.pick(TITLES),
        rng.pick(COMPANIES),
        rng.pick(LOCATIONS)
    );
    let mut words = text.split_whitespace().count();
    while words < target {
        let s = rng.pick(SENTENCES);
        words += s.split_whitespace().count();
        text.push_str(s);
        text.push(' ');
    }
    text.truncate(text.trim_end().len());
    text
}

/// About 10 words: a title and a few keywords.
fn short_text(rng: &mut Rng) -> String {
    let mut text = format!("{} in {}", rng.pick(TITLES), rng.pick(LOCATIONS));
    for _ in 0..(3 + rng.below(4)) {
        text.push(' ');
        text.push_str(rng.pick(WORDS));
    }
    text
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let num = |name: &str, default: usize| -> usize {
        arg(&args, name).map_or(default, |v| v.parse().expect(name))
    };
    let (threads, batch) = (num("--threads", 2), num("--batch", 32));
    let (n_jobs, n_short) = (num("--jobs", 256), num("--short", 2048));
    let repeat = num("--repeat", 3).max(1);

    let mut rng = Rng(42);
    let jobs: Vec<String> = (0..n_jobs).map(|_| job_text(&mut rng)).collect();
    let short: Vec<String> = (0..n_short).map(|_| short_text(&mut rng)).collect();

    if let Some(path) = arg(&args, "--dump-texts") {
        let texts = serde_json::json!({ "job": jobs, "short": short });
        std::fs::write(&path, serde_json::to_string(&texts)?)?;
        eprintln!("wrote {} + {} texts to {path}", jobs.len(), short.len());
        return Ok(());
    }

    let quantize = arg(&args, "--quantize").unwrap_or_else(|| "none".into());
    let config = EmbedderConfig {
        batch_size: batch,
        threads,
        quantize: quantize.clone(),
        ..EmbedderConfig::default()
    };
    let start = Instant::now();
    let model = LocalEmbedder::load(&config)?;
    let load_seconds = start.elapsed().as_secs_f64();

    let mut results = serde_json::Map::new();
    for (name, texts) in [("job", &jobs), ("short", &short)] {
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let tokens: usize = texts.iter().map(|t| model.count_tokens(t)).sum();
        let words: usize = texts.iter().map(|t| t.split_whitespace().count()).sum();
        // Warm-up.
        model.embed_blocking(&texts[..batch.min(texts.len())])?;
        // One call with every text, like sentence-transformers' `encode(texts,
        // batch_size=…)`: both sort by length and run batches of `batch`.
        let mut runs = Vec::new();
        for _ in 0..repeat {
            let start = Instant::now();
            let vectors = model.embed_blocking(&texts)?;
            runs.push(start.elapsed().as_secs_f64());
            assert_eq!(vectors.len(), texts.len());
        }
        let seconds = runs.iter().copied().fold(f64::MAX, f64::min);
        results.insert(
            name.into(),
            serde_json::json!({
                "texts": texts.len(),
                "avg_words": words as f64 / texts.len() as f64,
                "avg_tokens": tokens as f64 / texts.len() as f64,
                "seconds": seconds,
                "runs_seconds": runs,
                "texts_per_s": texts.len() as f64 / seconds,
                "tokens_per_s": tokens as f64 / seconds,
            }),
        );
    }
    let report = serde_json::json!({
        "implementation": format!("vecsync (onnxruntime, quantize = {quantize})"),
        "quantize": quantize,
        "threads": model.threads(),
        "batch_size": batch,
        "load_seconds": load_seconds,
        "results": results,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
