//! sentence-transformers/all-MiniLM-L6-v2, run in-process on CPU with candle.
//!
//! What sentence-transformers does, reproduced here step by step so the vectors match
//! it (cosine ≥ 0.9999, checked by `tests/local_model.rs` against reference vectors
//! made by an independent implementation):
//! 1. word-piece tokenization with [CLS]/[SEP], truncated to 256 tokens;
//! 2. the 6-layer BERT encoder;
//! 3. mean pooling of the last hidden states over the real (unpadded) tokens;
//! 4. L2 normalisation, giving 384-dimensional unit vectors.
//!
//! The model files (model.safetensors, tokenizer.json, config.json) are fetched by
//! `scripts/fetch-model.sh`; see docs/local-model.md for speed and fidelity figures.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use async_trait::async_trait;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig};
use rayon::prelude::*;
use tokenizers::{Encoding, Tokenizer, TruncationParams};

use super::{EmbedError, Embedder, InputResult, Usage};
use crate::config::EmbedderConfig;

pub const MODEL_ID: &str = "all-MiniLM-L6-v2";
pub const DIMENSIONS: usize = 384;

/// Where `scripts/fetch-model.sh` puts the files, relative to the repository root.
pub const DEFAULT_MODEL_DIR: &str = "models/all-MiniLM-L6-v2";
const MODEL_FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

/// sentence-transformers runs this model with `max_seq_length = 256` (its
/// sentence_bert_config.json), [CLS] and [SEP] included. The tokenizer.json shipped
/// with the model says 128 instead; keeping 128 would make every long text's vector
/// differ from what sentence-transformers (and so every other user of the model) gets.
const MAX_TOKENS: usize = 256;

/// Padded tokens per forward pass (16 texts of 256 tokens). Attention memory grows with
/// batch × length²: 32 × 256 peaks at ~0.9 GB, 16 × 256 at ~0.45 GB, and measured no
/// slower; short texts still go 32 (`batch_size`) at a time.
const MAX_BATCH_TOKENS: usize = 4096;

/// Texts longer than this are first tokenized from a prefix; see [`Inner::tokenize`].
const PREFIX_BYTES: usize = 32 * 1024;

pub struct LocalEmbedder {
    inner: Arc<Inner>,
}

struct Inner {
    tokenizer: Tokenizer,
    model: BertModel,
    /// Runs the forward passes (gemm and softmax split their work over it) and the
    /// tokenization, so the thread count is what the user asked for.
    pool: rayon::ThreadPool,
    threads: usize,
    batch_size: usize,
    dir: PathBuf,
    /// Reused input buffers. Holding the lock is also what keeps forward passes one at
    /// a time: one pass already uses every thread, two would only fight over caches.
    scratch: Mutex<Scratch>,
    requests: AtomicU64,
    tokens: AtomicU64,
    truncated: AtomicU64,
}

#[derive(Default)]
struct Scratch {
    ids: Vec<u32>,
    mask: Vec<u32>,
    pooled: Vec<f32>,
}

