//! What the service answers when it will not take a request: a status and a JSON body that
//! names the field at fault, so a gateway developer can fix their payload from the answer
//! alone. Never a 5xx for bad input; 503 only when the service cannot keep a promise (its
//! queue is full or its disk refuses the write), with `Retry-After`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A refusal: status, the field at fault (JSON path, e.g. `items[3].result`) and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiError {
    /// HTTP status.
    #[serde(skip)]
    pub status: StatusCode,
    /// Why, in words.
    pub error: String,
    /// The field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds to wait before retrying (503 only).
    #[serde(skip)]
    pub retry_after_s: Option<u32>,
}

impl ApiError {
    /// A refusal with `status` and no particular field.
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.into(),
            field: None,
            retry_after_s: None,
        }
    }

    /// 422: a well-formed request whose `field` is wrong.
    pub fn invalid(field: impl Into<String>, error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, error).at(field)
    }

    /// 400: a body that is not the JSON expected.
    pub fn bad_request(field: Option<String>, error: impl Into<String>) -> Self {
        ApiError {
            field,
            ..Self::new(StatusCode::BAD_REQUEST, error)
        }
    }

    /// 404: no such thing.
    pub fn not_found(error: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error)
    }

    /// 409: the request conflicts with the state (an incident already closed, a reused id).
    pub fn conflict(error: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, error)
    }

    /// 503 with `Retry-After`: the service is too busy or cannot write; nothing was kept.
    pub fn unavailable(error: impl Into<String>, retry_after_s: u32) -> Self {
        ApiError {
            retry_after_s: Some(retry_after_s),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, error)
        }
    }

    /// The same refusal, naming `field`.
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The same refusal with `prefix` put before its field's path (`items[3]` + `result`).
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = Some(match self.field.take() {
            Some(f) if f.starts_with('[') => format!("{prefix}{f}"),
            Some(f) => format!("{prefix}.{f}"),
            None => prefix.to_owned(),
        });
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let retry = self.retry_after_s;
        let mut response = (status, axum::Json(self)).into_response();
        if let Some(s) = retry {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&s.to_string()).expect("digits"),
            );
        }
        response
    }
}
