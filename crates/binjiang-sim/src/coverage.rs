//! Patrol coverage: for every grid cell, when a unit on duty last passed through it, and the
//! KPI of issue 19 — the share of cell-hours of *hot* cells (expected demand above the grid's
//! 80th percentile for that hour) left unvisited for more than two hours at the hour's end.
//!
//! Hot spots that no patrol sees for hours are where litter lies, vendors settle and a crowd
//! builds unnoticed. The units' paths are sampled as the run advances (every [`SAMPLE_S`] in
//! `simulate` and `whatif`): each on-duty unit's move since the previous sample visits every
//! cell the straight line between the two samples passes through (a grid traversal, so a
//! bike crossing several cells between samples visits each; a street corner cut short by
//! that line may still credit the cell beside it).
//! The demand is the catalogue's (its hourly rates by the day's weekday and its places), so
//! the KPI needs nothing learned.

use crate::catalogue::IncidentCatalogue;
use binjiang_scene::{MergedGrid, Scene};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A cell left this long without a visit, at an hour's end, counts as unvisited.
pub const UNVISITED_AFTER_S: f64 = 7200.0;
/// Seconds between samples of the units' paths: a two-hour gap is the KPI's, so two
/// minutes lose nothing of it and keep a day's sampling cheap next to the dispatch core.
pub const SAMPLE_S: f64 = 120.0;

/// Lattice squares credited for one unit's move between samples, at most: a car covers about
/// twenty cells in two minutes; more is a jump (a GPS fix far from the model), not a walk.
const MAX_SQUARES_PER_MOVE: usize = 200;
/// The share of cells, by expected demand, that are hot in an hour.
pub const HOT_PERCENTILE: f64 = 0.8;

/// The KPI over a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct PatrolCoverageKpi {
    /// Hot cell-hours seen (hours that ended within the run).
    pub hot_cell_hours: usize,
    /// Of those, the ones whose cell had no visit for more than two hours.
    pub unvisited: usize,
    /// `unvisited / hot_cell_hours` (`None` before any hour ended).
    pub unvisited_share: Option<f64>,
}

/// Tracks visits and hot cells as a run advances. A clone made before the run starts is
/// a fresh tracker for another run of the same scene, catalogue, weekday and start (what-if
/// runs of a scenario share its grid and hot cells instead of working them out again).
#[derive(Debug, Clone)]
pub struct PatrolCoverage {
    watch: std::sync::Arc<Watch>,
    /// Seconds of the last visit per cell (the run's start counts as one: the night shift
    /// handed over a patrolled district).
    last_visit: Vec<f64>,
    /// The previous sample's position per unit (by index), with the cell it was in.
    previous: Vec<Option<([f64; 2], Option<usize>)>>,
    /// Per unit, the route vertex it was found at last ([`PatrolCoverage::observe_run`]).
    hints: Vec<u32>,
    /// The next hour's end to score, seconds.
    next_hour_end: f64,
    kpi: PatrolCoverageKpi,
}

/// What a run's coverage is measured against: fixed for a scene, catalogue and weekday.
#[derive(Debug)]
struct Watch {
    grid: Arc<MergedGrid>,
    /// Per hour of the day, which cells are hot.
    hot: Vec<Vec<bool>>,
    /// Which cells are hot in some hour.
    watched: Vec<bool>,
}

impl PatrolCoverage {
    /// Coverage of `scene`'s grid for a run starting at `start_s` on `weekday` (0 = Monday),
    /// hot cells from `catalogue`.
    pub fn new(scene: &Scene, catalogue: &IncidentCatalogue, weekday: u8, start_s: f64) -> Self {
        let n = scene.grid.cells.len();
        let types: Vec<(usize, Vec<f64>)> = (0..catalogue.types.len())
            .map(|t| (t, catalogue.cell_shares(t, scene)))
            .collect();
        let hot: Vec<Vec<bool>> = (0..24u32)
            .map(|h| {
                let demand = catalogue.expected_by_cell(&types, weekday, &[h]);
                let mut sorted = demand.clone();
                sorted.sort_by(f64::total_cmp);
                let cut = sorted
                    .get(((n as f64 * HOT_PERCENTILE) as usize).min(n.saturating_sub(1)))
                    .copied()
                    .unwrap_or(0.0);
                demand.iter().map(|d| *d > 0.0 && *d >= cut).collect()
            })
            .collect();
        let watched = (0..n).map(|c| hot.iter().any(|h| h[c])).collect();
        PatrolCoverage {
            watch: std::sync::Arc::new(Watch {
                grid: Arc::clone(&scene.grid),
                hot,
                watched,
            }),
            last_visit: vec![start_s; n],
            previous: Vec::new(),
            hints: Vec::new(),
            next_hour_end: (start_s / 3600.0).floor() * 3600.0 + 3600.0,
            kpi: PatrolCoverageKpi::default(),
        }
    }