impl LocalEmbedder {
    /// Loads the model from [`find_model_dir`]. A missing or unreadable model is a
    /// [`crate::config::ConfigError`] that says how to fetch it.
    pub fn load(config: &EmbedderConfig) -> anyhow::Result<LocalEmbedder> {
        let dir = find_model_dir(config)?;
        let unreadable = |file: &str, e: &dyn std::fmt::Display| -> anyhow::Error {
            crate::config_error!(
                "local model: cannot read {}: {e} (run `scripts/fetch-model.sh` to fetch it again)",
                dir.join(file).display()
            )
        };

        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| unreadable("tokenizer.json", &e))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| unreadable("tokenizer.json", &e))?;
        // tokenizer.json pads every input to 128 tokens. Padding is per batch instead
        // (to the longest text of the batch), done in `forward`.
        tokenizer.with_padding(None);

        let bert_config: BertConfig = std::fs::read_to_string(dir.join("config.json"))
            .map_err(|e| unreadable("config.json", &e))
            .and_then(|s| serde_json::from_str(&s).map_err(|e| unreadable("config.json", &e)))?;
        if bert_config.hidden_size != DIMENSIONS {
            return Err(crate::config_error!(
                "local model: {} is not {MODEL_ID} (hidden size {}, expected {DIMENSIONS})",
                dir.display(),
                bert_config.hidden_size
            ));
        }
        let weights = dir.join("model.safetensors");
        // SAFETY: the file is mapped only while the weights are copied out of it
        // (`VarBuilder` loads them into owned CPU tensors); it must not be truncated
        // meanwhile, which nothing in vecsync does.
        let vb =
            unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &Device::Cpu) }
                .map_err(|e| unreadable("model.safetensors", &e))?;
        let model =
            BertModel::load(vb, &bert_config).map_err(|e| unreadable("model.safetensors", &e))?;

        let threads = if config.threads > 0 {
            config.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        // candle does not take a thread count: it reads these variables, RAYON_… on
        // every matmul (how many pieces gemm splits into) and CANDLE_… once (the size of
        // its element-wise worker pool). Its default, the number of *physical* cores,
        // leaves SMT threads idle and ignores `embedder.threads`.
        for var in ["RAYON_NUM_THREADS", "CANDLE_NUM_THREADS"] {
            if std::env::var(var).ok() != Some(threads.to_string()) {
                std::env::set_var(var, threads.to_string());
            }
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("vecsync-model-{i}"))
            .build()
            .context("local model: cannot start its threads")?;

        Ok(LocalEmbedder {
            inner: Arc::new(Inner {
                tokenizer,
                model,
                pool,
                threads,
                batch_size: config.batch_size.max(1),
                dir,
                scratch: Mutex::new(Scratch::default()),
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

/// The folder holding the model files: `config.model_dir` when set (the config layer
/// has already merged `--model-dir` and `VECSYNC_MODEL_DIR` into it), else
/// `models/all-MiniLM-L6-v2` in the current directory, else in a parent of the
/// executable (so `target/release/vecsync` finds the repository's copy from any
/// directory), else a local Hugging Face hub cache. Never downloads anything.
pub fn find_model_dir(config: &EmbedderConfig) -> anyhow::Result<PathBuf> {
    let how_to_fix =
        "run `scripts/fetch-model.sh` (or `make model`), or set VECSYNC_MODEL_DIR / --model-dir";
    if let Some(dir) = &config.model_dir {
        return match missing_file(dir) {
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
    candidates.extend(hf_cache_snapshots());

    candidates
        .into_iter()
        .find(|d| missing_file(d).is_none())
        .ok_or_else(|| {
            crate::config_error!("local model files not found in {DEFAULT_MODEL_DIR}: {how_to_fix}")
        })
}

/// The first model file absent from `dir`, if any.
fn missing_file(dir: &Path) -> Option<&'static str> {
    MODEL_FILES.into_iter().find(|f| !dir.join(f).is_file())
}

/// Snapshots of sentence-transformers/all-MiniLM-L6-v2 in a Hugging Face hub cache on
/// this machine (left there by Python tools), newest first.
fn hf_cache_snapshots() -> Vec<PathBuf> {
    let hub = std::env::var_os("HF_HUB_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HF_HOME").map(|h| PathBuf::from(h).join("hub")))
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface/hub"))
        });
    let Some(hub) = hub else { return Vec::new() };
    let snapshots = hub.join("models--sentence-transformers--all-MiniLM-L6-v2/snapshots");
    let Ok(entries) = std::fs::read_dir(snapshots) else {
        return Vec::new();
    };
    let mut dirs: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.0));
    dirs.into_iter().map(|(_, p)| p).collect()
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

        let mut guard = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        let scratch: &mut Scratch = &mut guard; // the guard itself cannot cross threads
        let mut rest = &ok[..];
        while !rest.is_empty() {
            let longest = rest[0].1.len();
            let n = rest
                .len()
                .min(self.batch_size)
                .min((MAX_BATCH_TOKENS / longest).max(1));
            let (batch, tail) = rest.split_at(n);
            let vectors = self
                .pool
                .install(|| self.forward(scratch, batch))
                .context("local model: forward pass failed")?;
            for (&(i, _), v) in batch.iter().zip(vectors) {
                results[i] = Ok(v);
            }
            rest = tail;
        }
        drop(guard);

        self.requests.fetch_add(1, Ordering::Relaxed);
        self.tokens.fetch_add(tokens, Ordering::Relaxed);
        self.truncated.fetch_add(truncated, Ordering::Relaxed);
        Ok(results)
    }

    /// Embeds one batch (longest first), padded to its first text's length.
    fn forward(
        &self,
        scratch: &mut Scratch,
        batch: &[(usize, &[u32])],
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        let (b, len) = (batch.len(), batch[0].1.len());
        let Scratch { ids, mask, pooled } = scratch;
        ids.clear();
        mask.clear();
        for &(_, piece_ids) in batch {
            // [PAD] is id 0; masked positions are ignored by attention and by pooling.
            ids.extend_from_slice(piece_ids);
            ids.resize(ids.len() + len - piece_ids.len(), 0);
            mask.resize(mask.len() + piece_ids.len(), 1);
            mask.resize(mask.len() + len - piece_ids.len(), 0);
        }
        let input_ids = Tensor::from_slice(ids, (b, len), &Device::Cpu)?;
        let attention_mask = Tensor::from_slice(mask, (b, len), &Device::Cpu)?;
        let token_type_ids = input_ids.zeros_like()?;
        let hidden = self
            .model
            .forward(&input_ids, &token_type_ids, Some(&attention_mask))?
            .flatten_all()?
            .to_vec1::<f32>()?;

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
