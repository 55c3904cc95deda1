//! A district's inputs through the bus: gateways publish SensorThings observations, reports
//! and GPS fixes to `binjiang.<district>.observations|reports|positions`; the district's
//! twin (`binjiang serve <scene> --bus nats://…`) takes them with a durable consumer and
//! acknowledges each to the bus only once its own log holds it.
//!
//! **Exactly one effect per message**, by the twin's own log: the twin saves the stream
//! sequence number of the last bus message it took in the same SQLite transaction as what
//! that message changed. After a crash, a restart or a lost connection, the session recreates
//! the consumer to start right after that number, so a message the twin holds but never
//! acknowledged is not taken twice (and one it lacks is not skipped); a late redelivery at or
//! below it is acknowledged and ignored. Publishers retrying a publish use message ids, which
//! the stream's de-duplication window (2 minutes) folds into one copy. Messages are applied in
//! stream order, and the district's stream holds inputs only, so its sequence numbers run
//! without a gap: a jump in delivery (a message lost while a consumer's leader moved) ends the
//! session, as does a twin whose log no longer ends where the session expected (a write failed
//! and the twin rebuilt from disk); the next session starts from the log. Acknowledgements are
//! cumulative (`AckPolicy::All`), which is only safe because nothing is ever skipped.
//!
//! A message that is not valid (what `POST` would refuse with 4xx) is recorded as taken,
//! acknowledged, and published with the reason on `binjiang.<district>.rejected` (stream
//! [`REJECTED_STREAM`]): redelivering it could never make it valid, and nothing after it
//! waits for it.

use crate::nats::{bus, connect, publish_stored, retrying, stream_of, BusError};
use async_nats::jetstream::{self, consumer, stream};
use binjiang_live::error::ApiError;
use binjiang_live::http::{parse_json, AppState};
use binjiang_live::inputs::{fixes_of, report_of, FixIn, ReportIn};
use binjiang_live::store::StoreError;
use binjiang_live::twin::{BusInput, BusOutcome, Request};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// What gateways publish, by subject suffix.
pub const KINDS: [&str; 3] = ["observations", "reports", "positions"];
/// The twin's durable consumer on its district's stream.
pub const CONSUMER: &str = "twin";
/// Messages taken but not yet acknowledged, at most (back-pressure beyond).
const MAX_PENDING: usize = 4096;
/// A cumulative acknowledgement at least this often while messages keep coming.
const ACK_EVERY: usize = 256;

async fn ack(message: &jetstream::Message, seq: u64, url: &str) -> Result<(), BusError> {
    message
        .ack()
        .await
        .map_err(|e| bus(url)(format!("ack {seq}: {e}")))
}

/// `binjiang.<district>.<kind>`.
pub fn subject(district: &str, kind: &str) -> String {
    format!("binjiang.{district}.{kind}")
}

/// The district's ingest stream: `BINJIANG_IN_` and the name in capitals.
pub fn stream_name(district: &str) -> String {
    let name: String = district
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("BINJIANG_IN_{name}")
}

/// A district name fit for a subject token: ASCII letters, digits, `-` and `_` (a scene
/// folder's name, e.g. `yangpu-riverfront`).
pub fn check_district(name: &str) -> Result<(), String> {
    if name == "whatif" {
        return Err("district \"whatif\" is taken by the what-if runs' subjects".into());
    }
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(())
    } else {
        Err(format!(
            "district \"{name}\" cannot name a subject: use ASCII letters, digits, - and _"
        ))
    }
}

/// Creates the district's stream if missing: file storage, replicated on 3 servers in a
/// cluster, kept 7 days, publishes de-duplicated by message id within 2 minutes. It holds
/// inputs only, so its sequence numbers run without a gap: the twin can tell a message lost in
/// delivery.
pub async fn district_stream(
    js: &jetstream::Context,
    url: &str,
    district: &str,
) -> Result<stream::Stream, BusError> {
    let subjects: Vec<String> = KINDS.iter().map(|k| subject(district, k)).collect();
    stream_of(
        js,
        url,
        stream::Config {
            name: stream_name(district),
            subjects,
            storage: stream::StorageType::File,
            max_age: Duration::from_secs(7 * 24 * 3600),
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        },
    )
    .await
}

