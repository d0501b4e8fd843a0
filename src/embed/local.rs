//! sentence-transformers/all-MiniLM-L6-v2, run in-process on CPU with onnxruntime.
//!
//! What sentence-transformers does, reproduced here step by step so the vectors match
//! it (cosine ≥ 0.9999, checked by `tests/local_model.rs` against reference vectors
//! made by an independent implementation):
//! 1. word-piece tokenization with [CLS]/[SEP], truncated to 256 tokens;
//! 2. the 6-layer BERT encoder: an ONNX graph of onnxruntime's fused CPU operators,
//!    built from model.safetensors by `scripts/build-onnx-model.py`;
//! 3. mean pooling of the last hidden states over the real (unpadded) tokens;
//! 4. L2 normalisation, giving 384-dimensional unit vectors.
//!
//! onnxruntime is not linked: its library (`libonnxruntime.so`, from the `onnxruntime`
//! Python wheel) is loaded when the model is. `scripts/fetch-model.sh` puts it, the
//! tokenizer and the graphs in models/all-MiniLM-L6-v2/; see docs/local-model.md for
//! speed and fidelity figures.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use async_trait::async_trait;
use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;
use rayon::prelude::*;
use tokenizers::{Encoding, Tokenizer, TruncationParams};

use super::{EmbedError, Embedder, InputResult, Usage};
use crate::config::EmbedderConfig;

pub const MODEL_ID: &str = "all-MiniLM-L6-v2";
pub const DIMENSIONS: usize = 384;

/// Where `scripts/fetch-model.sh` puts the files, relative to the repository root.
pub const DEFAULT_MODEL_DIR: &str = "models/all-MiniLM-L6-v2";
const TOKENIZER_FILE: &str = "tokenizer.json";
/// The float32 graph, and its int8 version (`embedder.quantize = "int8"`), both built
/// by `scripts/build-onnx-model.py`.
const GRAPH_FILE: &str = "model.onnx";
const GRAPH_INT8_FILE: &str = "model-int8.onnx";

/// sentence-transformers runs this model with `max_seq_length = 256` (its
/// sentence_bert_config.json), [CLS] and [SEP] included. The tokenizer.json shipped
/// with the model says 128 instead; keeping 128 would make every long text's vector
/// differ from what sentence-transformers (and so every other user of the model) gets.
const MAX_TOKENS: usize = 256;

/// Padded tokens per forward pass (16 texts of 256 tokens): attention memory grows
/// with batch × length², and bigger passes are no faster. Short texts still go
/// `batch_size` at a time.
const MAX_BATCH_TOKENS: usize = 4096;

/// Texts longer than this are first tokenized from a prefix; see [`Inner::tokenize`].
const PREFIX_BYTES: usize = 32 * 1024;

pub struct LocalEmbedder {
    inner: Arc<Inner>,
}

struct Inner {
    tokenizer: Tokenizer,
    /// Tokenizes the texts of a call in parallel, with `threads` threads.
    pool: rayon::ThreadPool,
    threads: usize,
    batch_size: usize,
    dir: PathBuf,
    /// The session and its reused input buffers. Holding the lock is also what keeps
    /// forward passes one at a time: one pass already uses every thread, two would only
    /// fight over caches.
    runner: Mutex<Runner>,
    requests: AtomicU64,
    tokens: AtomicU64,
    truncated: AtomicU64,
}

struct Runner {
    session: Session,
    ids: Vec<i32>,
    mask: Vec<i32>,
    pooled: Vec<f32>,
}

impl LocalEmbedder {
    /// Loads the model from [`find_model_dir`], and onnxruntime (see `onnxruntime_path`).
    /// Missing or unreadable files are a [`crate::config::ConfigError`] that names the
    /// file and the setting, and says how to fetch them.
    pub fn load(config: &EmbedderConfig) -> anyhow::Result<LocalEmbedder> {
        let dir = find_model_dir(config)?;
        let unreadable = |file: &str, e: &dyn std::fmt::Display| -> anyhow::Error {
            crate::config_error!(
                "local model: cannot read {}: {e} (run `scripts/fetch-model.sh` to fetch it again)",
                dir.join(file).display()
            )
        };

        let mut tokenizer = Tokenizer::from_file(dir.join(TOKENIZER_FILE))
            .map_err(|e| unreadable(TOKENIZER_FILE, &e))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| unreadable(TOKENIZER_FILE, &e))?;
        // tokenizer.json pads every input to 128 tokens. Padding is per batch instead
        // (to the longest text of the batch), done in `forward`.
        tokenizer.with_padding(None);

