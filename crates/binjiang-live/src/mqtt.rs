//! MQTT ingest, as field gateways publish: SensorThings observations on
//! `v1.1/Datastreams(<id>)/Observations` (or `v1.1/Observations` with a Datastream link),
//! taken exactly as over HTTP and acknowledged (QoS 1 PUBACK) only once on disk.
//!
//! The session is persistent (clean session off): while the service is down or
//! reconnecting, the broker keeps the subscription and queues what gateways publish, and a
//! message whose PUBACK never left is delivered again — so nothing acknowledged is lost and
//! nothing unacknowledged is dropped. Acknowledgements leave in the order messages came, each
//! once its message is on disk. A malformed message is logged with its topic and acknowledged
//! (dropped: redelivering it would never make it valid); it never stops the service. When the
//! twin's queue is full the loop waits before taking the next message: back-pressure reaches
//! the broker. Credentials and TLS (rustls with ring; a CA, and a client certificate if the
//! broker wants one) are configurable.

use crate::http::AppState;
use crate::twin::{Receipt, Request};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::oneshot;

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
    let (client, mut events) = AsyncClient::new(options, MAX_PENDING);
    // Messages not yet acknowledged, in arrival order. Acknowledging goes through the event
    // loop, so this loop does it itself and never blocks on anything the event loop must
    // drive: it waits only on the broker, on the twin and on the disk.
    let mut pending: VecDeque<(Publish, Ack)> = VecDeque::new();
    loop {
        while let Some((publish, ack)) = pending.front() {
            match ack {
                Ack::Waiting(_) => break,
                Ack::Never => {}
                Ack::Now => {
                    if client.try_ack(publish).is_err() {
                        break; // the event loop's queue is full: after the next poll
                    }
                }
            }
            pending.pop_front();
        }
        let front_waiting = matches!(pending.front(), Some((_, Ack::Waiting(_))));
        tokio::select! {
            _ = &mut stop => break,
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
            // Full: take no more messages, but keep the event loop turning whenever an
            // acknowledgement waits to go out (it only leaves through the loop).
            event = events.poll(), if pending.len() < MAX_PENDING || !front_waiting => match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    tracing::info!(broker = %format!("{}:{}", config.host, config.port), session_present = ack.session_present, "MQTT connected");
                    for topic in TOPICS {
                        if let Err(e) = client.try_subscribe(topic, QoS::AtLeastOnce) {
                            tracing::error!(%e, topic, "MQTT subscribe failed");
                        }
                    }
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    let ack = match ingest(&state, &publish).await {
                        Outcome::Submitted(r) => Ack::Waiting(r.durable),
                        Outcome::Dropped | Outcome::Stored => Ack::Now,
                        Outcome::NotStored => Ack::Never,
                        // Shutting down: no PUBACK, the broker keeps it for the next session.
                        Outcome::Left => break,
                    };
                    pending.push_back((publish, ack));
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(%e, "MQTT connection lost; reconnecting");
                    tokio::select! {
                        _ = &mut stop => break,
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
            },
        }
    }
    let _ = client.try_disconnect();
}

/// Messages taken but not yet acknowledged, at most: beyond, the loop waits for the disk.
const MAX_PENDING: usize = 4096;

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
    let item = match crate::sta::observation_in(state, &value, stream, now) {
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