/// Every district's refusals (`binjiang.<district>.rejected`), kept 7 days.
pub const REJECTED_STREAM: &str = "BINJIANG_REJECTED";

/// Creates [`REJECTED_STREAM`] if missing.
pub async fn rejected_stream(
    js: &jetstream::Context,
    url: &str,
) -> Result<stream::Stream, BusError> {
    stream_of(
        js,
        url,
        stream::Config {
            name: REJECTED_STREAM.into(),
            subjects: vec!["binjiang.*.rejected".into()],
            storage: stream::StorageType::File,
            max_age: Duration::from_secs(7 * 24 * 3600),
            ..Default::default()
        },
    )
    .await
}

/// A bus message refused, as published on `binjiang.<district>.rejected`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rejection {
    /// The message's stream sequence number.
    pub seq: u64,
    /// Its subject.
    pub subject: String,
    /// The field at fault, when one is.
    pub field: Option<String>,
    /// Why.
    pub error: String,
}

/// GPS fixes on `binjiang.<district>.positions`: one unit's, oldest first.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PositionsIn {
    unit: String,
    fixes: Vec<FixIn>,
}

/// Checks a message as its HTTP twin would be checked.
pub fn input_of(state: &AppState, district: &str, subject: &str, payload: &[u8]) -> BusInput {
    let checked = || -> Result<BusInput, ApiError> {
        let kind = subject
            .strip_prefix(&format!("binjiang.{district}."))
            .unwrap_or_default();
        match kind {
            "observations" => {
                // One Observation, or an array of them taken whole or not at all.
                let v: serde_json::Value = parse_json(payload)?;
                let now = state.clock.now();
                let one = |v: &serde_json::Value| {
                    binjiang_live::inputs::observation_in(state, v, None, now)
                };
                let items = match &v {
                    serde_json::Value::Array(list) => {
                        if list.is_empty() {
                            return Err(ApiError::invalid("", "an empty array of Observations"));
                        }
                        list.iter()
                            .enumerate()
                            .map(|(k, o)| one(o).map_err(|e| e.within(&format!("[{k}]"))))
                            .collect::<Result<Vec<_>, _>>()?
                    }
                    _ => vec![one(&v)?],
                };
                Ok(BusInput::Observations(items))
            }
            "reports" => {
                let r: ReportIn = parse_json(payload)?;
                Ok(BusInput::Report(report_of(state, r)?))
            }
            "positions" => {
                let p: PositionsIn = parse_json(payload)?;
                if !state.scene.units.iter().any(|u| u.id == p.unit) {
                    return Err(ApiError::invalid(
                        "unit",
                        format!("no unit \"{}\" in the scene", p.unit),
                    ));
                }
                let fixes = fixes_of(state, &p.unit, p.fixes, "fixes")?;
                Ok(BusInput::Fixes {
                    unit: p.unit,
                    fixes,
                })
            }
            _ => Err(ApiError::invalid(
                "subject",
                format!("{subject} is not an input subject"),
            )),
        }
    };
    checked().unwrap_or_else(BusInput::Refused)
}

