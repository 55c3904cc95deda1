//! The publishing side of [`crate::ingest`]: what a field gateway does, and what `binjiang
//! replay --to nats://…` does for a simulated or recorded day.

use crate::ingest::{check_district, district_stream, subject};
use crate::nats::{bus, connect, publish_stored, retrying, BusError};
use async_nats::jetstream;

/// A connection that publishes one district's inputs, each stored (replicated and on disk)
/// before [`Gateway::publish`] returns.
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
    /// the same id within two minutes is stored once).
    pub async fn publish(
        &self,
        kind: &str,
        id: &str,
        body: &serde_json::Value,
    ) -> Result<(), BusError> {
        let payload = serde_json::to_vec(body).expect("plain data");
        publish_stored(
            &self.js,
            &self.url,
            subject(&self.district, kind),
            id,
            payload,
        )
        .await
    }
}
