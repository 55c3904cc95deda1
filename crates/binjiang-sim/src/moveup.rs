//! The coverage monitor and move-ups (issue 19): per agency, the share of the coming hour's
//! demand that a *free* unit can reach within the target (3 minutes) by road, and — when it
//! falls below the agency's threshold — which free unit should take over which busy unit's
//! patrol, and the coverage that regains.
//!
//! When a unit is sent to a job its patrol is left empty; the hole it opens is the cells only
//! it could reach in time. An ambulance service answers with a *move-up*: a free unit moves
//! to the empty post until its owner is back (Gendreau, Laporte and Semet 2001). Here the
//! "post" is the busy unit's patrol loop: the chosen free unit joins it at its nearest point
//! and patrols it, and goes back to its own loop when the owner is free again (or when it
//! is sent to a job itself, or its shift ends). The live twin proposes the move and an
//! operator accepts it ([`crate::Simulation::move_up`], a command in the input log); the
//! simulation can also apply it by itself ([`crate::Simulation::set_move_up`]) so `whatif`
//! measures what move-ups are worth.
//!
//! The reach of every cell is found once, by road in each mode ([`Reach`]); the monitor's
//! work per change is then a union of bit sets per free unit and a sum over the covered
//! cells: a few microseconds on Yangpu (BENCHMARKS.md).

use crate::catalogue::IncidentCatalogue;
use crate::routing::Router;
use crate::Simulation;
use binjiang_scene::{Agency, MergedGrid, Mode, Scene};
use fixedbitset::FixedBitSet;
use geo::{Coord, Distance, Euclidean, Point};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The control room's benchmark: on site within three minutes.
pub const TARGET_S: f64 = 180.0;
/// A move is proposed only if it regains at least this share of the agency's demand: a
/// smaller gain is not worth a unit's walk and an operator's attention.
pub const MIN_GAIN: f64 = 0.02;
/// Points along a patrol loop at which a cover's coverage is averaged.
pub const LOOP_SAMPLES: usize = 8;
/// Hours in a week: demand is given per hour of the week (0 = Monday 00:00).
pub const HOURS_OF_WEEK: usize = 168;

/// Which cells can be reached within the target by road from each cell's centre, per mode:
/// the monitor's and the planner's notion of "covers".
#[derive(Debug, Clone)]
pub struct Reach {
    target_s: f64,
    grid: Arc<MergedGrid>,
    /// Per mode (`Mode as usize`), per cell: the cells reached; empty for modes not asked.
    by_mode: Vec<Vec<FixedBitSet>>,
}

impl Reach {
    /// Finds, for every cell of `scene`'s grid and each mode in `modes`, the cells whose
    /// centres are within `target_s` by road from its centre (exact road times).
    pub fn of_scene(scene: &Scene, router: &mut Router, target_s: f64, modes: &[Mode]) -> Self {
        let centres: Vec<Coord> = scene.grid.cells.iter().map(|c| c.centre()).collect();
        let n = centres.len();
        let mut by_mode = vec![Vec::new(); Mode::ALL.len()];
        for &mode in modes {
            if !by_mode[mode as usize].is_empty() {
                continue;
            }
            let crow_m = target_s * mode.speed_mps();
            by_mode[mode as usize] = centres
                .iter()
                .map(|a| {
                    let mut set = FixedBitSet::with_capacity(n);
                    for (i, b) in centres.iter().enumerate() {
                        // Road time is never shorter than the straight line at full speed.
                        if Euclidean.distance(Point::from(*a), Point::from(*b)) <= crow_m
                            && router
                                .travel_time(mode, *a, *b)
                                .is_some_and(|t| t <= target_s)
                        {
                            set.insert(i);
                        }
                    }
                    set
                })
                .collect();
        }
        Reach {
            target_s,
            grid: Arc::clone(&scene.grid),
            by_mode,
        }
    }

    /// The target, road seconds.
    pub fn target_s(&self) -> f64 {
        self.target_s
    }

    /// The cells reached from cell `cell` in `mode`, ascending (empty if the mode was not
    /// asked for).
    pub fn cells_from(&self, mode: Mode, cell: usize) -> Vec<usize> {
        self.by_mode[mode as usize]
            .get(cell)
            .map(|s| s.ones().collect())
            .unwrap_or_default()
    }

