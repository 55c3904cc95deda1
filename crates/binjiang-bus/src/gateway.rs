//! The publishing side of [`crate::ingest`]: what a field gateway does, and what `binjiang
//! replay --to nats://…` does for a simulated or recorded day.

use crate::ingest::{check_district, district_stream, subject};
use crate::nats::{bus, connect, publish_stored, retrying, BusError};
use async_nats::jetstream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A connection that publishes one district's inputs, each stored (replicated and on disk)
/// before [`Gateway::publish`] returns.
#[derive(Debug)]
pub struct Gateway {
    js: jetstream::Context,
    url: String,
    district: String,
}

impl Gateway {
    /// Connects and makes sure the district's stream exists.
    pub async fn connect(url: &str, district: &str) -> Result<Self, BusError> {
        check_district(district).map_err(bus(url))?;
        let js = connect(url).await?;
        retrying(|| district_stream(&js, url, district)).await?;
        Ok(Gateway {
            js,
            url: url.to_owned(),
            district: district.to_owned(),
        })
    }

    /// Publishes `body` on `binjiang.<district>.<kind>` under message id `id` (a retry with
    /// the same id within two minutes is stored once); returns its stream sequence number.
    pub async fn publish(
        &self,
        kind: &str,
        id: &str,
        body: &serde_json::Value,
    ) -> Result<u64, BusError> {
        let payload = serde_json::to_vec(body).expect("plain data");
        Ok(self.publish_bytes(kind, id, payload).await?.0)
    }

    /// [`Gateway::publish`] of a body already encoded: its sequence number, and whether the
    /// bus already had it (the same id within two minutes).
    pub async fn publish_bytes(
        &self,
        kind: &str,
        id: &str,
        payload: Vec<u8>,
    ) -> Result<(u64, bool), BusError> {
        publish_stored(
            &self.js,
            &self.url,
            subject(&self.district, kind),
            id,
            payload,
        )
        .await
        .map(|ack| (ack.sequence, ack.duplicate))
    }
}

/// The twin's own HTTP and MQTT ingest publishing to its district's subjects
/// (`serve --ingest-via-bus`): connects on first use and again after a failure.
#[derive(Debug)]
pub struct Forwarder {
    url: String,
    district: String,
    gateway: tokio::sync::Mutex<Option<Arc<Gateway>>>,
    /// Message ids for inputs without their own: this process's, then a counter.
    run: String,
    next: AtomicU64,
}

impl Forwarder {
    /// For the bus at `url` and `district`.
    pub fn new(url: &str, district: &str) -> Self {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Forwarder {
            url: url.to_owned(),
            district: district.to_owned(),
            gateway: tokio::sync::Mutex::new(None),
            run: format!("twin-{}-{started}", std::process::id()),
            next: AtomicU64::new(0),
        }
    }
}

impl binjiang_live::forward::Forward for Forwarder {
    fn publish<'a>(
        &'a self,
        kind: &'static str,
        id: Option<String>,
        body: Vec<u8>,
    ) -> binjiang_live::forward::Stored<'a> {
        Box::pin(async move {
            let gateway = {
                let mut held = self.gateway.lock().await;
                if held.is_none() {
                    let g = Gateway::connect(&self.url, &self.district)
                        .await
                        .map_err(|e| e.to_string())?;
                    *held = Some(Arc::new(g));
                }
                Arc::clone(held.as_ref().expect("just set"))
            };
            let id = id.unwrap_or_else(|| {
                format!("{}-{}", self.run, self.next.fetch_add(1, Ordering::SeqCst))
            });
            let stored = gateway.publish_bytes(kind, &id, body).await;
            if stored.is_err() {
                *self.gateway.lock().await = None;
            }
            stored.map_err(|e| e.to_string())
        })
    }
}
