//! A deterministic embedder: the vector of a text is a pure function of the model id and
//! the text, so a test can check that a stored vector belongs to a row's current text by
//! recomputing it, and two fake models (a model migration's "A" and "B") never make the
//! same vector.

use async_trait::async_trait;
use rand::{Rng, SeedableRng};

use super::{EmbedError, Embedder, InputResult};

pub struct FakeEmbedder {
    model_id: String,
    dimensions: usize,
}

impl FakeEmbedder {
    pub fn new(model_id: &str, dimensions: usize) -> FakeEmbedder {
        FakeEmbedder {
            model_id: model_id.to_string(),
            dimensions,
        }
    }

    /// The unit vector for `text` (seeded by the model id and the text).
    pub fn vector(&self, text: &str) -> Vec<f32> {
        let digest = crate::template::text_hash(&format!("{}\n{text}", self.model_id));
        let seed = u64::from_str_radix(&digest[..16], 16).unwrap_or(0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut v: Vec<f32> = (0..self.dimensions)
            .map(|_| rng.gen_range(-1.0f32..1.0))
            .collect();
        let norm = v
            .iter()
            .map(|x| x * x)
            .sum::<f32>()
            .sqrt()
            .max(f32::EPSILON);
        v.iter_mut().for_each(|x| *x /= norm);
        v
    }
}

#[async_trait]
impl Embedder for FakeEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    fn count_tokens(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<InputResult>, EmbedError> {
        Ok(texts.iter().map(|t| Ok(self.vector(t))).collect())
    }

    fn suggested_concurrency(&self) -> usize {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_unit_vectors() {
        let f = FakeEmbedder::new("fake", 16);
        assert_eq!(f.vector("a"), f.vector("a"));
        assert_ne!(f.vector("a"), f.vector("b"));
        assert_ne!(f.vector("a"), FakeEmbedder::new("fake-b", 16).vector("a"));
        let n: f32 = f.vector("a").iter().map(|x| x * x).sum();
        assert!((n - 1.0).abs() < 1e-5);
    }
}
