//! The coverage watch an operator sees (issue 19): after every change — of the live twin, or
//! of the wall's embedded simulation — each agency's share of the hour's expected demand that
//! a free unit reaches within 3 minutes, the move-ups proposed where it is below the agency's
//! threshold (`live.ron`'s `move_up`), each with an id to accept or dismiss, and patrol
//! coverage from the units' positions (GPS fixes where fresh).
//!
//! A proposal keeps its id while the same move stays the best one, so an operator's click
//! names what they saw; a proposal that is no longer the best is dropped, and a dismissed
//! one is not proposed again until the hole it filled has closed.

use crate::coverage::{PatrolCoverage, SAMPLE_S};
use crate::{CoverageMonitor, Simulation};
use binjiang_protocol::{CoverageNow, Recommendation};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The monitor's state in the twin.
pub struct CoverageWatch {
    monitor: Option<Arc<CoverageMonitor>>,
    patrol: PatrolCoverage,
    last_sample: f64,
    /// Open proposals, by id.
    open: Vec<Recommendation>,
    /// (unit, covering) pairs an operator dismissed, while the hole lasts.
    dismissed: BTreeSet<(String, String)>,
    next_id: u64,
    now: BTreeMap<String, CoverageNow>,
}

impl CoverageWatch {
    /// A watch of `sim` from now (patrol coverage counts from here), proposing move-ups with
    /// `monitor` (none: patrol coverage only).
    pub fn new(
        monitor: Option<Arc<CoverageMonitor>>,
        scene: &binjiang_scene::Scene,
        sim: &Simulation,
    ) -> Self {
        let t = sim.now();
        CoverageWatch {
            monitor,
            patrol: PatrolCoverage::new(scene, sim.catalogue(), sim.options().weekday, t),
            last_sample: f64::NEG_INFINITY,
            open: Vec::new(),
            dismissed: BTreeSet::new(),
            next_id: 1,
            now: BTreeMap::new(),
        }
    }

    /// Looks again after a change: coverage per agency, proposals, and (every two minutes
    /// of twin time) the units' paths for patrol coverage. `how` is the hour of the week.
    pub fn look(
        &mut self,
        sim: &Simulation,
        how: usize,
        iso: impl Fn(f64) -> String,
        frame: &binjiang_scene::LocalFrame,
    ) {
        let t = sim.now();
        if t - self.last_sample >= SAMPLE_S {
            self.last_sample = t;
            self.patrol.observe_run(t, sim);
        }
        let Some(monitor) = &self.monitor else {
            return;
        };
        let (coverage, proposed) = monitor.assess_and_propose(sim, how);
        self.now = coverage
            .into_iter()
            .map(|c| {
                (
                    c.agency.key().to_owned(),
                    CoverageNow {
                        share: (c.share * 1000.0).round() / 1000.0,
                        threshold: c.threshold,
                        free_units: c.free_units,
                    },
                )
            })
            .collect();
        let pairs: BTreeSet<(String, String)> = proposed
            .iter()
            .map(|m| (m.unit.clone(), m.covering.clone()))
            .collect();
        // A dismissal lasts while its move is still the one proposed.
        self.dismissed.retain(|p| pairs.contains(p));
        self.open
            .retain(|r| pairs.contains(&(r.unit.clone(), r.covering.clone())));
        for m in proposed {
            let pair = (m.unit.clone(), m.covering.clone());
            if self.dismissed.contains(&pair) {
                continue;
            }
            let r3 = |v: f64| (v * 1000.0).round() / 1000.0;
            if let Some(r) = self
                .open
                .iter_mut()
                .find(|r| r.unit == m.unit && r.covering == m.covering)
            {
                (r.before, r.after) = (r3(m.before), r3(m.after));
                continue;
            }
            let (lon, lat) = frame.to_wgs84(geo::Coord {
                x: m.to[0],
                y: m.to[1],
            });
            self.open.push(Recommendation {
                id: self.next_id,
                agency: m.agency,
                unit: m.unit,
                covering: m.covering,
                lon: (lon * 1e7).round() / 1e7,
                lat: (lat * 1e7).round() / 1e7,
                before: r3(m.before),
                after: r3(m.after),
                proposed_at: iso(t),
            });
            self.next_id += 1;
        }
    }

    /// The monitor, if any.
    pub fn monitor(&self) -> Option<&CoverageMonitor> {
        self.monitor.as_deref()
    }

    /// The open proposal `id`, if any.
    pub fn get(&self, id: u64) -> Option<&Recommendation> {
        self.open.iter().find(|r| r.id == id)
    }

    /// Proposal `id` is done with (accepted): it leaves the list.
    pub fn accepted(&mut self, id: u64) {
        self.open.retain(|r| r.id != id);
    }

    /// Proposal `id` is dismissed: it leaves the list and is not proposed again while the
    /// same move stays the best.
    pub fn dismissed(&mut self, id: u64) {
        if let Some(r) = self.get(id) {
            self.dismissed.insert((r.unit.clone(), r.covering.clone()));
        }
        self.open.retain(|r| r.id != id);
    }

    /// Open proposals, oldest first.
    pub fn recommendations(&self) -> &[Recommendation] {
        &self.open
    }

    /// Coverage per agency now.
    pub fn coverage(&self) -> &BTreeMap<String, CoverageNow> {
        &self.now
    }

    /// The patrol-coverage KPI since the watch began.
    pub fn unvisited_share(&self) -> Option<f64> {
        self.patrol
            .kpi()
            .unvisited_share
            .map(|s| (s * 1000.0).round() / 1000.0)
    }

    /// Whether each cell is hot in some hour of the day (the cells patrol coverage watches).
    pub fn watched(&self) -> &[bool] {
        self.patrol.watched()
    }

    /// Seconds since each cell's last visit (the wall's layer).
    pub fn since_visit(&self, t: f64) -> Vec<f64> {
        self.patrol.since_visit(t)
    }
}