    /// Takes the units' positions at `t` and whether each is on duty, in the scene's order
    /// ([`crate::Simulation::positions`]; call as the run advances, in order).
    pub fn observe(&mut self, t: f64, units: impl Iterator<Item = ([f64; 2], bool)>) {
        // Hours that ended before this sample are scored with the visits seen so far.
        while self.next_hour_end <= t {
            self.score_hour();
        }
        for (k, (here, on_duty)) in units.enumerate() {
            if self.previous.len() <= k {
                self.previous.resize(k + 1, None);
            }
            let before = self.previous[k];
            let cell = match before {
                // Standing still (on scene, at a post): the same cell, no lookup.
                Some((p, cell)) if p == here => cell,
                _ => {
                    let from = before.map_or(here, |(p, _)| p);
                    let (grid, last_visit) = (&self.watch.grid, &mut self.last_visit);
                    let mut cell = None;
                    let (a, b) = (geo::Coord::from(from), geo::Coord::from(here));
                    grid.squares_along(a, b, MAX_SQUARES_PER_MOVE, |square| {
                        cell = grid.cell_of_lattice(square);
                        if let (Some(c), true) = (cell, on_duty) {
                            last_visit[c] = t;
                        }
                    });
                    self.previous[k] = Some((here, cell));
                    continue;
                }
            };
            if let (Some(c), true) = (cell, on_duty) {
                self.last_visit[c] = t;
            }
        }
    }

    /// Takes the units' positions from `sim` (advanced to `t`), as
    /// [`PatrolCoverage::observe`] does, finding each on its route from where it was at the
    /// last sample.
    pub fn observe_run(&mut self, t: f64, sim: &crate::Simulation) {
        let mut hints = std::mem::take(&mut self.hints);
        self.observe(t, sim.positions_from(&mut hints));
        self.hints = hints;
    }

    /// This tracker's visits and tallies so far, from now on measured against `template`'s
    /// hot cells (a fresh tracker of another scenario of the same scene, start and weekday):
    /// what that scenario's own run would have tallied by now, if every hour scored so far
    /// has the same hot cells in both. `None` otherwise.
    pub fn continue_as(&self, template: &PatrolCoverage) -> Option<PatrolCoverage> {
        if template.last_visit.len() != self.last_visit.len()
            || template.watch.watched.len() != self.watch.watched.len()
        {
            return None;
        }
        // The hours scored so far: from the template's first hour's end (it has not
        // advanced) to this tracker's next.
        let mut end = template.next_hour_end;
        while end < self.next_hour_end {
            let hour = Self::hour_ending(end);
            if template.watch.hot[hour] != self.watch.hot[hour] {
                return None;
            }
            end += 3600.0;
        }
        Some(PatrolCoverage {
            watch: std::sync::Arc::clone(&template.watch),
            ..self.clone()
        })
    }

    /// The hour of the day (0–23) that ends at `end`.
    fn hour_ending(end: f64) -> usize {
        ((end - 3600.0).rem_euclid(86_400.0) / 3600.0) as usize % 24
    }

    fn score_hour(&mut self) {
        let end = self.next_hour_end;
        let hour = Self::hour_ending(end);
        for (c, hot) in self.watch.hot[hour].iter().enumerate() {
            if *hot {
                self.kpi.hot_cell_hours += 1;
                if end - self.last_visit[c] > UNVISITED_AFTER_S {
                    self.kpi.unvisited += 1;
                }
            }
        }
        self.next_hour_end += 3600.0;
    }

    /// Seconds since each cell's last visit at `t`, in the grid's order (the wall's layer).
    pub fn since_visit(&self, t: f64) -> Vec<f64> {
        self.last_visit.iter().map(|v| (t - v).max(0.0)).collect()
    }

    /// Whether each cell is hot in some hour of the day (the cells the KPI watches; water
    /// and empty cells never are), in the grid's order.
    pub fn watched(&self) -> &[bool] {
        &self.watch.watched
    }

    /// The KPI so far.
    pub fn kpi(&self) -> PatrolCoverageKpi {
        let mut k = self.kpi;
        k.unvisited_share =
            (k.hot_cell_hours > 0).then(|| k.unvisited as f64 / k.hot_cell_hours as f64);
        k
    }
}
