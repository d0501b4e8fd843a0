//! Embedders: what turns text into vectors.
//!
//! - [`local`]: sentence-transformers/all-MiniLM-L6-v2 in-process on CPU (onnxruntime);
//! - [`openai`]: any OpenAI-compatible `/v1/embeddings` API (OpenAI, Azure, Ollama, vLLM, TEI);
//! - [`fake`]: deterministic vectors derived from a hash of the text, so tests and
//!   write-path benchmarks measure vecsync and the database, not a model.
//!
//! Embedders know nothing about stores. Each returns one outcome per input so that a
//! poison input fails alone while the rest of its batch is written.

pub mod fake;
pub mod local;
pub mod openai;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use async_trait::async_trait;
use serde::Serialize;

use crate::config::Config;

/// Why an embedder call failed, or (for [`EmbedError::Empty`] and [`EmbedError::Rejected`])
/// why one input of it failed. Messages are one line and never carry a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbedError {
    /// A setup mistake no retry fixes: a bad key, an unknown model, a wrong URL, an
    /// exhausted quota, a local model that cannot run. The run stops and no row is marked.
    #[error("{0}")]
    Setup(String),
    /// The provider still answered 429 after the client's own retries; `retry_after` is
    /// its last hint.
    #[error("rate limited: {message}")]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    /// The provider could not be reached or answered 5xx or nothing in time, after the
    /// client's own retries.
    #[error("{0}")]
    Unavailable(String),
    /// Input `index` of the call has no text (other inputs are unaffected).
    #[error("empty text")]
    Empty { index: usize },
    /// The provider refuses input `index` alone, with this reason (other inputs are
    /// unaffected).
    #[error("{reason}")]
    Rejected { index: usize, reason: String },
    /// An answer that cannot be decoded: bad JSON, a wrong count or index, a NaN.
    #[error("{0}")]
    Malformed(String),
    /// Vectors of another size than the embedder's dimensions.
    #[error(
        "the embedder returned {got}-dimension vectors, expected {expected} (embedder.dimensions)"
    )]
    Dimensions { expected: usize, got: usize },
}

impl EmbedError {
    /// True for errors that stop the run: retrying, or trying other rows, cannot help.
    pub fn is_setup(&self) -> bool {
        matches!(self, EmbedError::Setup(_))
    }

    /// The position of the input this error is about, for the per-input errors.
    pub fn input_index(&self) -> Option<usize> {
        match self {
            EmbedError::Empty { index } | EmbedError::Rejected { index, .. } => Some(*index),
            _ => None,
        }
    }
}

/// The outcome for one input: its vector, or why this input (alone) cannot be embedded
/// (normally [`EmbedError::Empty`] or [`EmbedError::Rejected`] with the input's index).
pub type InputResult = std::result::Result<Vec<f32>, EmbedError>;

/// Usage counters since the embedder was created.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    pub requests: u64,
    pub tokens: u64,
    /// In US dollars, when a price is known.
    pub cost: Option<f64>,
    /// Inputs cut to the model's limit.
    pub truncated_inputs: u64,
    /// Requests answered 429.
    pub rate_limited: u64,
}

#[async_trait]
pub trait Embedder: Send + Sync {
    /// Recorded next to every vector (see [`crate::config::EmbedderConfig::model_id`]).
    fn model_id(&self) -> &str;

    fn dimensions(&self) -> usize;

    /// Tokens this text costs (after truncation): exact for the local model and for
    /// OpenAI's tokenizers, an estimate otherwise.
    fn count_tokens(&self, text: &str) -> usize;

    /// Embeds `texts` (none empty); one result per input, in input order.
    async fn embed(&self, texts: &[String]) -> Result<Vec<InputResult>, EmbedError>;

    /// Batches worth running at once; the pipeline uses it as its default concurrency.
    fn suggested_concurrency(&self) -> usize {
        1
    }

    fn usage(&self) -> Usage {
        Usage::default()
    }

    /// US dollars per million tokens, when known (dry runs estimate the cost with it).
    fn price_per_million_tokens(&self) -> Option<f64> {
        None
    }
}

/// Builds the embedder named by `config.embedder.provider`. Errors are
/// [`crate::config::ConfigError`]s (missing model files, missing API key…).
pub fn from_config(config: &Config) -> Result<Arc<dyn Embedder>> {
    let e = &config.embedder;
    match e.provider.as_str() {
        "local" => Ok(Arc::new(local::LocalEmbedder::load(e)?)),
        "openai" => Ok(Arc::new(openai::OpenAiEmbedder::new(e)?)),
        "fake" => Ok(Arc::new(fake::FakeEmbedder::new(
            &e.model_id(),
            e.dimensions.unwrap_or(384),
        ))),
        other => Err(crate::config_error!(
            setting = "embedder.provider",
            "unknown provider {other:?}"
        )),
    }
}
