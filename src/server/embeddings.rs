//! `POST /v1/embeddings`: the OpenAI embeddings API over the configured embedder, so any
//! OpenAI client (or another vecsync with `provider = "openai"`) can use the local model.
//!
//! Request: `model` (the configured model name or model id), `input` (a string or up to
//! 2,048 strings, none empty), optional `encoding_format` (`float` or `base64`: little-
//! endian f32) and `dimensions` (must equal the model's). Errors have OpenAI's shape
//! `{"error": {"message", "type", "param", "code"}}`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::AppState;
use crate::embed::openai::wire::encode_base64;
use crate::embed::EmbedError;

/// OpenAI's limit on inputs per request.
pub const MAX_INPUTS: usize = 2048;

/// A 400 in OpenAI's shape, blaming request field `param` when known.
fn invalid(message: impl Into<String>, param: Option<&'static str>) -> ApiError {
    let e = ApiError::bad_request(message).openai();
    match param {
        Some(p) => e.param(p),
        None => e,
    }
}

#[derive(Serialize)]
struct EmbeddingsResponse<'a> {
    object: &'static str,
    data: Vec<Item>,
    model: &'a str,
    usage: UsageOut,
}

#[derive(Serialize)]
struct Item {
    object: &'static str,
    index: usize,
    embedding: Embedding,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Embedding {
    Float(Vec<f32>),
    Base64(String),
}

#[derive(Serialize)]
struct UsageOut {
    prompt_tokens: u64,
    total_tokens: u64,
}

/// The model names this server answers to: the configured name and the model id.
fn serves_model(state: &AppState, model: &str) -> bool {
    let model = model.trim();
    model == state.config().embedder.model.trim() || model == state.embedder().model_id()
}

/// The inputs of a request, or why they are refused (the error's `param` is `input`).
fn inputs(body: &Value) -> Result<Vec<String>, String> {
    const TOKEN_ARRAYS: &str =
        "token arrays are not supported by this server: send the input as text";
    let texts: Vec<String> = match body.get("input") {
        None | Some(Value::Null) => {
            return Err(
                "you must provide an 'input' parameter (a string or an array of strings)".into(),
            )
        }
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            let mut texts = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) => texts.push(s.clone()),
                    Value::Number(_) | Value::Array(_) => return Err(TOKEN_ARRAYS.into()),
                    _ => return Err(format!("'input[{i}]' must be a string")),
                }
            }
            texts
        }
        Some(_) => return Err("'input' must be a string or an array of strings".into()),
    };
    if texts.is_empty() {
        return Err("'input' is empty: send at least one string".into());
    }
    if texts.len() > MAX_INPUTS {
        return Err(format!(
            "'input' has {} items; at most {MAX_INPUTS} inputs per request",
            texts.len()
        ));
    }
    if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
        return Err(format!(
            "'input[{i}]' is empty: every input must contain text"
        ));
    }
    Ok(texts)
}

pub(super) async fn embeddings(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // A page on another site can POST text/plain without asking the browser first (no
    // CORS preflight), never application/json: requiring it keeps such pages out.
    let json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request body as JSON with Content-Type: application/json",
        )
        .openai());
    }
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return Err(invalid("the request body must be a JSON object", None)),
        Err(e) => {
            return Err(invalid(
                format!("We could not parse the JSON body of your request: {e}"),
                None,
            ))
        }
    };
    let model = match body.get("model") {
        Some(Value::String(m)) if !m.trim().is_empty() => m.clone(),
        _ => return Err(invalid("you must provide a model parameter", Some("model"))),
    };
    if !serves_model(&state, &model) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "The model `{model}` does not exist: this server embeds with `{}`",
                state.config().embedder.model
            ),
        )
        .param("model")
        .code("model_not_found")
        .openai());
    }
    let texts = inputs(&body).map_err(|message| invalid(message, Some("input")))?;
    let base64 = match body.get("encoding_format") {
        None | Some(Value::Null) => false,
        Some(Value::String(f)) if f == "float" => false,
        Some(Value::String(f)) if f == "base64" => true,
        Some(other) => {
            return Err(invalid(
                format!("'encoding_format' must be \"float\" or \"base64\", got {other}"),
                Some("encoding_format"),
            ))
        }
    };
    let embedder = state.embedder();
    let dims = embedder.dimensions();
    match body.get("dimensions") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64() == Some(dims as u64) => {}
        Some(other) => {
            return Err(invalid(
                format!("'dimensions' must be {dims} for this model, got {other}"),
                Some("dimensions"),
            ))
        }
    }

    // Count tokens on a blocking thread while the model runs.
    let counter = {
        let embedder = embedder.clone();
        let texts = texts.clone();
        tokio::task::spawn_blocking(move || {
            texts
                .iter()
                .map(|t| embedder.count_tokens(t) as u64)
                .sum::<u64>()
        })
    };
    let (result, tokens) = tokio::join!(embedder.embed(&texts), counter);
    let tokens = tokens.unwrap_or(0);
    let results = result.map_err(|e| ApiError::from(e).openai())?;
    if results.len() != texts.len() {
        return Err(ApiError::from(EmbedError::Malformed(format!(
            "the embedder returned {} results for {} inputs",
            results.len(),
            texts.len()
        )))
        .openai());
    }
    let mut data = Vec::with_capacity(results.len());
    for (index, r) in results.into_iter().enumerate() {
        let v = match r {
            Ok(v) if v.len() != dims => {
                return Err(ApiError::from(EmbedError::Dimensions {
                    expected: dims,
                    got: v.len(),
                })
                .openai())
            }
            Ok(v) if !v.iter().all(|x| x.is_finite()) => {
                return Err(ApiError::from(EmbedError::Malformed(format!(
                    "the embedder returned a non-finite value for input {index}"
                )))
                .openai())
            }
            Ok(v) => v,
            Err(e) => {
                return Err(invalid(
                    format!("'input[{index}]' cannot be embedded: {e}"),
                    Some("input"),
                ))
            }
        };
        let embedding = if base64 {
            Embedding::Base64(encode_base64(&v))
        } else {
            Embedding::Float(v)
        };
        data.push(Item {
            object: "embedding",
            index,
            embedding,
        });
    }
    state.metrics().api_embedding_requests.increment(1);
    state
        .metrics()
        .api_embedding_inputs
        .increment(data.len() as u64);
    Ok(Json(EmbeddingsResponse {
        object: "list",
        data,
        model: &model,
        usage: UsageOut {
            prompt_tokens: tokens,
            total_tokens: tokens,
        },
    })
    .into_response())
}

/// `GET /v1/models`: the one model this server embeds with.
pub(super) async fn models(State(state): State<AppState>) -> Response {
    Json(json!({
        "object": "list",
        "data": [{
            "id": state.config().embedder.model,
            "object": "model",
            "created": 0,
            "owned_by": "vecsync",
        }],
    }))
    .into_response()
}