/// Takes the district's inputs from the bus at `url` into the twin until `stop` fires or
/// the twin stops. The bus unreachable, or lost: it logs why and tries again (0.25 s doubling
/// to 5 s), never giving up while the twin runs.
pub async fn run(
    url: String,
    district: String,
    ack_wait: Duration,
    state: AppState,
    mut stop: oneshot::Receiver<()>,
) {
    let mut backoff = Duration::from_millis(250);
    loop {
        let started = std::time::Instant::now();
        tokio::select! {
            _ = &mut stop => return,
            ended = session(&url, &district, ack_wait, &state) => match ended {
                Ok(()) => return,
                Err(e) => {
                    if started.elapsed() > Duration::from_secs(30) {
                        backoff = Duration::from_millis(250);
                    }
                    tracing::warn!(error = %e, retry_in = ?backoff, "bus ingest");
                }
            }
        }
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Where the twin's log stands in the bus; `None` when the twin has stopped.
async fn position(state: &AppState) -> Option<u64> {
    let (tx, rx) = oneshot::channel();
    state
        .requests
        .send(Request::BusPosition { reply: tx })
        .await
        .ok()?;
    rx.await.ok()
}

/// A message taken, waiting for its effect to be on disk.
struct Taken {
    message: jetstream::Message,
    seq: u64,
    durable: oneshot::Receiver<Result<(), Arc<StoreError>>>,
    refused: Option<ApiError>,
}

/// One connection's worth of ingest: `Ok` when the twin stopped, `Err` to start again.
async fn session(
    url: &str,
    district: &str,
    ack_wait: Duration,
    state: &AppState,
) -> Result<(), BusError> {
    let js = connect(url).await?;
    let stream = retrying(|| district_stream(&js, url, district)).await?;
    retrying(|| rejected_stream(&js, url)).await?;
    let Some(from) = position(state).await else {
        return Ok(());
    };
    let last = stream.cached_info().state.last_sequence;
    if last < from {
        return Err(bus(url)(format!(
            "stream {} ends at message {last}, but the twin's log has taken up to {from}: \
             is this a new bus? The log is kept; point the twin at its bus",
            stream_name(district)
        )));
    }
    let consumer = consumer_after(&stream, url, from, ack_wait).await?;
    let messages = consumer
        .stream()
        .heartbeat(Duration::from_secs(5))
        .messages()
        .await
        .map_err(|e| bus(url)(e.to_string()))?;
    tracing::info!(district, from, "bus ingest: taking messages");
    let (taken_tx, taken_rx) = mpsc::channel::<Taken>(MAX_PENDING);
    let at = Place {
        js: &js,
        url,
        district,
    };
    tokio::select! {
        done = acknowledge(&at, taken_rx) => done.and(Err(bus(url)("the acknowledger stopped".into()))),
        done = take(&at, state, &stream, from, messages, taken_tx) => done,
    }
}

/// Where a session runs: the bus, its URL (for errors) and the district.
struct Place<'a> {
    js: &'a jetstream::Context,
    url: &'a str,
    district: &'a str,
}

/// The session's consumer, starting right after `from`: the log is the authority on what was
/// taken, so the last session's consumer is deleted and a fresh one made.
async fn consumer_after(
    stream: &stream::Stream,
    url: &str,
    from: u64,
    ack_wait: Duration,
) -> Result<consumer::PullConsumer, BusError> {
    let _ = stream.delete_consumer(CONSUMER).await;
    let consumer: consumer::PullConsumer = stream
        .create_consumer(consumer::pull::Config {
            durable_name: Some(CONSUMER.into()),
            deliver_policy: if from == 0 {
                consumer::DeliverPolicy::All
            } else {
                consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: from + 1,
                }
            },
            ack_policy: consumer::AckPolicy::All,
            ack_wait,
            max_ack_pending: MAX_PENDING as i64,
            ..Default::default()
        })
        .await
        .map_err(|e| bus(url)(format!("consumer {CONSUMER}: {e}")))?;
    // A delete lost while the cluster moved leaders leaves the old consumer, with messages
    // it delivered to the last session: not a fresh start, so try again.
    if consumer.cached_info().delivered.consumer_sequence != 0 {
        return Err(bus(url)(format!(
            "consumer {CONSUMER} of the last session is still there; recreating it"
        )));
    }
    Ok(consumer)
}

