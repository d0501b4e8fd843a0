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

use anyhow::Result;
use async_trait::async_trait;
use serde::Serialize;

use crate::config::Config;

/// A failure of a whole call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbedError {
    /// A setup mistake (bad key, unknown model, wrong URL): stop the run, mark nothing.
    #[error("{0}")]
    Fatal(String),
    /// Worth retrying later (rate limits, 5xx, timeouts after the provider's own retries):
    /// every row of the batch counts a failed attempt with this reason.
    #[error("{0}")]
    Transient(String),
}

/// The outcome for one input: its vector, or why this input (alone) cannot be embedded.
pub type InputResult = std::result::Result<Vec<f32>, String>;

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
            "embedder.provider: unknown provider {other:?}"
        )),
    }
}
