//! OpenAI-compatible provider. (Being written.)
use async_trait::async_trait;

use super::{EmbedError, Embedder, InputResult};
use crate::config::EmbedderConfig;

pub struct OpenAiEmbedder;

impl OpenAiEmbedder {
    pub fn new(_config: &EmbedderConfig) -> anyhow::Result<OpenAiEmbedder> {
        anyhow::bail!("local model not implemented yet")
    }
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn model_id(&self) -> &str {
        "all-MiniLM-L6-v2"
    }
    fn dimensions(&self) -> usize {
        384
    }
    fn count_tokens(&self, text: &str) -> usize {
        text.len() / 4
    }
    async fn embed(&self, _texts: &[String]) -> Result<Vec<InputResult>, EmbedError> {
        Err(EmbedError::Fatal("not implemented".into()))
    }
}
