//! The `/embeddings` request and response bodies, and their checks.

use std::fmt;

use base64::Engine;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
pub struct Request<'a> {
    pub model: &'a str,
    pub input: Vec<&'a str>,
    pub encoding_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<usize>,
}

#[derive(Debug, Deserialize)]
struct Response {
    data: Vec<Item>,
    #[serde(default)]
    usage: Option<UsageWire>,
}

#[derive(Debug, Deserialize)]
struct Item {
    #[serde(default)]
    index: Option<usize>,
    embedding: Embedding,
}

#[derive(Debug, Deserialize)]
struct UsageWire {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
}

/// A vector given as base64 of little-endian f32s or as an array of numbers.
#[derive(Debug)]
struct Embedding(Result<Vec<f32>, String>);

impl<'de> Deserialize<'de> for Embedding {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Embedding;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a base64 string or an array of numbers")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Embedding, E> {
                Ok(Embedding(decode_base64(s)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Embedding, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(1536));
                while let Some(x) = seq.next_element::<f32>()? {
                    v.push(x);
                }
                Ok(Embedding(Ok(v)))
            }
        }
        d.deserialize_any(V)
    }
}

/// Decodes base64 of little-endian f32s.
pub fn decode_base64(s: &str) -> Result<Vec<f32>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| format!("bad base64 embedding: {e}"))?;
    if bytes.len() % 4 != 0 {
        return Err(format!(
            "base64 embedding has {} bytes, not a multiple of 4",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Encodes little-endian f32s as base64 (what the API returns for `encoding_format: base64`).
pub fn encode_base64(v: &[f32]) -> String {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A checked response: one vector per input, in input order.
#[derive(Debug)]
pub struct Parsed {
    pub vectors: Vec<Vec<f32>>,
    pub prompt_tokens: Option<u64>,
}

/// Why a 200 body cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Vectors of another size than asked for: the server ignores `dimensions` (or the
    /// model makes another size). Every answer will be the same, so no retry fixes it.
    Dimensions { got: usize, expected: usize },
    /// Anything else (count, index, NaN, bad JSON): possibly a glitch, worth a retry.
    Unusable(String),
}

impl From<String> for BodyError {
    fn from(s: String) -> BodyError {
        BodyError::Unusable(s)
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Dimensions { got, expected } => write!(
                f,
                "response vector has {got} dimensions (expected {expected})"
            ),
            BodyError::Unusable(s) => f.write_str(s),
        }
    }
}

/// Parses and checks a 200 body for a request of `inputs` inputs of `dims` dimensions.
/// Any doubt (count, index, dimension, non-finite value, bad JSON) is an error for the
/// whole request: a vector is never written to the wrong row.
pub fn parse_response(body: &[u8], inputs: usize, dims: usize) -> Result<Parsed, BodyError> {
    let r: Response = serde_json::from_slice(body).map_err(|e| {
        format!(
            "malformed response ({} bytes): {}",
            body.len(),
            one_line(&e.to_string(), 120)
        )
    })?;
    if r.data.len() != inputs {
        return Err(format!("response has {} vectors for {inputs} inputs", r.data.len()).into());
    }
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; inputs];
    for item in r.data {
        let index = item
            .index
            .ok_or_else(|| "response item without index".to_string())?;
        let v = item.embedding.0?;
        if v.len() != dims {
            return Err(BodyError::Dimensions {
                got: v.len(),
                expected: dims,
            });
        }
        if !v.iter().all(|x| x.is_finite()) {
            return Err("response vector has a NaN or infinite value"
                .to_string()
                .into());
        }
        match slots.get_mut(index) {
            Some(slot @ None) => *slot = Some(v),
            Some(Some(_)) => return Err(format!("response repeats index {index}").into()),
            None => {
                return Err(format!("response index {index} out of range ({inputs} inputs)").into())
            }
        }
    }
    let vectors = slots
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| "response misses an index".to_string())?;
    Ok(Parsed {
        vectors,
        prompt_tokens: r.usage.and_then(|u| u.prompt_tokens.or(u.total_tokens)),
    })
}