    fn set(&self, mode: Mode, cell: usize) -> Option<&FixedBitSet> {
        self.by_mode[mode as usize].get(cell)
    }

    fn cells(&self) -> usize {
        self.grid.cells.len()
    }
}

/// One agency's coverage now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgencyCoverage {
    /// The agency.
    pub agency: Agency,
    /// Share of the hour's expected demand within the target of a free unit (1 when the
    /// agency has no demand this hour).
    pub share: f64,
    /// Below this, a move-up is proposed.
    pub threshold: f64,
    /// Units free now (on duty, patrolling or heading back to patrol).
    pub free_units: usize,
    /// Units on duty.
    pub on_duty: usize,
}

/// A proposed move: `unit` takes over the patrol of busy unit `covering`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoveUp {
    /// The agency.
    pub agency: Agency,
    /// The free unit that moves.
    pub unit: String,
    /// The busy unit whose patrol it takes over.
    pub covering: String,
    /// Where it joins that patrol, local metres.
    pub to: [f64; 2],
    /// The agency's coverage now.
    pub before: f64,
    /// Its coverage with the unit moved: the better of the coverage with it where it joins
    /// the loop it takes over and the mean over points spread evenly in time along that loop.
    pub after: f64,
}

/// When the simulation moves units up by itself: a scenario's `move_up`, `simulate
/// --move-up`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MoveUpPolicy {
    /// Never (the default: a run as it always was).
    #[default]
    Off,
    /// Every agency, whenever a move regains at least [`MIN_GAIN`] of its demand.
    Auto,
    /// The agencies named, when their coverage is below the threshold given.
    Below(BTreeMap<Agency, f64>),
}

impl MoveUpPolicy {
    /// The agencies watched and their thresholds (`Auto`: every agency at 1.0).
    pub fn thresholds(&self) -> BTreeMap<Agency, f64> {
        match self {
            MoveUpPolicy::Off => BTreeMap::new(),
            MoveUpPolicy::Auto => Agency::ALL.iter().map(|a| (*a, 1.0)).collect(),
            MoveUpPolicy::Below(t) => t.clone(),
        }
    }
}

/// Per agency watched: the threshold and the demand per hour of the week and cell.
#[derive(Debug, Clone)]
struct Watched {
    agency: Agency,
    threshold: f64,
    /// `[hour of week][cell]`, expected incidents.
    demand: Vec<Vec<f64>>,
    /// Total per hour of week.
    total: Vec<f64>,
}

/// The live coverage monitor: reach, thresholds and demand; reads a simulation's units.
#[derive(Debug, Clone)]
pub struct CoverageMonitor {
    reach: Reach,
    watched: Vec<Watched>,
}

impl CoverageMonitor {
    /// A monitor of the agencies in `thresholds`, demand from `demand(agency, hour_of_week)`
    /// (expected incidents per cell, the grid's order).
    pub fn new(
        reach: Reach,
        thresholds: &BTreeMap<Agency, f64>,
        mut demand: impl FnMut(Agency, usize) -> Vec<f64>,
    ) -> Self {
        let n = reach.cells();
        let watched = thresholds
            .iter()
            .map(|(&agency, &threshold)| {
                let demand: Vec<Vec<f64>> = (0..HOURS_OF_WEEK)
                    .map(|how| {
                        let mut d = demand(agency, how);
                        d.resize(n, 0.0);
                        d
                    })
                    .collect();
                let total = demand.iter().map(|d| d.iter().sum()).collect();
                Watched {
                    agency,
                    threshold,
                    demand,
                    total,
                }
            })
            .collect();
        CoverageMonitor { reach, watched }
    }

