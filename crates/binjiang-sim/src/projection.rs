//! "If nothing changes, where are we in two hours?": a copy of the state (from
//! [`Simulation::fork_generated`]) runs forward while the queues are sampled. The live
//! service answers `POST /api/v1/forks` with it and the wall shows it on key `P`; both leave
//! the original untouched.

use crate::{Metrics, MetricsFold, Simulation};
use binjiang_scene::Agency;
use std::collections::BTreeMap;

/// Seconds between samples of the queues.
pub const SAMPLE_S: f64 = 60.0;

/// The expected peak of one agency's queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueuePeak {
    /// Most parts waiting at once.
    pub parts: usize,
    /// When first reached, simulation seconds.
    pub at_s: f64,
}

/// Where the district would stand.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// From, simulation seconds.
    pub from_s: f64,
    /// To, simulation seconds.
    pub until_s: f64,
    /// Incidents open at the end.
    pub open_at_end: usize,
    /// Per agency, the longest queue and when.
    pub peak_queue: BTreeMap<Agency, QueuePeak>,
    /// The KPIs as they would stand at the end: `fold`'s events so far, then the projection.
    pub kpis: Metrics,
}

/// Runs `fork` forward for `hours`, continuing `fold` (the figures of the run so far).
pub fn project(mut fork: Simulation, mut fold: MetricsFold, hours: f64) -> Projection {
    let from = fork.now();
    let until = from + hours.max(0.0) * 3600.0;
    let mut peak: BTreeMap<Agency, QueuePeak> = BTreeMap::new();
    let mut t = from;
    while t < until {
        t = (t + SAMPLE_S).min(until);
        fork.advance_to(t);
        fold.extend(fork.drain_events().iter());
        fork.retire_closed();
        for (agency, n) in fork.queue_lengths() {
            let p = peak.entry(agency).or_insert(QueuePeak {
                parts: 0,
                at_s: from,
            });
            if n > p.parts {
                *p = QueuePeak { parts: n, at_s: t };
            }
        }
    }
    let open_at_end = fork
        .incidents()
        .filter(|i| i.status == crate::IncidentStatus::Open)
        .count();
    Projection {
        from_s: from,
        until_s: until,
        open_at_end,
        peak_queue: peak,
        kpis: fold.summary(until),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IncidentCatalogue, SimOptions};
    use std::path::Path;

    #[test]
    fn a_projection_leaves_the_original_alone_and_is_deterministic() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenes/tiny-river");
        let scene = binjiang_scene::Scene::load(&dir).unwrap();
        let catalogue = IncidentCatalogue::load(&dir.join(crate::CATALOGUE_FILE), &scene)
            .unwrap()
            .0;
        let mut sim = Simulation::new(&scene, catalogue.clone(), SimOptions::default()).unwrap();
        let mut fold = MetricsFold::new(&catalogue);
        sim.advance_to(10.0 * 3600.0);
        fold.extend(sim.drain_events().iter());
        let before = (sim.now(), sim.units(), sim.incidents().count());
        let a = project(sim.fork_generated(3), fold.clone(), 2.0);
        let b = project(sim.fork_generated(3), fold.clone(), 2.0);
        assert_eq!(a, b, "same state and seed, same projection");
        assert_eq!((a.from_s, a.until_s), (36_000.0, 43_200.0));
        assert_eq!(a.peak_queue.len(), Agency::ALL.len());
        assert!(a.kpis.all.incidents >= fold.summary(sim.now()).all.incidents);
        assert_eq!(before, (sim.now(), sim.units(), sim.incidents().count()));
    }
}
