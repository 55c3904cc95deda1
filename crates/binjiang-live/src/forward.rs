//! One path for every input (`serve --bus … --ingest-via-bus`): HTTP and MQTT ingest check
//! what arrives exactly as before, then publish it to the district's bus subject instead of
//! handing it to the twin; the twin takes it from the bus like any gateway's message, and the
//! HTTP answer (201 and ids, the incident number) is given once the twin has taken it and its
//! log holds it. If the twin does not take it within [`WAIT`], the answer is 202 Accepted with
//! the bus sequence number: it is stored, replicated, and will be applied.
//!
//! The bus itself is behind [`Forward`] (implemented on NATS JetStream in `binjiang-bus`), so
//! this crate knows nothing of NATS.

use crate::twin::{NewFix, NewObservation};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

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
