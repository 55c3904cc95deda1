//! MQTT ingest, as field gateways publish: SensorThings observations on
//! `v1.1/Datastreams(<id>)/Observations` (or `v1.1/Observations` with a Datastream link),
//! taken exactly as over HTTP and acknowledged (QoS 1 PUBACK) only once on disk.
//!
//! The session is persistent (clean session off): while the service is down or
//! reconnecting, the broker keeps the subscription and queues what gateways publish, and a
//! message whose PUBACK never left is delivered again — so nothing acknowledged is lost and
//! nothing unacknowledged is dropped. Acknowledgements leave in the order messages came, each
//! once its message is on disk. A malformed message is logged with its topic and acknowledged
//! (dropped: redelivering it would never make it valid); it never stops the service.
//!
//! Receiving and acknowledging are two tasks ([`run`], [`acknowledge`]): the connection is
//! polled without pause, so a stalled twin or disk does not let the keep-alive lapse (which
//! made the broker deliver again what was already stored). A message that could not be saved
//! forces a reconnect, so the broker delivers it again instead of holding it (and, once its
//! in-flight window is full, everything after it) until a reconnect nothing forced. A message
//! delivered again (DUP) that is stored or on its way is not stored twice. At most
//! [`MAX_PENDING`] + 1,024 messages wait for the disk; beyond, receiving waits (back-pressure
//! reaches the broker). Credentials and TLS (rustls with ring; a CA, and a client certificate
//! if the broker wants one) are configurable; the password comes from a file or the
//! environment, never the command line.

use crate::http::AppState;
use crate::twin::{Receipt, Request};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct MqttConfig {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// MQTT client id (the persistent session is keyed by it).
    pub client_id: String,
    /// User name and password, if the broker wants them.
    pub credentials: Option<(String, String)>,
    /// TLS to the broker, if set.
    pub tls: Option<MqttTls>,
}

/// TLS to the broker (rustls with ring): the CA that signed the broker's certificate, and a
/// client certificate and key if the broker asks for one. All PEM.
#[derive(Debug, Clone)]
pub struct MqttTls {
    /// CA certificate(s).
    pub ca: Vec<u8>,
    /// Client certificate chain and private key.
    pub client_auth: Option<(Vec<u8>, Vec<u8>)>,
}

impl MqttConfig {
    /// Parses `host:port`.
    pub fn parse(addr: &str) -> Option<Self> {
        let (host, port) = addr.rsplit_once(':')?;
        Some(MqttConfig {
            host: host.to_owned(),
            port: port.parse().ok()?,
            client_id: "binjiang-twin".into(),
            credentials: None,
            tls: None,
        })
    }
}

/// The topics subscribed to.
pub const TOPICS: [&str; 2] = ["v1.1/+/Observations", "v1.1/Observations"];

/// The Datastream named by a topic: `Some(Some(id))` for `v1.1/Datastreams(<id>)/Observations`,
/// `Some(None)` for `v1.1/Observations` (the link is in the body), `None` otherwise.
pub fn datastream_of(topic: &str) -> Option<Option<u64>> {
    if topic == "v1.1/Observations" {
        return Some(None);
    }
    let id = topic
        .strip_prefix("v1.1/Datastreams(")?
        .strip_suffix(")/Observations")?
        .parse()
        .ok()?;
    Some(Some(id))
}