/// The error message of an error body: `{"error":{"message":…}}` (OpenAI, Azure),
/// `{"error":"…"}` (Ollama, TEI), `{"message":…}`, `{"detail":…}` (FastAPI), or the text.
pub fn error_message(body: &[u8]) -> ErrorBody {
    let mut out = ErrorBody::default();
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let err = v.get("error");
        let message = err
            .and_then(|e| e.get("message"))
            .or(err.filter(|e| e.is_string()))
            .or(v.get("message"))
            .or(v.get("detail"));
        out.message = match message {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
            None => None,
        };
        out.code = err
            .and_then(|e| e.get("code"))
            .and_then(|c| c.as_str())
            .map(str::to_string);
        out.kind = err
            .and_then(|e| e.get("type"))
            .and_then(|c| c.as_str())
            .or(v.get("error_type").and_then(|c| c.as_str()))
            .map(str::to_string);
    }
    if out.message.is_none() {
        let text = String::from_utf8_lossy(body);
        if !text.trim().is_empty() {
            out.message = Some(text.into_owned());
        }
    }
    out.message = out.message.map(|m| one_line(&m, 300));
    out
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    pub message: Option<String>,
    pub code: Option<String>,
    pub kind: Option<String>,
}

/// Whitespace collapsed, at most `max` characters.
pub fn one_line(s: &str, max: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > max {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        let v = vec![0.5f32, -1.25, 3.0e-7];
        assert_eq!(decode_base64(&encode_base64(&v)).unwrap(), v);
        assert!(decode_base64("AAA=").is_err());
        assert!(decode_base64("!!!").is_err());
    }

    #[test]
    fn maps_by_index() {
        let body = format!(
            r#"{{"data":[{{"index":1,"embedding":"{}"}},{{"index":0,"embedding":[1.0,2.0]}}],"usage":{{"prompt_tokens":7}}}}"#,
            encode_base64(&[3.0, 4.0])
        );
        let p = parse_response(body.as_bytes(), 2, 2).unwrap();
        assert_eq!(p.vectors, vec![vec![1.0, 2.0], vec![3.0, 4.0]]);
        assert_eq!(p.prompt_tokens, Some(7));
    }

    #[test]
    fn refuses_doubtful_responses() {
        let two = r#"{"data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[1,2]}]}"#;
        assert!(parse_response(two.as_bytes(), 3, 2).is_err()); // count
        assert!(parse_response(two.as_bytes(), 2, 3).is_err()); // dims
        assert!(parse_response(&two.as_bytes()[..30], 2, 2).is_err()); // truncated
        let dup = r#"{"data":[{"index":0,"embedding":[1,2]},{"index":0,"embedding":[1,2]}]}"#;
        assert!(parse_response(dup.as_bytes(), 2, 2).is_err());
        let noidx = r#"{"data":[{"embedding":[1,2]}]}"#;
        assert!(parse_response(noidx.as_bytes(), 1, 2).is_err());
        let nan = format!(
            r#"{{"data":[{{"index":0,"embedding":"{}"}}]}}"#,
            encode_base64(&[f32::NAN, 1.0])
        );
        assert!(parse_response(nan.as_bytes(), 1, 2).is_err());
        assert!(parse_response(two.as_bytes(), 2, 2).is_ok());
    }

    #[test]
    fn error_messages() {
        let e = error_message(
            br#"{"error":{"message":"bad\ninput","type":"invalid_request_error","code":null}}"#,
        );
        assert_eq!(e.message.as_deref(), Some("bad input"));
        assert_eq!(e.kind.as_deref(), Some("invalid_request_error"));
        let e = error_message(br#"{"error":"model \"x\" not found"}"#);
        assert_eq!(e.message.as_deref(), Some("model \"x\" not found"));
        let e = error_message(b"<html>oops</html>");
        assert_eq!(e.message.as_deref(), Some("<html>oops</html>"));
    }
}