    /// A monitor whose demand is the catalogue's rates and places (the simulation's own).
    pub fn from_catalogue(
        scene: &Scene,
        catalogue: &IncidentCatalogue,
        reach: Reach,
        thresholds: &BTreeMap<Agency, f64>,
    ) -> Self {
        // Each watched agency's types with their cell shares, found once (not per hour).
        let by_agency: BTreeMap<Agency, Vec<(usize, Vec<f64>)>> = thresholds
            .keys()
            .map(|a| {
                let types = (0..catalogue.types.len())
                    .filter(|&t| catalogue.types[t].agencies.contains(a))
                    .map(|t| (t, catalogue.cell_shares(t, scene)))
                    .collect();
                (*a, types)
            })
            .collect();
        CoverageMonitor::new(reach, thresholds, |agency, how| {
            match by_agency.get(&agency) {
                Some(types) if !types.is_empty() => {
                    catalogue.expected_by_cell(types, (how / 24) as u8, &[(how % 24) as u32])
                }
                _ => Vec::new(),
            }
        })
    }

    /// A monitor of `scene` for `thresholds`, demand from the catalogue, reach by road in
    /// the modes the watched agencies' units move in (within [`TARGET_S`]).
    pub fn for_scene(
        scene: &Scene,
        catalogue: &IncidentCatalogue,
        thresholds: &BTreeMap<Agency, f64>,
    ) -> Self {
        let modes: Vec<Mode> = scene
            .units
            .iter()
            .filter(|u| thresholds.contains_key(&u.agency))
            .map(|u| u.mode)
            .collect();
        let reach = Reach::of_scene(scene, &mut Router::of_scene(scene), TARGET_S, &modes);
        CoverageMonitor::from_catalogue(scene, catalogue, reach, thresholds)
    }

