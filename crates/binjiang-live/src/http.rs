//! What every endpoint shares: the application state, the caller extractor (401/403), a JSON
//! body extractor that names the bad field, and the round trip to the twin that answers only
//! once the data is on disk.

use crate::auth::{self, Caller};
use crate::clock::Clock;
use crate::error::ApiError;
use crate::things::Things;
use crate::twin::{Reply, Request};
use crate::view::View;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request as HttpRequest};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use binjiang_scene::Scene;
use binjiang_sim::IncidentCatalogue;
use rusqlite::Connection;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};

/// Largest request body accepted, bytes (a batch of ~50,000 observations).
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// The forecast learned (`serve --model`), for `GET /api/v1/forecast`.
    pub forecaster: Option<Arc<binjiang_learn::forecast::Forecaster>>,
    /// To the twin (bounded: full means 503).
    pub requests: mpsc::Sender<Request>,
    /// The twin's latest view.
    pub views: watch::Receiver<Arc<View>>,
    /// The views kept for stream clients that resume.
    pub published: Arc<crate::view::Published>,
    /// The twin's clock.
    pub clock: Clock,
    /// The scene.
    pub scene: Arc<Scene>,
    /// Its catalogue.
    pub catalogue: Arc<IncidentCatalogue>,
    /// SensorThings entities.
    pub things: Arc<Things>,
    /// A read connection (observations, audit, tokens).
    pub reader: Arc<Mutex<Connection>>,
    /// Tokens seen, by hash.
    pub tokens: Arc<Mutex<HashMap<String, Caller>>>,
    /// Metrics.
    pub telemetry: Arc<crate::telemetry::Telemetry>,
    /// With `--ingest-via-bus`: inputs go to the bus, and the twin takes them from there.
    pub forward: Option<Arc<dyn crate::forward::Forward>>,
    /// Turns `true` when the service stops: long-lived connections (the stream) close
    /// themselves instead of holding the graceful shutdown open for as long as a wall watches.
    pub stopping: watch::Receiver<bool>,
    /// Bytes of request bodies in flight (read, or waiting for the twin or the disk): the
    /// twin's queue is bounded by count, this bounds it by size.
    pub request_bytes: Arc<tokio::sync::Semaphore>,
    /// Projections ("fork now") running at once.
    pub forks: Arc<tokio::sync::Semaphore>,
    /// The size of `request_bytes`' budget.
    pub request_bytes_total: usize,
    /// How many projections may run at once.
    pub forks_limit: usize,
}

impl AppState {
    /// The latest view.
    pub fn view(&self) -> Arc<View> {
        Arc::clone(&self.views.borrow())
    }

    /// Runs a read query on the read connection, off the async threads.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let reader = Arc::clone(&self.reader);
        tokio::task::spawn_blocking(move || {
            let conn = reader.lock().unwrap_or_else(|p| p.into_inner());
            f(&conn)
        })
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| ApiError::unavailable(format!("database read failed: {e}"), 1))
    }

    /// Sends a request to the twin and waits for its answer and for the data to be on disk.
    pub async fn submit<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, ApiError> {
        let (tx, rx) = oneshot::channel();
        self.requests.try_send(make(tx)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => ApiError::unavailable(
                "the twin is busy (its queue is full); nothing was kept, retry",
                1,
            ),
            mpsc::error::TrySendError::Closed(_) => {
                ApiError::unavailable("the service is shutting down; nothing was kept", 5)
            }
        })?;
        let receipt = rx.await.map_err(|_| {
            ApiError::unavailable("the service is shutting down; nothing was kept", 5)
        })??;
        match receipt.durable.await {
            Ok(Ok(())) => Ok(receipt.value),
            Ok(Err(e)) => Err(ApiError::unavailable(
                format!("not saved, nothing was kept: {e}"),
                5,
            )),
            Err(_) => Err(ApiError::unavailable(
                "not saved: the database writer stopped",
                5,
            )),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = auth::token_of(&parts.headers)?;
        let hash = auth::hash(&token);
        if let Some(c) = state
            .tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&hash)
        {
            return Ok(c.clone());
        }
        let found = state.read(move |c| auth::find_token(c, &token)).await?;
        match found {
            Some(c) => {
                state
                    .tokens
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(hash, c.clone());
                Ok(c)
            }
            None => {
                Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown token").at("Authorization"))
            }
        }
    }
}

/// A JSON body of type `T`: 413 when too large, 400 when not JSON, 422 naming the JSON path
/// of a field of the wrong type or missing.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: HttpRequest, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the body is larger than {BODY_LIMIT} bytes; split the batch"),
                )
                .at("body")
            } else {
                ApiError::bad_request(Some("body".into()), e.body_text())
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses JSON, naming the path of what is wrong.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner();
        let field = (path != ".").then_some(path);
        match inner.classify() {
            serde_json::error::Category::Data => ApiError {
                field: field.or_else(|| Some("body".into())),
                ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, inner.to_string())
            },
            _ => ApiError::bad_request(Some("body".into()), format!("malformed JSON: {inner}")),
        }
    })
}

/// `http://host` of a request, for `@iot.selfLink`s and `Location` headers.
pub fn base_url(headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Default of [`crate::ServeOptions::max_request_bytes`]: 256 MiB of bodies in flight.
pub const REQUEST_BYTES: usize = 256 * 1024 * 1024;

/// Refuses a body announced (`Content-Length`) as larger than [`BODY_LIMIT`] before reading
/// it: a client that sent `Expect: 100-continue` learns it before sending the megabytes. A
/// body with no length is cut at the limit while read (413 as well). Then holds the body's
/// bytes (or the limit, when no length is announced) against the service's budget of bytes
/// in flight until the answer leaves: 503 with `Retry-After` when the budget is spent.
pub async fn refuse_oversized(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: HttpRequest,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > BODY_LIMIT as u64) {
        use axum::response::IntoResponse;
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {BODY_LIMIT} bytes; split the batch"),
        )
        .at("body")
        .into_response();
    }
    let has_body =
        request.method() != axum::http::Method::GET && request.method() != axum::http::Method::HEAD;
    let _held = if has_body {
        let bytes = announced.map_or(BODY_LIMIT, |n| n as usize).max(1);
        let permits = u32::try_from(bytes).unwrap_or(u32::MAX);
        match Arc::clone(&state.request_bytes).try_acquire_many_owned(permits) {
            Ok(p) => Some(p),
            Err(_) => {
                use axum::response::IntoResponse;
                use futures::StreamExt;
                // Read the body to the end (kept nowhere), so the client, still sending,
                // reads the answer instead of a broken connection.
                let mut body = request.into_body().into_data_stream();
                let mut read = 0usize;
                while let Some(Ok(chunk)) = body.next().await {
                    read += chunk.len();
                    if read > BODY_LIMIT {
                        break;
                    }
                }
                return ApiError::unavailable(
                    format!(
                        "the service holds its limit of request bytes in flight ({} MiB); nothing was kept, retry",
                        state.request_bytes_total / (1024 * 1024)
                    ),
                    1,
                )
                .at("body")
                .into_response();
            }
        }
    } else {
        None
    };
    next.run(request).await
}
