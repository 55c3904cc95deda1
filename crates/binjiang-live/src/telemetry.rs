//! Prometheus metrics at `GET /metrics` (OpenMetrics text): ingest, the twin's queue, fsync
//! and dispatch latency, open work per agency. One registry per service (no global state), so
//! several services in one process — the tests — keep their counts apart.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// A label naming an agency.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AgencyLabel {
    /// Agency key.
    pub agency: String,
}

/// A label naming what came in.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// `observation`, `report`, `fix`, `command`.
    pub kind: String,
}

/// Every metric of a service.
#[derive(Debug)]
pub struct Telemetry {
    registry: Registry,
    /// Inputs the twin accepted, by kind.
    pub accepted: Family<KindLabel, Counter>,
    /// Requests refused because the twin's queue was full.
    pub busy: Counter,
    /// Requests waiting for the twin (sampled when scraped).
    pub queue_depth: Gauge,
    /// Bytes of request bodies in flight (sampled when scraped), against their budget.
    pub request_bytes: Gauge,
    /// Seconds per group commit (the fsync that acknowledgements wait for).
    pub commit_seconds: Histogram,
    /// Batches per group commit.
    pub commit_batches: Histogram,
    /// Seconds from a report (or alarm) reaching the core to its dispatch decision.
    pub dispatch_seconds: Histogram,
    /// Unfinished parts of open incidents, per agency (sampled when scraped).
    pub open_parts: Family<AgencyLabel, Gauge>,
    /// Parts waiting for a unit, per agency (sampled when scraped).
    pub queued_parts: Family<AgencyLabel, Gauge>,
    /// The last bus message the log holds (stream sequence; `serve --bus`).
    pub bus_position: Gauge,
    /// Messages on the district's stream not yet delivered to the twin: its lag.
    pub bus_pending: Gauge,
    /// Bus messages refused (published on `.rejected`).
    pub bus_refused: Counter,
}

impl Default for Telemetry {
    fn default() -> Self {
        let mut registry = Registry::default();
        let t = Telemetry {
            accepted: Family::default(),
            busy: Counter::default(),
            queue_depth: Gauge::default(),
            request_bytes: Gauge::default(),
            commit_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            commit_batches: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            dispatch_seconds: Histogram::new(exponential_buckets(0.000_001, 2.0, 20)),
            open_parts: Family::default(),
            queued_parts: Family::default(),
            bus_position: Gauge::default(),
            bus_pending: Gauge::default(),
            bus_refused: Counter::default(),
            registry: Registry::default(),
        };
        registry.register(
            "binjiang_accepted",
            "Inputs accepted by the twin",
            t.accepted.clone(),
        );
        registry.register(
            "binjiang_busy",
            "Requests refused with 503 because the twin's queue was full",
            t.busy.clone(),
        );
        registry.register(
            "binjiang_queue_depth",
            "Requests waiting for the twin",
            t.queue_depth.clone(),
        );
        registry.register(
            "binjiang_request_bytes_in_flight",
            "Bytes of request bodies read or announced and not yet answered (503 beyond the budget)",
            t.request_bytes.clone(),
        );
        registry.register(
            "binjiang_commit_seconds",
            "Seconds per group commit, fsync included",
            t.commit_seconds.clone(),
        );
        registry.register(
            "binjiang_commit_batches",
            "Batches written per group commit",
            t.commit_batches.clone(),
        );
        registry.register(
            "binjiang_dispatch_seconds",
            "Seconds from a report reaching the dispatch core to its decision",
            t.dispatch_seconds.clone(),
        );
        registry.register(
            "binjiang_open_parts",
            "Unfinished parts of open incidents",
            t.open_parts.clone(),
        );
        registry.register(
            "binjiang_queued_parts",
            "Parts of open incidents waiting for a unit",
            t.queued_parts.clone(),
        );
        registry.register(
            "binjiang_bus_position",
            "Stream sequence of the last bus message the twin's log holds",
            t.bus_position.clone(),
        );
        registry.register(
            "binjiang_bus_pending",
            "Messages on the district's stream not yet delivered to the twin",
            t.bus_pending.clone(),
        );
        registry.register(
            "binjiang_bus_refused",
            "Bus messages refused and published on .rejected",
            t.bus_refused.clone(),
        );
        Telemetry { registry, ..t }
    }
}

impl Telemetry {
    /// Counts an accepted input of `kind`.
    pub fn accept(&self, kind: &str, n: u64) {
        self.accepted
            .get_or_create(&KindLabel { kind: kind.into() })
            .inc_by(n);
    }

    /// The OpenMetrics text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