    /// The agencies watched, with their thresholds.
    pub fn thresholds(&self) -> impl Iterator<Item = (Agency, f64)> + '_ {
        self.watched.iter().map(|w| (w.agency, w.threshold))
    }

    /// The reach it works with.
    pub fn reach(&self) -> &Reach {
        &self.reach
    }

    /// Every watched agency's coverage in `sim` now, demand of hour of week `how`.
    pub fn assess(&self, sim: &Simulation, how: usize) -> Vec<AgencyCoverage> {
        self.assess_and_propose(sim, how).0
    }

    /// The move-ups worth making now: for each watched agency below its threshold, the
    /// single move that regains the most coverage (at least [`MIN_GAIN`]).
    pub fn propose(&self, sim: &Simulation, how: usize) -> Vec<MoveUp> {
        self.assess_and_propose(sim, how).1
    }

    /// [`CoverageMonitor::assess`] and [`CoverageMonitor::propose`] together, each agency's
    /// free units and coverage found once (what the live watch does after every change).
    pub fn assess_and_propose(
        &self,
        sim: &Simulation,
        how: usize,
    ) -> (Vec<AgencyCoverage>, Vec<MoveUp>) {
        let mut coverage = Vec::with_capacity(self.watched.len());
        let mut moves = Vec::new();
        for w in &self.watched {
            let state = self.state(sim, w, how);
            if state.share() < w.threshold {
                moves.extend(self.best(sim, w, how, &state));
            }
            coverage.push(state.coverage(w));
        }
        (coverage, moves)
    }

    /// The best move for `agency` now, whatever its threshold (`None` if nothing gains).
    pub fn best_move(&self, sim: &Simulation, agency: Agency, how: usize) -> Option<MoveUp> {
        let w = self.watched.iter().find(|w| w.agency == agency)?;
        self.best(sim, w, how, &self.state(sim, w, how))
    }

    fn best(&self, sim: &Simulation, w: &Watched, how: usize, state: &State) -> Option<MoveUp> {
        let before = state.share();
        let t = sim.now();
        // Holes: busy units on duty whose loop nobody covers yet.
        let holes: Vec<u32> = (0..sim.unit_states().len() as u32)
            .filter(|&b| {
                let unit = &sim.unit_states()[b as usize];
                unit.agency == w.agency
                    && unit.on_duty
                    && unit.job.is_some()
                    && unit.covered_by.is_none()
            })
            .collect();
        if holes.is_empty() {
            return None;
        }
        // Each hole's loop, as the cells of points spread evenly in time along it.
        let loops: Vec<(u32, Vec<usize>)> = holes
            .iter()
            .map(|&b| {
                let patrol = &sim.unit_states()[b as usize].patrol;
                let d = patrol.duration();
                let cells = (0..LOOP_SAMPLES)
                    .filter_map(|k| {
                        let p = patrol.position(d * k as f64 / LOOP_SAMPLES as f64);
                        self.reach.grid.cell_at(p)
                    })
                    .collect();
                (b, cells)
            })
            .collect();
        let mut best: Option<(f64, u32, u32, Coord)> = None;
        for (k, &(f, _)) in state.free.iter().enumerate() {
            let unit = &sim.unit_states()[f as usize];
            if unit.cover_of().is_some() {
                continue; // already covering: one move at a time
            }
            // Coverage without f.
            let mut without = FixedBitSet::with_capacity(self.reach.cells());
            for (j, (_, set)) in state.free.iter().enumerate() {
                if j != k {
                    if let Some(s) = set {
                        without.union_with(s);
                    }
                }
            }
            let here = unit.position(t);
            for (b, cells) in &loops {
                let (_, join) = sim.unit_states()[*b as usize].patrol.nearest_phase(here);
                // Expected coverage while it patrols the loop: the mean over points spread
                // evenly in time along it.
                let mut sum = 0.0;
                let mut n = 0;
                for c in cells {
                    let Some(set) = self.reach.set(unit.mode, *c) else {
                        continue;
                    };
                    let mut with = without.clone();
                    with.union_with(set);
                    sum += share_of(&with, w, how);
                    n += 1;
                }
                if n == 0 {
                    continue;
                }
                // Where it joins is where it stands first: a loop that wanders off the
                // demand does not make the move worth less than that (on Yangpu, 200 paired
                // seeds: the loop's mean alone gained half as much; docs/plan.md).
                let joined = self
                    .reach
                    .grid
                    .cell_at(join)
                    .and_then(|c| self.reach.set(unit.mode, c))
                    .map_or(0.0, |set| {
                        let mut with = without.clone();
                        with.union_with(set);
                        share_of(&with, w, how)
                    });
                let after = joined.max(sum / n as f64);
                if best.is_none_or(|(a, ..)| after > a + 1e-12) {
                    best = Some((after, f, *b, join));
                }
            }
        }
        let (after, f, b, join) = best?;
        (after - before >= MIN_GAIN).then(|| MoveUp {
            agency: w.agency,
            unit: sim.unit_states()[f as usize].id.to_string(),
            covering: sim.unit_states()[b as usize].id.to_string(),
            to: [join.x, join.y],
            before,
            after,
        })
    }

    fn state(&self, sim: &Simulation, w: &Watched, how: usize) -> State {
        let t = sim.now();
        let how = how % HOURS_OF_WEEK;
        let mut free = Vec::new();
        let mut on_duty = 0;
        let mut covered = FixedBitSet::with_capacity(self.reach.cells());
        for (u, unit) in sim.unit_states().iter().enumerate() {
            if unit.agency != w.agency || !unit.on_duty {
                continue;
            }
            on_duty += 1;
            if !unit.available() {
                continue;
            }
            // A unit on its way to cover a patrol counts where it is going.
            let at = match (&unit.cover, &unit.leg) {
                (Some(_), Some((route, _))) => route.end(),
                _ => unit.position(t),
            };
            let set = self
                .reach
                .grid
                .cell_at(at)
                .and_then(|c| self.reach.set(unit.mode, c));
            if let Some(s) = set {
                covered.union_with(s);
            }
            free.push((u as u32, set.cloned()));
        }
        State {
            share: share_of(&covered, w, how),
            free,
            on_duty,
        }
    }
}

/// The share of hour `how`'s demand in `covered`.
fn share_of(covered: &FixedBitSet, w: &Watched, how: usize) -> f64 {
    let how = how % HOURS_OF_WEEK;
    let total = w.total[how];
    if total <= 0.0 {
        return 1.0;
    }
    (covered.ones().map(|c| w.demand[how][c]).sum::<f64>() / total).max(0.0)
}

/// An agency's free units (index, cells reached) and its coverage.
struct State {
    free: Vec<(u32, Option<FixedBitSet>)>,
    on_duty: usize,
    share: f64,
}

impl State {
    fn share(&self) -> f64 {
        self.share
    }

    fn coverage(&self, w: &Watched) -> AgencyCoverage {
        AgencyCoverage {
            agency: w.agency,
            share: self.share,
            threshold: w.threshold,
            free_units: self.free.len(),
            on_duty: self.on_duty,
        }
    }
}
