//! The built-in all-MiniLM-L6-v2 embedder (onnxruntime) against the real model files,
//! float32 and int8.
//!
//! Needs `scripts/fetch-model.sh` to have run (it puts the files in
//! models/all-MiniLM-L6-v2); without them these tests fail, on purpose, rather than
//! skip: a green run must mean the model was checked.

use std::path::PathBuf;
use std::sync::OnceLock;

use vecsync::config::{ConfigError, EmbedderConfig};
use vecsync::embed::local::LocalEmbedder;
use vecsync::embed::Embedder;

fn model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2")
}

fn config(dir: Option<PathBuf>) -> EmbedderConfig {
    EmbedderConfig {
        model_dir: dir,
        batch_size: 32,
        threads: 2,
        ..EmbedderConfig::default()
    }
}

fn load(quantize: &str) -> LocalEmbedder {
    let dir = model_dir();
    assert!(
        dir.join("model.onnx").is_file(),
        "model files missing in {}: run scripts/fetch-model.sh first",
        dir.display()
    );
    let config = EmbedderConfig {
        quantize: quantize.into(),
        ..config(Some(dir))
    };
    LocalEmbedder::load(&config).expect("load the local model")
}

/// The float32 model (the default).
fn model() -> &'static LocalEmbedder {
    static MODEL: OnceLock<LocalEmbedder> = OnceLock::new();
    MODEL.get_or_init(|| load("none"))
}

/// `embedder.quantize = "int8"`.
fn model_int8() -> &'static LocalEmbedder {
    static MODEL: OnceLock<LocalEmbedder> = OnceLock::new();
    MODEL.get_or_init(|| load("int8"))
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

struct Reference {
    text: String,
    tokens: usize,
    vector: Vec<f32>,
}

fn references() -> Vec<Reference> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/reference_vectors.json");
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    rows.into_iter()
        .map(|r| Reference {
            text: r["text"].as_str().unwrap().to_string(),
            tokens: r["tokens"].as_u64().unwrap() as usize,
            vector: r["vector"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect(),
        })
        .collect()
}