/// Acknowledges in order, each message once on disk (refusals published first). The
/// consumer acknowledges cumulatively (AckPolicy::All): one ack covers every message before
/// it, so the ack goes out when no more are waiting, or every [`ACK_EVERY`] messages.
async fn acknowledge(at: &Place<'_>, mut taken_rx: mpsc::Receiver<Taken>) -> Result<(), BusError> {
    let url = at.url;
    let mut last: Option<(jetstream::Message, u64)> = None;
    let mut unacked = 0usize;
    loop {
        let t = match taken_rx.try_recv() {
            Ok(t) => t,
            Err(mpsc::error::TryRecvError::Disconnected) => break,
            Err(mpsc::error::TryRecvError::Empty) => {
                if let Some((m, seq)) = last.take() {
                    ack(&m, seq, url).await?;
                    unacked = 0;
                }
                match taken_rx.recv().await {
                    Some(t) => t,
                    None => break,
                }
            }
        };
        match t.durable.await {
            Ok(Ok(())) => {}
            // Not on disk: the session ends unacknowledged; the next one starts after
            // what the log holds.
            Ok(Err(e)) => return Err(bus(url)(format!("message {} not saved: {e}", t.seq))),
            Err(_) => {
                return Err(bus(url)(format!(
                    "message {} not saved: the database writer stopped",
                    t.seq
                )))
            }
        }
        if let Some(e) = t.refused {
            publish_rejection(at, t.seq, t.message.subject.to_string(), e).await?;
        }
        last = Some((t.message, t.seq));
        unacked += 1;
        if unacked >= ACK_EVERY {
            if let Some((m, seq)) = last.take() {
                ack(&m, seq, url).await?;
            }
            unacked = 0;
        }
    }
    Ok(())
}

/// Records a refused message on the rejected stream, with why.
async fn publish_rejection(
    at: &Place<'_>,
    seq: u64,
    subject_of: String,
    e: ApiError,
) -> Result<(), BusError> {
    let rejection = Rejection {
        seq,
        subject: subject_of,
        field: e.field,
        error: e.error,
    };
    tracing::warn!(seq, subject = %rejection.subject, error = %rejection.error, "bus message refused");
    let body = serde_json::to_vec(&rejection).expect("plain data");
    publish_stored(
        at.js,
        at.url,
        subject(at.district, "rejected"),
        &format!("rejected-{seq}"),
        body,
    )
    .await?;
    Ok(())
}

/// Takes the session's messages to the twin in order, each after the one before (a jump in
/// sequence ends the session: the next resumes from the log), handing each receipt on.
async fn take(
    at: &Place<'_>,
    state: &AppState,
    stream: &stream::Stream,
    from: u64,
    mut messages: consumer::pull::Stream,
    taken_tx: mpsc::Sender<Taken>,
) -> Result<(), BusError> {
    let url = at.url;
    let mut after = from;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| bus(url)(e.to_string()))?;
        let info = message.info().map_err(|e| bus(url)(e.to_string()))?;
        let seq = info.stream_sequence;
        state.telemetry.bus_pending.set(info.pending as i64);
        if seq > after + 1 {
            // The stream holds inputs only: a jump is a message lost in delivery (its
            // consumer changed leader), unless the stream's retention dropped it.
            let first = stream
                .get_info()
                .await
                .map_err(|e| bus(url)(e.to_string()))?
                .state
                .first_sequence;
            if first <= after + 1 {
                return Err(bus(url)(format!(
                    "delivery jumped from message {} to {seq}: resuming from the log",
                    after + 1
                )));
            }
            tracing::warn!(
                from = after + 1,
                to = first - 1,
                "messages expired from the bus before the twin took them"
            );
        }
        let input = input_of(state, at.district, &message.subject, &message.payload);
        let (tx, rx) = oneshot::channel();
        let request = Request::FromBus {
            seq,
            after,
            input,
            reply: tx,
        };
        // Waits for room: a busy twin slows the consumer, nothing is dropped.
        if state.requests.send(request).await.is_err() {
            return Ok(());
        }
        let receipt = match rx.await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(bus(url)(e.error)),
            Err(_) => return Ok(()),
        };
        after = after.max(seq);
        let taken = Taken {
            message,
            seq,
            durable: receipt.durable,
            refused: match receipt.value {
                BusOutcome::Refused(e) => Some(e),
                _ => None,
            },
        };
        if taken_tx.send(taken).await.is_err() {
            break;
        }
    }
    Err(bus(url)("the consumer's feed ended".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            stream_name("yangpu-riverfront"),
            "BINJIANG_IN_YANGPU_RIVERFRONT"
        );
        assert_eq!(
            subject("yangpu-riverfront", "reports"),
            "binjiang.yangpu-riverfront.reports"
        );
        assert!(check_district("yangpu-riverfront").is_ok());
        for bad in ["", "a.b", "a*", "a b", "a>"] {
            assert!(check_district(bad).is_err(), "{bad}");
        }
    }
}
