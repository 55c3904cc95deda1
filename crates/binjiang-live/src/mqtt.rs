//! MQTT ingest, as field gateways publish: SensorThings observations on
//! `v1.1/Datastreams(<id>)/Observations` (or `v1.1/Observations` with a Datastream link),
//! taken exactly as over HTTP and acknowledged (QoS 1 PUBACK) only once on disk.
//!
//! The session is persistent (clean session off): while the service is down or
//! reconnecting, the broker keeps the subscription and queues what gateways publish, and a
//! message whose PUBACK never left is delivered again — so nothing acknowledged is lost and
//! nothing unacknowledged is dropped. Acknowledgements leave in the order messages came (an
//! acker task awaits each message's "on disk" in turn). A malformed message is logged with its
//! topic and acknowledged (dropped: redelivering it would never make it valid); it never stops
//! the service. When the twin's queue is full the loop waits before taking the next message:
//! back-pressure reaches the broker.

use crate::http::AppState;
use crate::twin::{Receipt, Request};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

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
    let (client, mut events) = AsyncClient::new(options, 256);
    // Acknowledge in arrival order, each once its data is on disk (or it was refused).
    let (ack_tx, mut ack_rx) = mpsc::channel::<(Publish, Option<Receipt<Vec<u64>>>)>(1024);
    // (A message is acknowledged with no receipt when it was refused: dropped for good.)
    let acker = {
        let client = client.clone();
        tokio::spawn(async move {
            while let Some((publish, receipt)) = ack_rx.recv().await {
                if let Some(r) = receipt {
                    match r.durable.await {
                        Ok(Ok(())) => {}
                        _ => {
                            // Not on disk: no PUBACK; the broker delivers it again on the
                            // next session.
                            tracing::warn!(topic = %publish.topic, "not saved; left unacknowledged for redelivery");
                            continue;
                        }
                    }
                }
                if client.ack(&publish).await.is_err() {
                    return;
                }
            }
        })
    };
    loop {
        let event = tokio::select! {
            _ = &mut stop => break,
            e = events.poll() => e,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                tracing::info!(broker = %format!("{}:{}", config.host, config.port), session_present = ack.session_present, "MQTT connected");
                for topic in TOPICS {
                    if let Err(e) = client.subscribe(topic, QoS::AtLeastOnce).await {
                        tracing::error!(%e, topic, "MQTT subscribe failed");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let receipt = match ingest(&state, &publish).await {
                    Outcome::Submitted(r) => Some(r),
                    Outcome::Dropped => None,
                    // Shutting down: no PUBACK, the broker keeps it for the next session.
                    Outcome::Left => break,
                };
                if ack_tx.send((publish, receipt)).await.is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(%e, "MQTT connection lost; reconnecting");
                tokio::select! {
                    _ = &mut stop => break,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
    }
    drop(ack_tx);
    let _ = acker.await;
    let _ = client.disconnect().await;
}

/// What became of a message.
enum Outcome {
    /// Taken by the twin; acknowledge once on disk.
    Submitted(Receipt<Vec<u64>>),
    /// Refused as malformed (logged): acknowledge, so it is not delivered again.
    Dropped,
    /// The service is stopping: leave it unacknowledged for the next session.
    Left,
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
