//! Counting and truncating tokens: OpenAI's own tokenizer (cl100k_base) for its
//! embedding models, a byte-based estimate for everything else.

use std::borrow::Cow;

/// The most tokens one input may have (OpenAI's limit for its embedding models).
pub const MAX_INPUT_TOKENS: usize = 8191;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokenizer {
    /// tiktoken's cl100k_base, loaded once on first use.
    Cl100k,
    /// `ceil(bytes / 4)`: the usual estimate for English text.
    Bytes,
}

/// One input ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared<'a> {
    pub text: Cow<'a, str>,
    pub tokens: usize,
    pub truncated: bool,
}

impl Tokenizer {
    pub fn for_model(model: &str) -> Tokenizer {
        if model.starts_with("text-embedding-3") || model.starts_with("text-embedding-ada-002") {
            Tokenizer::Cl100k
        } else {
            Tokenizer::Bytes
        }
    }

    /// Tokens of `text` as it is (before truncation).
    pub fn count(&self, text: &str) -> usize {
        match self {
            Tokenizer::Cl100k => bpe().encode_ordinary(text).len(),
            Tokenizer::Bytes => text.len().div_ceil(4),
        }
    }

    /// `text` cut to [`MAX_INPUT_TOKENS`], with its token count.
    pub fn prepare<'a>(&self, text: &'a str) -> Prepared<'a> {
        match self {
            Tokenizer::Bytes => {
                let max_bytes = MAX_INPUT_TOKENS * 4;
                if text.len() <= max_bytes {
                    return Prepared {
                        text: Cow::Borrowed(text),
                        tokens: self.count(text),
                        truncated: false,
                    };
                }
                let mut end = max_bytes;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                let cut = &text[..end];
                Prepared {
                    text: Cow::Borrowed(cut),
                    tokens: self.count(cut),
                    truncated: true,
                }
            }
            Tokenizer::Cl100k => {
                let bpe = bpe();
                let tokens = bpe.encode_ordinary(text);
                if tokens.len() <= MAX_INPUT_TOKENS {
                    return Prepared {
                        text: Cow::Borrowed(text),
                        tokens: tokens.len(),
                        truncated: false,
                    };
                }
                // Decode the first tokens back to text; re-encoding can merge differently
                // at the cut, so shorten until it fits.
                let mut keep = MAX_INPUT_TOKENS;
                loop {
                    let bytes = bpe.decode_bytes(&tokens[..keep]).unwrap_or_default();
                    let cut = valid_utf8_prefix(&bytes);
                    let count = bpe.encode_ordinary(cut).len();
                    if count <= MAX_INPUT_TOKENS || keep <= 1 {
                        return Prepared {
                            text: Cow::Owned(cut.to_string()),
                            tokens: count,
                            truncated: true,
                        };
                    }
                    keep -= (count - MAX_INPUT_TOKENS).max(1);
                }
            }
        }
    }
}

fn bpe() -> &'static tiktoken_rs::CoreBPE {
    tiktoken_rs::cl100k_base_singleton()
}

fn valid_utf8_prefix(bytes: &[u8]) -> &str {
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        // The cut fell inside a character: drop its first bytes.
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cl100k_counts() {
        let t = Tokenizer::for_model("text-embedding-3-small");
        assert_eq!(t, Tokenizer::Cl100k);
        assert_eq!(t.count("hello world"), 2);
        let p = t.prepare("hello world");
        assert!(!p.truncated);
        assert_eq!(p.tokens, 2);
    }

    #[test]
    fn cl100k_truncates() {
        let t = Tokenizer::Cl100k;
        let long = "naïve café déjà vu 🚀 ".repeat(3000);
        let p = t.prepare(&long);
        assert!(p.truncated);
        assert!(p.tokens <= MAX_INPUT_TOKENS && p.tokens > MAX_INPUT_TOKENS - 10);
        assert!(long.starts_with(p.text.as_ref()));
        assert_eq!(t.count(&p.text), p.tokens);
    }

    #[test]
    fn bytes_estimate_and_truncation() {
        let t = Tokenizer::for_model("nomic-embed-text");
        assert_eq!(t, Tokenizer::Bytes);
        assert_eq!(t.count("abcde"), 2);
        let long = "é".repeat(40_000); // 80 000 bytes
        let p = t.prepare(&long);
        assert!(p.truncated);
        assert!(p.text.len() <= MAX_INPUT_TOKENS * 4);
        assert_eq!(p.tokens, MAX_INPUT_TOKENS);
    }
}