        let threads = if config.threads > 0 {
            config.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        let graph = graph_file(config);
        let env = environment(&onnxruntime_path(config, &dir))?;
        let session = (|| -> ort::Result<Session> {
            Session::builder(env)?
                .with_intra_threads(threads)?
                .with_inter_threads(1)?
                .with_optimization_level(GraphOptimizationLevel::All)?
                .commit_from_file(dir.join(graph))
        })()
        .map_err(|e| unreadable(graph, &e))?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("vecsync-tokenizer-{i}"))
            .build()
            .context("local model: cannot start its threads")?;

        Ok(LocalEmbedder {
            inner: Arc::new(Inner {
                tokenizer,
                pool,
                threads,
                batch_size: config.batch_size.max(1),
                dir,
                runner: Mutex::new(Runner {
                    session,
                    ids: Vec::new(),
                    mask: Vec::new(),
                    pooled: Vec::new(),
                }),
                requests: AtomicU64::new(0),
                tokens: AtomicU64::new(0),
                truncated: AtomicU64::new(0),
            }),
        })
    }

    /// The folder the model was loaded from.
    pub fn model_dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Threads used by a forward pass.
    pub fn threads(&self) -> usize {
        self.inner.threads
    }

    /// Embeds `texts`, blocking the calling thread until done (not for async code: use
    /// [`Embedder::embed`] there). Fails if any text cannot be tokenized, where
    /// [`Embedder::embed`] fails that text alone.
    pub fn embed_blocking(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>> {
        self.inner
            .embed(texts)?
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.map_err(|reason| anyhow::anyhow!("input {i}: {reason}")))
            .collect()
    }
}

/// The graph `config.quantize` asks for.
fn graph_file(config: &EmbedderConfig) -> &'static str {
    match config.quantize.as_str() {
        "int8" => GRAPH_INT8_FILE,
        _ => GRAPH_FILE,
    }
}

/// The onnxruntime library: `embedder.onnxruntime`, else `ORT_DYLIB_PATH` (the variable
/// onnxruntime's Rust bindings use), else `libonnxruntime.so` in the model folder,
/// where `scripts/fetch-model.sh` puts it.
fn onnxruntime_path(config: &EmbedderConfig, model_dir: &Path) -> PathBuf {
    config
        .onnxruntime
        .clone()
        .or_else(|| {
            std::env::var_os("ORT_DYLIB_PATH")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| model_dir.join(onnxruntime_file_name()))
}

/// `libonnxruntime.so` (Linux), `libonnxruntime.dylib` (macOS), `onnxruntime.dll`.
fn onnxruntime_file_name() -> String {
    use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
    format!("{DLL_PREFIX}onnxruntime{DLL_SUFFIX}")
}

/// The process's onnxruntime environment, made on first use from the library at `lib`.
/// onnxruntime allows one per process, so every model shares it; a later call naming
/// another library gets the first one. A failure is not kept: a later call may succeed.
fn environment(lib: &Path) -> anyhow::Result<&'static Environment> {
    static ENV: OnceLock<Environment> = OnceLock::new();
    static INIT: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INIT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(env) = ENV.get() {
        return Ok(env);
    }
    let fix = "run `scripts/fetch-model.sh` (or `make model`), or set embedder.onnxruntime / ORT_DYLIB_PATH";
    if !lib.is_file() {
        return Err(crate::config_error!(
            "local model: onnxruntime library not found at {}: {fix}",
            lib.display()
        ));
    }
    let env = ort::init_from(lib)
        .map_err(|e| e.to_string())
        .and_then(|b| b.with_name("vecsync").build().map_err(|e| e.to_string()))
        .map_err(|e| {
            crate::config_error!(
                "local model: cannot load onnxruntime from {}: {e}: {fix}",
                lib.display()
            )
        })?;
    Ok(ENV.get_or_init(|| env))
}