/// Runs until `stop` fires: connects, subscribes on every (re)connection, ingests.
///
/// Two tasks, so that receiving never waits on acknowledging: this one polls the
/// connection without pause (keep-alive pings go out, PUBACKs leave, messages come in) and
/// hands each message to [`acknowledge`], which takes it to the twin and queues its PUBACK
/// once it is on disk. A stalled twin or disk therefore no longer drops the connection (which
/// made the broker deliver again what was already stored). How many messages wait unacked is
/// bounded by the broker's in-flight window (mosquitto's `max_inflight_messages`) and by
/// [`MAX_PENDING`].
pub async fn run(config: MqttConfig, state: AppState, mut stop: oneshot::Receiver<()>) {
    let mut options = MqttOptions::new(&config.client_id, &config.host, config.port);
    options.set_keep_alive(Duration::from_secs(5));
    options.set_clean_session(false);
    options.set_manual_acks(true);
    if let Some((user, password)) = &config.credentials {
        options.set_credentials(user, password);
    }
    if let Some(tls) = &config.tls {
        // The process's crypto for rustls (a second install is refused and harmless).
        let _ = rustls::crypto::ring::default_provider().install_default();
        options.set_transport(rumqttc::Transport::Tls(rumqttc::TlsConfiguration::Simple {
            ca: tls.ca.clone(),
            alpn: None,
            client_auth: tls.client_auth.clone(),
        }));
    }
    // Room for every PUBACK the acknowledger can owe at once (what it holds and what waits
    // for it) and the subscriptions: acknowledging never waits for this loop.
    let (client, mut events) = AsyncClient::new(options, MAX_PENDING + HANDED_OVER + 16);
    let (to_acks, incoming) = mpsc::channel::<Publish>(HANDED_OVER);
    // A message received while the acknowledger's queue is full: the connection is polled
    // again once it is handed over (the only time receiving waits, with 5,000 messages
    // waiting for the disk).
    let mut held: Option<Publish> = None;
    let reconnect = Arc::new(Notify::new());
    let (finish, finishing) = oneshot::channel();
    let mut acks = tokio::spawn(acknowledge(
        client.clone(),
        state,
        incoming,
        Arc::clone(&reconnect),
        finishing,
    ));
    let mut acks_done = false;
    let mut finish = Some(finish);
    // After `stop`: the acknowledger finishes what it holds while this loop keeps the
    // connection turning so its PUBACKs leave; at most this long.
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let until_deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut stop, if finish.is_some() => {
                let _ = finish.take().map(|f| f.send(()));
                deadline = Some(tokio::time::Instant::now() + STOP_GRACE);
            }
            _ = &mut acks, if !acks_done => {
                acks_done = true;
                if finish.is_none() {
                    // Let the last PUBACKs leave: poll until the requests are flushed.
                    deadline = Some(tokio::time::Instant::now() + Duration::from_millis(200));
                }
            }
            _ = until_deadline => break,
            permit = to_acks.reserve(), if held.is_some() => match permit {
                Ok(permit) => permit.send(held.take().expect("held")),
                Err(_) => break,
            },
            _ = reconnect.notified() => {
                // A message could not be saved: without a PUBACK the broker holds it (and,
                // once its in-flight window is full, everything after it) until the next
                // session. Start that session now, so it is delivered again.
                tracing::warn!("reconnecting to the broker so it delivers the unsaved messages again");
                let _ = client.try_disconnect();
            }
            event = events.poll(), if held.is_none() => match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    tracing::info!(broker = %format!("{}:{}", config.host, config.port), session_present = ack.session_present, "MQTT connected");
                    for topic in TOPICS {
                        if let Err(e) = client.try_subscribe(topic, QoS::AtLeastOnce) {
                            tracing::error!(%e, topic, "MQTT subscribe failed");
                        }
                    }
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    // Stopping: taken no more (no PUBACK: the broker keeps it for the next session).
                    if finish.is_some() {
                        match to_acks.try_send(publish) {
                            Ok(()) => {}
                            Err(mpsc::error::TrySendError::Full(p)) => held = Some(p),
                            Err(mpsc::error::TrySendError::Closed(_)) => break,
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    if finish.is_none() {
                        break;
                    }
                    tracing::warn!(%e, "MQTT connection lost; reconnecting");
                    tokio::select! {
                        _ = &mut stop => {
                            let _ = finish.take().map(|f| f.send(()));
                            break;
                        }
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
            },
        }
    }
    acks.abort();
    let _ = client.try_disconnect();
}

/// How long a stopping service waits for the messages it took to reach the disk and their
/// PUBACKs to leave; what is left is delivered again next session.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Recently acknowledged messages remembered, to tell a redelivery (after a reconnect whose
/// PUBACK was lost on the way) from a new message.
const ACKED_KEPT: usize = 4096;

/// Takes messages to the twin in order and acknowledges each once it is on disk (or refused
/// for good), in arrival order. A message the broker delivers again (its DUP flag set, same
/// packet id and content) that is already stored or on its way is not stored twice. A
/// message that could not be saved gets no PUBACK and asks for a reconnect, so the broker
/// delivers it again. Ends when `finishing` fires and what it holds is settled.
async fn acknowledge(
    client: AsyncClient,
    state: AppState,
    mut incoming: mpsc::Receiver<Publish>,
    reconnect: Arc<Notify>,
    mut finishing: oneshot::Receiver<()>,
) {
    let mut pending: VecDeque<(Publish, Ack)> = VecDeque::new();
    let mut acked: VecDeque<(u16, u64)> = VecDeque::new();
    let mut taking = true;
    loop {
        while let Some((publish, ack)) = pending.front() {
            match ack {
                Ack::Waiting(_) => break,
                Ack::Never => reconnect.notify_one(),
                Ack::Now => {
                    // Never waits: the request queue has room for every PUBACK owed.
                    if let Err(e) = client.try_ack(publish) {
                        tracing::error!(%e, "PUBACK not queued; the broker delivers it again");
                    }
                    if acked.len() == ACKED_KEPT {
                        acked.pop_front();
                    }
                    acked.push_back((publish.pkid, fingerprint(publish)));
                }
            }
            pending.pop_front();
        }
        if !taking && pending.is_empty() {
            return;
        }
        let front_waiting = matches!(pending.front(), Some((_, Ack::Waiting(_))));
        tokio::select! {
            _ = &mut finishing, if taking => taking = false,
            saved = async {
                match pending.front_mut() {
                    Some((_, Ack::Waiting(rx))) => rx.await,
                    _ => std::future::pending().await,
                }
            }, if front_waiting => {
                let (publish, ack) = pending.front_mut().expect("a front");
                *ack = if matches!(saved, Ok(Ok(()))) {
                    Ack::Now
                } else {
                    // Not on disk: no PUBACK; the broker delivers it again next session.
                    tracing::warn!(topic = %publish.topic, "not saved; left unacknowledged for redelivery");
                    Ack::Never
                };
            }
            message = incoming.recv(), if taking && pending.len() < MAX_PENDING => {
                let Some(publish) = message else { taking = false; continue };
                if publish.dup {
                    let id = (publish.pkid, fingerprint(&publish));
                    if acked.contains(&id) {
                        // Stored and acknowledged; the PUBACK was lost: acknowledge again.
                        pending.push_back((publish, Ack::Now));
                        continue;
                    }
                    let held = pending.iter().position(|(p, a)| {
                        (p.pkid, fingerprint(p)) == id && !matches!(a, Ack::Never)
                    });
                    if held.is_some() {
                        // On its way to the disk: its first delivery's PUBACK answers both.
                        continue;
                    }
                }
                let ack = match ingest(&state, &publish).await {
                    Outcome::Submitted(r) => Ack::Waiting(r.durable),
                    Outcome::Dropped | Outcome::Stored => Ack::Now,
                    Outcome::NotStored => Ack::Never,
                    // Shutting down: no PUBACK, the broker keeps it for the next session.
                    Outcome::Left => { taking = false; continue }
                };
                pending.push_back((publish, ack));
            }
        }
    }
}

