//! One path for every input (`serve --bus … --ingest-via-bus`): HTTP and MQTT ingest check
//! what arrives exactly as before, then publish it to the district's bus subject instead of
//! handing it to the twin; the twin takes it from the bus like any gateway's message, and the
//! HTTP answer (201 and ids, the incident number) is given once the twin has taken it and its
//! log holds it. If the twin does not take it within [`WAIT`], the answer is 202 Accepted with
//! the bus sequence number: it is stored, replicated, and will be applied.
//!
//! The bus itself is behind [`Forward`] (implemented on NATS JetStream in `binjiang-bus`), so
//! this crate knows nothing of NATS.

use crate::error::ApiError;
use crate::http::AppState;
use crate::twin::{BusOutcome, NewFix, NewObservation, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use binjiang_sim::Report;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long an ingest waits for the twin to take what it published.
pub const WAIT: Duration = Duration::from_secs(10);

/// What [`Forward::publish`] resolves to: the message's stream sequence number and whether
/// the bus already held it (the same id), or why it was not stored.
pub type Stored<'a> = Pin<Box<dyn Future<Output = Result<(u64, bool), String>> + Send + 'a>>;

/// A bus that stores a message and says its sequence number.
pub trait Forward: Send + Sync + std::fmt::Debug + 'static {
    /// Publishes `body` on the district's `kind` subject (`observations`, `reports`,
    /// `positions`), de-duplicated on `id` when given; resolves once the bus has stored it,
    /// with its sequence number and whether the bus already held it (the same id).
    fn publish<'a>(&'a self, kind: &'static str, id: Option<String>, body: Vec<u8>) -> Stored<'a>;
}

/// An input taken through the bus: applied (with what the twin answered), or stored but not
/// yet applied.
#[derive(Debug)]
pub enum Accepted<T> {
    /// Taken by the twin and on disk.
    Applied(T),
    /// Stored on the bus as this message; the twin has not taken it yet.
    Pending(u64),
}

/// The 202 answer for an input stored on the bus that the twin has not taken yet.
pub fn pending(seq: u64) -> Response {
    (
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({
            "bus_seq": seq,
            "status": "stored on the bus (replicated, on disk); the twin has not taken it yet and will"
        })),
    )
        .into_response()
}

/// Publishes through `forward` and waits for the twin's outcome.
async fn publish_and_wait(
    state: &AppState,
    forward: &dyn Forward,
    kind: &'static str,
    id: Option<String>,
    body: &serde_json::Value,
) -> Result<Accepted<BusOutcome>, ApiError> {
    let payload = serde_json::to_vec(body).expect("plain data");
    let (seq, duplicate) = forward.publish(kind, id, payload).await.map_err(|e| {
        ApiError::unavailable(
            format!("the bus did not store it, nothing was kept: {e}"),
            2,
        )
    })?;
    let wait = async {
        let (tx, rx) = oneshot::channel();
        state
            .requests
            .send(Request::AwaitBus { seq, reply: tx })
            .await
            .ok()?;
        let receipt = rx.await.ok()?.ok()?;
        match receipt.durable.await {
            Ok(Ok(())) => Some(receipt.value),
            _ => None,
        }
    };
    Ok(match tokio::time::timeout(WAIT, wait).await {
        // A retry the bus folded into the first copy: the same incident, not a new one.
        Ok(Some(BusOutcome::Report { incident, .. })) if duplicate => {
            Accepted::Applied(BusOutcome::Report {
                incident,
                new: false,
            })
        }
        Ok(Some(outcome)) => Accepted::Applied(outcome),
        _ => Accepted::Pending(seq),
    })
}

/// The bus body of checked observations: an array of Observations with their Datastream
/// links and exact times (to the millisecond, as kept).
pub fn observations_body(items: &[NewObservation]) -> serde_json::Value {
    let iso = iso_ms;
    serde_json::Value::Array(
        items
            .iter()
            .map(|o| {
                serde_json::json!({
                    "Datastream": {"@iot.id": o.datastream},
                    "result": o.result,
                    "phenomenonTime": iso(o.phenomenon_ms),
                    "resultTime": iso(o.result_time_ms),
                })
            })
            .collect(),
    )
}