/// The folder holding the model files: `config.model_dir` when set (the config layer
/// has already merged `--model-dir` and `VECSYNC_MODEL_DIR` into it), else
/// `models/all-MiniLM-L6-v2` in the current directory, else in a parent of the
/// executable (so `target/release/vecsync` finds the repository's copy from any
/// directory). Never downloads anything.
pub fn find_model_dir(config: &EmbedderConfig) -> anyhow::Result<PathBuf> {
    let how_to_fix =
        "run `scripts/fetch-model.sh` (or `make model`), or set VECSYNC_MODEL_DIR / --model-dir";
    let required = [TOKENIZER_FILE, graph_file(config)];
    let missing = |dir: &Path| required.into_iter().find(|f| !dir.join(f).is_file());
    if let Some(dir) = &config.model_dir {
        return match missing(dir) {
            None => Ok(dir.clone()),
            Some(file) => Err(crate::config_error!(
                "local model files not found in {} (no {file}): {how_to_fix}",
                dir.display()
            )),
        };
    }

    let mut candidates = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        candidates.push(cwd.join(DEFAULT_MODEL_DIR));
    }
    if let Ok(exe) = std::env::current_exe() {
        let exe = exe.canonicalize().unwrap_or(exe);
        candidates.extend(exe.ancestors().skip(1).map(|d| d.join(DEFAULT_MODEL_DIR)));
    }
    candidates
        .into_iter()
        .find(|d| missing(d).is_none())
        .ok_or_else(|| {
            crate::config_error!("local model files not found in {DEFAULT_MODEL_DIR}: {how_to_fix}")
        })
}

impl Inner {
    /// Word pieces of `text`, [CLS] and [SEP] included, truncated to [`MAX_TOKENS`].
    fn tokenize(&self, text: &str) -> Result<Encoding, String> {
        // The tokenizer reads the whole text before truncating, so a multi-megabyte
        // text would cost seconds for 256 tokens. A prefix cut at whitespace tokenizes
        // into exactly the same first word pieces (BERT splits words at whitespace and
        // normalises character by character), so when the prefix alone overflows, its
        // truncated encoding is the whole text's.
        if text.len() > 2 * PREFIX_BYTES {
            let mut end = PREFIX_BYTES;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            if let Some(cut) = text[..end].rfind(char::is_whitespace) {
                let enc = self.encode(&text[..cut])?;
                if !enc.get_overflowing().is_empty() {
                    return Ok(enc);
                }
            }
        }
        self.encode(text)
    }

    fn encode(&self, text: &str) -> Result<Encoding, String> {
        self.tokenizer
            .encode_fast(text, true)
            .map_err(|e| format!("tokenizer: {e}"))
    }

    /// One outcome per text, in order; `Err` of the whole call only if the model fails.
    fn embed<S: AsRef<str> + Sync>(&self, texts: &[S]) -> anyhow::Result<Vec<InputResult>> {
        let encodings: Vec<Result<Encoding, String>> = self.pool.install(|| {
            texts
                .par_iter()
                .map(|t| self.tokenize(t.as_ref()))
                .collect()
        });

        let mut results: Vec<InputResult> = Vec::with_capacity(texts.len());
        let mut ok: Vec<(usize, &[u32])> = Vec::with_capacity(texts.len());
        let (mut tokens, mut truncated) = (0u64, 0u64);
        for (i, enc) in encodings.iter().enumerate() {
            match enc {
                Ok(enc) => {
                    tokens += enc.len() as u64;
                    truncated += u64::from(!enc.get_overflowing().is_empty());
                    ok.push((i, enc.get_ids()));
                    results.push(Ok(Vec::new())); // filled in below
                }
                Err(reason) => results.push(Err(EmbedError::Rejected {
                    index: i,
                    reason: reason.clone(),
                })),
            }
        }

        // Longest first, so each batch holds texts of similar length and pads little:
        // in arrival order one long text pads its whole batch to 256 tokens (22 mixed
        // sentences: 966 real tokens became 5632 in one unsorted batch).
        ok.sort_by_key(|&(_, ids)| std::cmp::Reverse(ids.len()));

        let mut runner = self.runner.lock().unwrap_or_else(|p| p.into_inner());
        let mut rest = &ok[..];
        while !rest.is_empty() {
            let longest = rest[0].1.len();
            let n = rest
                .len()
                .min(self.batch_size)
                .min((MAX_BATCH_TOKENS / longest).max(1));
            let (batch, tail) = rest.split_at(n);
            let vectors = self
                .forward(&mut runner, batch)
                .context("local model: forward pass failed")?;
            for (&(i, _), v) in batch.iter().zip(vectors) {
                results[i] = Ok(v);
            }
            rest = tail;
        }
        drop(runner);

        self.requests.fetch_add(1, Ordering::Relaxed);
        self.tokens.fetch_add(tokens, Ordering::Relaxed);
        self.truncated.fetch_add(truncated, Ordering::Relaxed);
        Ok(results)
    }