/// A long, varied, deterministic text of `words` words.
fn long_text(words: usize) -> String {
    const VOCAB: [&str; 16] = [
        "engineer",
        "Rust",
        "database",
        "remote",
        "salary",
        "team",
        "Berlin",
        "on-call",
        "PostgreSQL",
        "benefits",
        "mentoring",
        "latency",
        "customers",
        "roadmap",
        "2025",
        "ownership",
    ];
    (0..words)
        .map(|i| VOCAB[(i * 7 + i / 5) % VOCAB.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Embeds every reference text in one call (mixed lengths, so sorting, batching and
/// padding are exercised) and requires cosine >= `min_cosine` to each reference vector.
fn check_references(m: &LocalEmbedder, min_cosine: f64) {
    let refs = references();
    assert!(refs.len() >= 20);
    let texts: Vec<&str> = refs.iter().map(|r| r.text.as_str()).collect();
    let got = m.embed_blocking(&texts).unwrap();
    let mut worst = (f64::MAX, "");
    let mut max_diff = 0f32;
    for (r, v) in refs.iter().zip(&got) {
        assert_eq!(v.len(), 384);
        let c = cosine(v, &r.vector);
        if c < worst.0 {
            worst = (c, &r.text);
        }
        let diff = v.iter().zip(&r.vector).map(|(a, b)| (a - b).abs());
        max_diff = diff.fold(max_diff, f32::max);
        assert!(c >= min_cosine, "cosine {c} for {:?}", r.text);
    }
    eprintln!(
        "vs reference: min cosine 1 - {:.1e} ({:?}), max abs diff {max_diff:.1e}",
        1.0 - worst.0,
        worst.1
    );
}

#[test]
fn matches_reference_vectors() {
    check_references(model(), 0.9999);
}

#[test]
fn int8_matches_reference_vectors() {
    check_references(model_int8(), 0.999);
}

/// The demo's example queries over a few hundred demo postings: int8 ranks the same
/// postings first as float32.
#[test]
fn int8_finds_what_float32_finds_for_the_demo_queries() {
    let postings = vecsync::demo::generate(300, vecsync::demo::DEFAULT_SEED);
    // The demo's default template.
    let texts: Vec<String> = postings
        .iter()
        .map(|p| {
            format!(
                "{} at {}\n{}\n\n{}",
                p.title, p.company, p.location, p.description
            )
        })
        .collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let top = |m: &LocalEmbedder, vectors: &[Vec<f32>], query: &str| -> Vec<usize> {
        let q = &m.embed_blocking(&[query]).unwrap()[0];
        let mut ranked: Vec<(f64, usize)> = vectors
            .iter()
            .enumerate()
            .map(|(i, v)| (cosine(q, v), i))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.into_iter().take(5).map(|(_, i)| i).collect()
    };
    let fp32 = model().embed_blocking(&texts).unwrap();
    let int8 = model_int8().embed_blocking(&texts).unwrap();
    for (query, field) in vecsync::demo::EXAMPLE_QUERIES {
        let (a, b) = (top(model(), &fp32, query), top(model_int8(), &int8, query));
        let titles = |ids: &[usize]| -> Vec<&str> {
            ids.iter().map(|&i| postings[i].title.as_str()).collect()
        };
        assert_eq!(
            a[0],
            b[0],
            "{query}: top result {:?} vs {:?}",
            titles(&a),
            titles(&b)
        );
        let mut sorted = (a.clone(), b.clone());
        sorted.0.sort_unstable();
        sorted.1.sort_unstable();
        assert_eq!(
            sorted.0,
            sorted.1,
            "{query}: top 5 {:?} vs {:?}",
            titles(&a),
            titles(&b)
        );
        // And the comparison is about real results: the top one is in the query's field.
        assert_eq!(
            vecsync::demo::field_of(&postings[a[0]].title),
            Some(*field),
            "{query}"
        );
    }
}

#[test]
fn count_tokens_is_the_exact_word_piece_count() {
    let m = model();
    for r in references() {
        assert_eq!(m.count_tokens(&r.text), r.tokens, "{:?}", r.text);
    }
    assert_eq!(m.count_tokens("Hello world"), 4); // [CLS] hello world [SEP]
    assert_eq!(m.count_tokens(&long_text(1000)), 256);
}

#[test]
fn vectors_are_unit_length_with_384_dimensions() {
    let m = model();
    assert_eq!(m.dimensions(), 384);
    assert_eq!(m.model_id(), "all-MiniLM-L6-v2");
    for v in m
        .embed_blocking(&["a", "Hello world", &long_text(300)])
        .unwrap()
    {
        assert_eq!(v.len(), 384);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
    }
}

#[test]
fn batch_results_come_back_in_input_order() {
    let m = model();
    // Mixed lengths in an order that sorting by length changes, more than one batch.
    let mut texts: Vec<String> = (0..40)
        .map(|i| match i % 5 {
            0 | 3 => format!("short text number {i}"),
            1 => long_text(20 + i * 7),
            2 if i % 3 == 0 => format!("{} {i}", long_text(400)),
            _ => format!("job {i}: {}", long_text(90)),
        })
        .collect();
    // A deterministic shuffle.
    for i in (1..texts.len()).rev() {
        texts.swap(i, (i * 31 + 17) % (i + 1));
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let batched = m.embed_blocking(&refs).unwrap();
    assert_eq!(batched.len(), texts.len());
    for (t, v) in refs.iter().zip(&batched) {
        let alone = &m.embed_blocking(&[t]).unwrap()[0];
        let c = cosine(v, alone);
        assert!(
            c > 0.99999,
            "cosine {c} between batched and alone for {t:?}"
        );
        let diff = v
            .iter()
            .zip(alone)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-4, "max abs diff {diff} for {t:?}");
    }
    // And the check above can tell texts apart.
    assert!(cosine(&batched[0], &batched[1]) < 0.999);
}

#[test]
fn texts_past_256_word_pieces_are_truncated() {
    let m = model();
    let text = long_text(600);
    assert!(m.count_tokens(&text) == 256);
    // The shortest word prefix that already reaches the limit embeds the same: nothing
    // after the 256th word piece counts.
    let words: Vec<&str> = text.split(' ').collect();
    let n = (1..words.len())
        .find(|&n| m.count_tokens(&words[..n].join(" ")) == 256)
        .unwrap();
    let prefix = words[..n].join(" ");
    let shorter = words[..n - 1].join(" ");
    let v = m.embed_blocking(&[&text, &prefix, &shorter]).unwrap();
    assert!(cosine(&v[0], &v[1]) > 0.99999);
    assert!(
        cosine(&v[0], &v[2]) < 0.999999,
        "the last word piece must matter"
    );

    // A huge text (tokenized from a prefix, see `Inner::tokenize`) embeds like its start.
    let huge = long_text(100_000);
    assert!(huge.len() > 500_000);
    let v = m.embed_blocking(&[&huge, &prefix]).unwrap();
    assert!(cosine(&v[0], &v[1]) > 0.99999);
    // Without whitespace to cut at, the whole text is tokenized (one [UNK] per 100+
    // chars word): still fine.
    let blob = "x".repeat(200_000);
    assert_eq!(m.count_tokens(&blob), 3);
    assert_eq!(m.embed_blocking(&[&blob]).unwrap()[0].len(), 384);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embed_trait_returns_one_ok_per_input() {
    let m = model();
    let before = m.usage();
    let texts: Vec<String> = vec!["Rust engineer".into(), long_text(400), "ﷺ 🦀".into()];
    let out = m.embed(&texts).await.unwrap();
    assert_eq!(out.len(), 3);
    let direct = m
        .embed_blocking(&texts.iter().map(String::as_str).collect::<Vec<_>>())
        .unwrap();
    for (r, d) in out.iter().zip(&direct) {
        assert_eq!(r.as_ref().unwrap(), d);
    }
    let after = m.usage();
    assert!(after.requests > before.requests);
    assert!(after.tokens >= before.tokens + 256);
    assert!(after.truncated_inputs > before.truncated_inputs);
    assert_eq!(m.suggested_concurrency(), 2);
    assert!(m.embed_blocking(&[]).unwrap().is_empty());
}

#[test]
fn default_dir_is_found_without_configuration() {
    assert!(
        model_dir().join("model.safetensors").is_file(),
        "run scripts/fetch-model.sh"
    );
    // cargo runs tests from the package root, where models/all-MiniLM-L6-v2 lives.
    let dir = vecsync::embed::local::find_model_dir(&config(None)).unwrap();
    assert!(dir.join("tokenizer.json").is_file());
}

#[test]
fn missing_model_dir_says_how_to_fetch_it() {
    let empty = tempfile::tempdir().unwrap();
    let err = match LocalEmbedder::load(&config(Some(empty.path().to_path_buf()))) {
        Ok(_) => panic!("loaded a model from an empty folder"),
        Err(e) => e,
    };
    assert!(err.downcast_ref::<ConfigError>().is_some(), "{err:#}");
    let msg = err.to_string();
    assert!(msg.contains("scripts/fetch-model.sh"), "{msg}");
    assert!(msg.contains(&empty.path().display().to_string()), "{msg}");
    assert!(msg.contains("VECSYNC_MODEL_DIR"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
}

/// On a CPU without AVX-512 (this suite's machines may have it; some users' do not), the
/// binary runs and its vectors match the references, float32 and int8: vecsync, run by
/// qemu-user as a Haswell (AVX2 and FMA, no AVX-512, no VNNI), embeds three reference texts
/// through `vecsync embed`. onnxruntime picks its kernels from the CPU's features at run
/// time, so only such a CPU exercises its AVX2 paths; an instruction the CPU lacks would
/// end the process with SIGILL. Speed is not measured (emulation). scripts/test.sh
/// installs qemu-user; without it this fails. scripts/check-no-avx512.sh does the same
/// with the release binary and more texts.
#[test]
fn runs_on_a_cpu_without_avx512() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let refs: Vec<Reference> = references()
        .into_iter()
        .filter(|r| !r.text.is_empty() && !r.text.contains(['\n', '\r']))
        .take(3)
        .collect();
    let stdin: String = refs.iter().map(|r| format!("{}\n", r.text)).collect();
    let dir = tempfile::tempdir().unwrap();
    for (quantize, min_cosine) in [("none", 0.9999), ("int8", 0.999)] {
        let config = dir.path().join("vecsync.toml");
        std::fs::write(
            &config,
            format!("[embedder]\nquantize = \"{quantize}\"\nthreads = 2\n"),
        )
        .unwrap();
        let mut child = Command::new("qemu-x86_64")
            .args(["-cpu", "Haswell", env!("CARGO_BIN_EXE_vecsync"), "--config"])
            .arg(&config)
            .arg("--model-dir")
            .arg(model_dir())
            .arg("embed")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run qemu-x86_64 (Debian: apt-get install qemu-user; scripts/test.sh does)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = crate::common::output_within(child, std::time::Duration::from_secs(300));
        // qemu warns about every virtualisation feature its emulator lacks: not ours.
        let stderr: Vec<&str> = std::str::from_utf8(&out.stderr)
            .unwrap()
            .lines()
            .filter(|l| !l.contains("TCG doesn't support requested feature"))
            .collect();
        assert!(
            out.status.success(),
            "{quantize}: {} (132 = SIGILL: an instruction this CPU lacks)\n{}",
            out.status,
            stderr.join("\n")
        );
        let vectors: Vec<Vec<f32>> = std::str::from_utf8(&out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(vectors.len(), refs.len());
        for (r, v) in refs.iter().zip(&vectors) {
            let c = cosine(v, &r.vector);
            assert!(c >= min_cosine, "{quantize}: cosine {c} for {:?}", r.text);
        }
    }
}
