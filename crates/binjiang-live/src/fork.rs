//! "Fork now": if nothing changes, where are we in two hours? A copy of the live state runs
//! forward with incidents drawn from the catalogue, off the twin's task; the live twin is
//! never touched (the copy is taken between two requests).

use crate::clock::Clock;
use binjiang_sim::{Metrics, MetricsFold, Simulation};
use serde::Serialize;
use std::collections::BTreeMap;

/// Longest projection, hours.
pub const MAX_HOURS: f64 = 24.0;
/// Seconds between samples of the queues.
const SAMPLE_S: f64 = 60.0;

/// The expected peak of one agency's queue.
#[derive(Debug, Clone, Serialize)]
pub struct Peak {
    /// Most parts waiting at once.
    pub parts: usize,
    /// When first reached (ISO 8601).
    pub at: String,
}

/// A projection.
#[derive(Debug, Clone, Serialize)]
pub struct Projection {
    /// From (now), ISO 8601.
    pub from: String,
    /// To, ISO 8601.
    pub until: String,
    /// The seed of the drawn incidents.
    pub seed: u64,
    /// Incidents open at the end.
    pub open_at_end: usize,
    /// Per agency, the longest queue and when.
    pub peak_queue: BTreeMap<String, Peak>,
    /// The day's KPIs (docs/kpis.md, since the district's midnight) as they would stand at
    /// the end: what happened so far, then the projection.
    pub kpis: Metrics,
}

/// Runs `fork` (a copy from [`Simulation::fork_generated`]) for `hours`, continuing `today`
/// (the live twin's fold of the day so far).
pub fn project(
    mut fork: Simulation,
    mut fold: MetricsFold,
    hours: f64,
    seed: u64,
    clock: &Clock,
) -> Projection {
    let from = fork.now();
    let until = from + hours * 3600.0;
    let mut peak: BTreeMap<String, Peak> = BTreeMap::new();
    let mut t = from;
    while t < until {
        t = (t + SAMPLE_S).min(until);
        fork.advance_to(t);
        fold.extend(fork.drain_events().iter());
        fork.retire_closed();
        for (agency, n) in fork.queue_lengths() {
            let p = peak.entry(agency.key().into()).or_insert(Peak {
                parts: 0,
                at: clock.iso(from),
            });
            if n > p.parts {
                *p = Peak {
                    parts: n,
                    at: clock.iso(t),
                };
            }
        }
    }
    let open_at_end = fork
        .incidents()
        .filter(|i| i.status == binjiang_sim::IncidentStatus::Open)
        .count();
    Projection {
        from: clock.iso(from),
        until: clock.iso(until),
        seed,
        open_at_end,
        peak_queue: peak,
        kpis: fold.summary(until),
    }
}
