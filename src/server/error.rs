//! The one mapping from errors to HTTP answers, used by every route.
//!
//! A handler returns `Result<Response, ApiError>`; [`ApiError`] picks the status from the
//! error's cause, removes secrets from the message, and shapes the body the way the route
//! promises: `{"error": "…"}` for vecsync's routes, OpenAI's
//! `{"error": {message, type, param, code}}` for `/v1/embeddings`, and
//! `{"status": "unavailable", "error": "…"}` for `/readyz`.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::embed::EmbedError;

/// An error answer: status, one-line message, and the body's shape.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    message: String,
    shape: Shape,
    /// OpenAI's `param` and `code` (only in the OpenAI shape).
    param: Option<&'static str>,
    code: Option<&'static str>,
    /// Sent as `Retry-After` (whole seconds, rounded up).
    retry_after: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Vecsync,
    OpenAi,
    Probe,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            shape: Shape::Vecsync,
            param: None,
            code: None,
            retry_after: None,
        }
    }

    /// 400: the request is wrong; `message` names the parameter.
    pub(super) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401 with `WWW-Authenticate: Bearer`.
    pub(super) fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 429 with `Retry-After`.
    pub(super) fn too_many_requests(retry_after: Duration) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many requests from your address: retry in {} s",
                whole_seconds(retry_after)
            ),
        );
        e.retry_after = Some(retry_after);
        e
    }

    /// 503: the database (or another dependency) did not answer; `what` says which call.
    pub(super) fn unavailable(what: &str, e: &anyhow::Error) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("{what}: {e:#}"))
    }

    /// 500: something this server should have done did not work.
    pub(super) fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// OpenAI's `param` (the request field at fault).
    pub(super) fn param(mut self, param: &'static str) -> ApiError {
        self.param = Some(param);
        self
    }

    /// OpenAI's `code` (`model_not_found`, `invalid_api_key`…).
    pub(super) fn code(mut self, code: &'static str) -> ApiError {
        self.code = Some(code);
        self
    }

    /// Answers in OpenAI's error shape (`/v1/embeddings`).
    pub(super) fn openai(mut self) -> ApiError {
        self.shape = Shape::OpenAi;
        self
    }

    /// Answers in `/readyz`'s shape.
    pub(super) fn probe(mut self) -> ApiError {
        self.shape = Shape::Probe;
        self
    }
}

/// An embedder's failure, by cause: a refused or empty input is the request's fault
/// (400); a setup mistake is the server's (500); a provider that is rate limited or down
/// is temporary (503, with its `Retry-After` when known); an answer that cannot be
/// used is a bad gateway (502).
impl From<EmbedError> for ApiError {
    fn from(e: EmbedError) -> ApiError {
        let status = match &e {
            EmbedError::Empty { .. } | EmbedError::Rejected { .. } => StatusCode::BAD_REQUEST,
            EmbedError::Setup(_) => StatusCode::INTERNAL_SERVER_ERROR,
            EmbedError::RateLimited { .. } | EmbedError::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            EmbedError::Malformed(_) | EmbedError::Dimensions { .. } => StatusCode::BAD_GATEWAY,
        };
        let message = match e.input_index() {
            Some(index) => format!("input {index} cannot be embedded: {e}"),
            None => format!("embedder: {e}"),
        };
        let mut out = ApiError::new(status, message);
        if let EmbedError::RateLimited { retry_after, .. } = e {
            out.retry_after = retry_after;
        }
        out
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = crate::redact::redact(&self.message.replace('\n', " "));
        let body = match self.shape {
            Shape::Vecsync => json!({ "error": message }),
            Shape::Probe => json!({ "status": "unavailable", "error": message }),
            Shape::OpenAi => json!({
                "error": {
                    "message": message,
                    "type": if self.status.is_server_error() {
                        "server_error"
                    } else {
                        "invalid_request_error"
                    },
                    "param": self.param,
                    "code": self.code,
                }
            }),
        };
        let mut r = (self.status, Json(body)).into_response();
        let h = r.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED && self.shape == Shape::Vecsync {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(wait) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(whole_seconds(wait)));
        }
        r
    }
}

/// `d` in whole seconds, rounded up, at least 1 (what `Retry-After` can say).
fn whole_seconds(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embed_errors_map_by_cause() {
        let cases = [
            (
                EmbedError::Rejected {
                    index: 2,
                    reason: "too long".into(),
                },
                400,
            ),
            (EmbedError::Empty { index: 0 }, 400),
            (EmbedError::Setup("bad key".into()), 500),
            (EmbedError::Unavailable("503".into()), 503),
            (
                EmbedError::RateLimited {
                    retry_after: Some(Duration::from_millis(1500)),
                    message: "429".into(),
                },
                503,
            ),
            (EmbedError::Malformed("bad JSON".into()), 502),
            (
                EmbedError::Dimensions {
                    expected: 8,
                    got: 9,
                },
                502,
            ),
        ];
        for (e, status) in cases {
            let r = ApiError::from(e.clone()).into_response();
            assert_eq!(r.status().as_u16(), status, "{e:?}");
        }
        let r = ApiError::from(EmbedError::RateLimited {
            retry_after: Some(Duration::from_millis(1500)),
            message: "429".into(),
        })
        .into_response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
    }

    #[test]
    fn whole_seconds_round_up() {
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(3)), 3);
        assert_eq!(whole_seconds(Duration::from_millis(3001)), 4);
    }
}