/// A message's identity beside its packet id: a hash of its topic and payload.
fn fingerprint(publish: &Publish) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    publish.topic.hash(&mut h);
    publish.payload.hash(&mut h);
    h.finish()
}

/// Messages the acknowledger holds (taken to the twin, not yet acknowledged), at most.
const MAX_PENDING: usize = 4096;
/// Messages received and waiting for the acknowledger, at most: beyond, receiving waits.
const HANDED_OVER: usize = 1024;

/// Whether and when a message is acknowledged.
enum Ack {
    /// Once this says it is on disk.
    Waiting(oneshot::Receiver<Result<(), std::sync::Arc<crate::store::StoreError>>>),
    /// Now (on disk, or refused for good).
    Now,
    /// Never in this session (not saved).
    Never,
}

/// What became of a message.
enum Outcome {
    /// Taken by the twin; acknowledge once on disk.
    Submitted(Receipt<Vec<u64>>),
    /// Refused as malformed (logged): acknowledge, so it is not delivered again.
    Dropped,
    /// Stored on the bus (`--ingest-via-bus`): acknowledge now; the twin takes it there.
    Stored,
    /// The service is stopping: leave it unacknowledged for the next session.
    Left,
    /// Not stored (the bus refused): no PUBACK in this session, the broker redelivers it.
    NotStored,
}

/// Checks and submits one message.
async fn ingest(state: &AppState, publish: &Publish) -> Outcome {
    let refuse = |why: String| {
        tracing::warn!(topic = %publish.topic, error = %why, "MQTT message dropped");
        Outcome::Dropped
    };
    let Some(stream) = datastream_of(&publish.topic) else {
        return refuse("not an Observations topic".into());
    };
    let value: serde_json::Value = match crate::http::parse_json(&publish.payload) {
        Ok(v) => v,
        Err(e) => return refuse(format!("{}: {}", e.field.unwrap_or_default(), e.error)),
    };
    if let Some(ds) = stream {
        if state.things.get(ds).is_none() {
            return refuse(format!("no Datastreams({ds})"));
        }
    }
    let now = state.clock.now();
    let item = match crate::inputs::observation_in(state, &value, stream, now) {
        Ok(o) => o,
        Err(e) => return refuse(format!("{}: {}", e.field.unwrap_or_default(), e.error)),
    };
    if let Some(forward) = &state.forward {
        // Through the bus: acknowledged once the bus has stored it; the twin takes it there.
        let body = crate::forward::observations_body(&[item]);
        let payload = serde_json::to_vec(&body).expect("plain data");
        return match forward.publish("observations", None, payload).await {
            Ok(_) => Outcome::Stored,
            Err(e) => {
                tracing::warn!(topic = %publish.topic, error = %e, "not stored on the bus; left unacknowledged for redelivery");
                Outcome::NotStored
            }
        };
    }
    let (tx, rx) = oneshot::channel();
    // Waits for room: a full twin slows the broker down instead of refusing.
    if state
        .requests
        .send(Request::Observations {
            items: vec![item],
            reply: tx,
        })
        .await
        .is_err()
    {
        return Outcome::Left;
    }
    match rx.await {
        Ok(Ok(receipt)) => Outcome::Submitted(receipt),
        Ok(Err(e)) => refuse(e.error),
        Err(_) => Outcome::Left,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics() {
        assert_eq!(
            datastream_of("v1.1/Datastreams(12)/Observations"),
            Some(Some(12))
        );
        assert_eq!(datastream_of("v1.1/Observations"), Some(None));
        assert_eq!(datastream_of("v1.1/Datastreams(x)/Observations"), None);
        assert_eq!(datastream_of("v1.1/Things(1)/Observations"), None);
        assert_eq!(MqttConfig::parse("127.0.0.1:1883").unwrap().port, 1883);
        assert!(MqttConfig::parse("nowhere").is_none());
    }
}