/// The bus body of one unit's checked fixes, exact as kept.
pub fn fixes_body(unit: &str, fixes: &[NewFix]) -> serde_json::Value {
    let fixes: Vec<serde_json::Value> = fixes
        .iter()
        .map(|f| serde_json::json!({"time": iso_ms(f.row.at_ms), "lon": f.row.lon, "lat": f.row.lat}))
        .collect();
    serde_json::json!({"unit": unit, "fixes": fixes})
}

/// Unix milliseconds as RFC 3339 UTC, to the millisecond.
fn iso_ms(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// What an unexpected outcome means: the twin answered another kind of input.
fn mismatch(outcome: &BusOutcome) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("the twin answered {outcome:?} for this input"),
    )
}

impl AppState {
    /// Publishes `body` on the district's `kind` subject, waits for the twin to take it, and
    /// picks the answer of this kind of input (a refusal is the twin's 4xx).
    async fn through_bus<T>(
        &self,
        forward: &dyn Forward,
        kind: &'static str,
        id: Option<String>,
        body: &serde_json::Value,
        pick: fn(BusOutcome) -> Result<T, BusOutcome>,
    ) -> Result<Accepted<T>, ApiError> {
        match publish_and_wait(self, forward, kind, id, body).await? {
            Accepted::Pending(seq) => Ok(Accepted::Pending(seq)),
            Accepted::Applied(BusOutcome::Refused(e)) => Err(e),
            Accepted::Applied(outcome) => pick(outcome)
                .map(Accepted::Applied)
                .map_err(|other| mismatch(&other)),
        }
    }

    /// Takes checked observations: straight to the twin, or through the bus.
    pub async fn take_observations(
        &self,
        items: Vec<NewObservation>,
    ) -> Result<Accepted<Vec<u64>>, ApiError> {
        let Some(forward) = self.forward.clone() else {
            return self
                .submit(|reply| Request::Observations { items, reply })
                .await
                .map(Accepted::Applied);
        };
        let body = observations_body(&items);
        self.through_bus(forward.as_ref(), "observations", None, &body, |o| match o {
            BusOutcome::Observations(ids) => Ok(ids),
            other => Err(other),
        })
        .await
    }

    /// Takes a checked report: straight to the twin, or through the bus as `message` makes
    /// it (its message id and body); answers the incident and whether it is new.
    pub async fn take_report(
        &self,
        report: Report,
        message: impl FnOnce() -> (Option<String>, serde_json::Value),
    ) -> Result<Accepted<(u32, bool)>, ApiError> {
        let Some(forward) = self.forward.clone() else {
            return self
                .submit(|reply| Request::Report { report, reply })
                .await
                .map(Accepted::Applied);
        };
        let (id, body) = message();
        self.through_bus(forward.as_ref(), "reports", id, &body, |o| match o {
            BusOutcome::Report { incident, new } => Ok((incident, new)),
            other => Err(other),
        })
        .await
    }

    /// Takes one unit's checked fixes: straight to the twin, or through the bus; answers how
    /// many were kept.
    pub async fn take_fixes(
        &self,
        unit: String,
        fixes: Vec<NewFix>,
    ) -> Result<Accepted<usize>, ApiError> {
        let Some(forward) = self.forward.clone() else {
            return self
                .submit(|reply| Request::Fixes { unit, fixes, reply })
                .await
                .map(Accepted::Applied);
        };
        let body = fixes_body(&unit, &fixes);
        self.through_bus(forward.as_ref(), "positions", None, &body, |o| match o {
            BusOutcome::Fixes(kept) => Ok(kept),
            other => Err(other),
        })
        .await
    }
}