    /// Embeds one batch (longest first), padded to its first text's length.
    fn forward(
        &self,
        runner: &mut Runner,
        batch: &[(usize, &[u32])],
    ) -> ort::Result<Vec<Vec<f32>>> {
        let (b, len) = (batch.len(), batch[0].1.len());
        let Runner {
            session,
            ids,
            mask,
            pooled,
        } = runner;
        ids.clear();
        mask.clear();
        for &(_, piece_ids) in batch {
            // [PAD] is id 0; masked positions are ignored by attention and by pooling.
            // Ids are below the vocabulary size (30,522), so the cast is exact.
            ids.extend(piece_ids.iter().map(|&id| id as i32));
            ids.resize(ids.len() + len - piece_ids.len(), 0);
            mask.resize(mask.len() + piece_ids.len(), 1);
            mask.resize(mask.len() + len - piece_ids.len(), 0);
        }
        let outputs = session.run(ort::inputs![
            "input_ids" => TensorRef::from_array_view(([b, len], &ids[..]))?,
            "attention_mask" => TensorRef::from_array_view(([b, len], &mask[..]))?,
        ])?;
        let (_, hidden) = outputs["last_hidden_state"].try_extract_tensor::<f32>()?;
        if hidden.len() != b * len * DIMENSIONS {
            return Err(ort::Error::new(format!(
                "the graph is not {MODEL_ID}: {} values for {b} x {len} tokens",
                hidden.len()
            )));
        }

        // Mean over the real tokens, then L2 normalisation (sentence-transformers'
        // Pooling + Normalize modules).
        let mut out = Vec::with_capacity(b);
        for (row, &(_, piece_ids)) in batch.iter().enumerate() {
            let n = piece_ids.len();
            pooled.clear();
            pooled.resize(DIMENSIONS, 0.0);
            let start = row * len * DIMENSIONS;
            for token in hidden[start..start + n * DIMENSIONS].chunks_exact(DIMENSIONS) {
                pooled.iter_mut().zip(token).for_each(|(p, h)| *p += h);
            }
            let inv_n = 1.0 / n as f32;
            pooled.iter_mut().for_each(|p| *p *= inv_n);
            let norm = pooled.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            out.push(pooled.iter().map(|x| x / norm).collect());
        }
        Ok(out)
    }
}

#[async_trait]
impl Embedder for LocalEmbedder {
    fn model_id(&self) -> &str {
        MODEL_ID
    }

    fn dimensions(&self) -> usize {
        DIMENSIONS
    }

    /// Exact: the word pieces the model sees, [CLS]/[SEP] included, at most 256.
    fn count_tokens(&self, text: &str) -> usize {
        // A text the tokenizer rejects fails at `embed`; count it as the most it could cost.
        self.inner.tokenize(text).map_or(MAX_TOKENS, |e| e.len())
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<InputResult>, EmbedError> {
        let inner = Arc::clone(&self.inner);
        let texts = texts.to_vec();
        // Seconds of CPU work: keep it off the async runtime's threads.
        tokio::task::spawn_blocking(move || inner.embed(&texts))
            .await
            .map_err(|e| EmbedError::Setup(format!("local model: {e}")))?
            .map_err(|e| EmbedError::Setup(format!("{e:#}")))
    }

    /// Two batches in flight: while one runs through the model (on every core), the
    /// previous one's vectors are written to the database.
    fn suggested_concurrency(&self) -> usize {
        2
    }

    fn usage(&self) -> Usage {
        Usage {
            requests: self.inner.requests.load(Ordering::Relaxed),
            tokens: self.inner.tokens.load(Ordering::Relaxed),
            cost: None,
            truncated_inputs: self.inner.truncated.load(Ordering::Relaxed),
            rate_limited: 0,
        }
    }
}
