//! The simulation: units, incidents and the event loop that moves them.
//!
//! [`Simulation`] is a library object with a step/advance API: the CLI runs a day in one go,
//! a live service or the wall display advance it a frame at a time and read units and
//! incidents at any instant. No wall clock, one seeded RNG, integer-millisecond event times:
//! the same scene, catalogue, options and seed give the same event log, byte for byte.

mod arrivals;
mod dispatch;
pub mod incident;
mod lifecycle;
pub mod operator;
pub mod unit;

use crate::catalogue::{IncidentCatalogue, Source};
use crate::event::Event;
use crate::patrol::PatrolLoop;
use crate::policy::{self, DispatchPolicy};
use crate::routing::Router;
use crate::scheduler::{ms, Scheduler};
use binjiang_scene::{Agency, AssetKind, MergedGrid, Scene};
use binjiang_spatial::ClassedIndex;
use geo::{Centroid, Coord};
use incident::Incident;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use unit::{Destination, UnitState, UnitStatus, UnitView};

/// Priorities run from 1 (urgent) to this (routine).
pub const PRIORITIES: u8 = 4;

/// Options of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// RNG seed.
    pub seed: u64,
    /// `merged-grid` or `separate-grids`.
    pub policy: String,
    /// Let urgent (priority 1) incidents take units en route to routine work.
    pub preemption: bool,
    /// Straight-line candidates ranked by road time per dispatch.
    pub candidates: usize,
    /// Seconds between refreshes of patrolling units' positions in the dispatch index.
    pub index_refresh_s: f64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: 7,
            policy: "merged-grid".into(),
            preemption: true,
            candidates: 6,
            index_refresh_s: 30.0,
        }
    }
}

/// Why a simulation could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Unknown policy name.
    #[error("unknown dispatch policy \"{0}\" (expected one of: merged-grid, separate-grids)")]
    Policy(String),
    /// The catalogue does not fit the scene.
    #[error(transparent)]
    Catalogue(#[from] crate::catalogue::CatalogueError),
    /// A unit's patrol loop cannot be driven in its mode.
    #[error(
        "unit \"{unit}\": patrol loop cannot be routed by {mode} between waypoints {from} and {to}"
    )]
    Unroutable {
        /// Unit id.
        unit: String,
        /// Its mode.
        mode: binjiang_scene::Mode,
        /// Waypoint index.
        from: usize,
        /// Waypoint index.
        to: usize,
    },
    /// The scene has no units.
    #[error("the scene has no units")]
    NoUnits,
}

/// Timed actions of the event loop.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Action {
    GenerateHour(u32),
    Arise(u32),
    Report(u32),
    Discover {
        incident: u32,
        unit: u32,
        version: u64,
    },
    Arrive {
        unit: u32,
        version: u64,
    },
    Finish {
        unit: u32,
        version: u64,
    },
    Rejoin {
        unit: u32,
        version: u64,
    },
    ShiftStart(u32),
    ShiftEnd(u32),
}

/// Where incidents may arise, prepared from the scene.
#[derive(Debug, Clone)]
struct Places {
    assets: Vec<Vec<Coord>>,
    landmarks: Vec<Coord>,
    cell_cumulative_area: Vec<f64>,
}

/// The running simulation.
#[derive(Debug)]
pub struct Simulation {
    catalogue: IncidentCatalogue,
    options: SimOptions,
    policy: Box<dyn DispatchPolicy>,
    router: Router,
    grid: MergedGrid,
    areas: Vec<String>,
    places: Places,
    units: Vec<UnitState>,
    incidents: Vec<Incident>,
    /// Incident parts waiting for a unit, by (agency, priority), keyed by (incident, agency).
    queued: ClassedIndex<(Agency, u8), (u32, Agency)>,
    index: ClassedIndex<(Agency, bool), u32>,
    last_refresh_ms: Option<u64>,
    scheduler: Scheduler<Action>,
    /// Draws where and when incidents arise and how long reports take: the same whatever
    /// the policy, so what-if runs compare the same day.
    arrivals_rng: ChaCha8Rng,
    /// Draws on-scene times.
    service_rng: ChaCha8Rng,
    now_ms: u64,
    log: Vec<Event>,
}

impl Simulation {
    /// Sets up a simulation of `scene` from midnight of day 0.
    pub fn new(
        scene: &Scene,
        catalogue: IncidentCatalogue,
        options: SimOptions,
    ) -> Result<Self, SimError> {
        let policy = policy::by_name(&options.policy)
            .ok_or_else(|| SimError::Policy(options.policy.clone()))?;
        catalogue.check(scene)?;
        if scene.units.is_empty() {
            return Err(SimError::NoUnits);
        }
        let mut router = Router::new(&scene.road_graph);
        let areas: Vec<String> = scene.grid.parts.iter().map(|p| p.code.clone()).collect();
        let mut units = Vec::with_capacity(scene.units.len());
        for u in &scene.units {
            let patrol = patrol_loop(&mut router, u)?;
            let area = area_of(&scene.grid, &areas, u.home);
            units.push(UnitState {
                id: u.id.clone(),
                agency: u.agency,
                mode: u.mode,
                home: u.home,
                shift: u.shift,
                area,
                patrol,
                status: UnitStatus::OffDuty,
                patrol_epoch: 0.0,
                leg: None,
                destination: Destination::Home,
                job: None,
                on_duty: false,
                version: 0,
            });
        }
        let mut sim = Simulation {
            places: places(scene),
            grid: scene.grid.clone(),
            areas,
            policy,
            router,
            units,
            incidents: Vec::new(),
            queued: ClassedIndex::default(),
            index: ClassedIndex::default(),
            last_refresh_ms: None,
            scheduler: Scheduler::default(),
            arrivals_rng: rng_stream(options.seed, 1),
            service_rng: rng_stream(options.seed, 2),
            now_ms: 0,
            log: Vec::new(),
            catalogue,
            options,
        };
        sim.start_day();
        Ok(sim)
    }

    fn start_day(&mut self) {
        for i in 0..self.units.len() as u32 {
            self.start_unit(i);
        }
        self.scheduler.push(0, Action::GenerateHour(0));
    }

    /// Current simulation time, seconds since the scene's midnight.
    pub fn now(&self) -> f64 {
        self.now_ms as f64 / 1000.0
    }

    /// Processes every action due by `t` seconds and sets the clock to `t`.
    pub fn advance_to(&mut self, t: f64) {
        let until = ms(t);
        while let Some((at, action)) = self.scheduler.pop_due(until) {
            self.now_ms = at;
            self.handle(action);
        }
        self.now_ms = self.now_ms.max(until);
    }

    /// Processes the next due action (at most one), returning its time; `None` if idle forever.
    pub fn step(&mut self) -> Option<f64> {
        let at = self.scheduler.peek_time()?;
        let (at, action) = self.scheduler.pop_due(at)?;
        self.now_ms = at;
        self.handle(action);
        Some(self.now())
    }

    fn handle(&mut self, action: Action) {
        match action {
            Action::GenerateHour(h) => self.generate_hour(h),
            Action::Arise(i) => self.arise(i),
            Action::Report(i) => self.report(i, None),
            Action::Discover {
                incident,
                unit,
                version,
            } => self.discover(incident, unit, version),
            Action::Arrive { unit, version } => self.arrive(unit, version),
            Action::Finish { unit, version } => self.finish(unit, version),
            Action::Rejoin { unit, version } => self.rejoin(unit, version),
            Action::ShiftStart(u) => self.shift_start(u),
            Action::ShiftEnd(u) => self.shift_end(u),
        }
    }

    /// An incident of type `key` reported now at `position` by `source` (a hotline call, an
    /// operator's entry, a test). Returns its id, or `None` for an unknown type. A patrol
    /// source means a unit must still come across it.
    pub fn inject(&mut self, key: &str, position: Coord, source: Source) -> Option<u32> {
        let ti = self.catalogue.index_of(key)?;
        let now = self.now();
        let id = self.add_incident(ti, position, now, Some(source), Some(0.0));
        self.advance_to(now);
        Some(id)
    }

    /// The event log so far.
    pub fn events(&self) -> &[Event] {
        &self.log
    }

    /// Takes the events logged since the last call (for live views that stream them).
    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.log)
    }

    /// Every incident generated so far (pending ones have not happened yet).
    pub fn incidents(&self) -> &[Incident] {
        &self.incidents
    }

    /// The catalogue in use.
    pub fn catalogue(&self) -> &IncidentCatalogue {
        &self.catalogue
    }

    /// The options in use.
    pub fn options(&self) -> &SimOptions {
        &self.options
    }

    /// Every unit as it is now.
    pub fn units(&self) -> Vec<UnitView> {
        let t = self.now();
        self.units
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let p = u.position(t);
                UnitView {
                    index: i as u32,
                    id: u.id.clone(),
                    agency: u.agency,
                    mode: u.mode,
                    status: u.status,
                    position: [p.x, p.y],
                    incident: u.job.map(|j| j.0),
                    area: u.area,
                }
            })
            .collect()
    }

    /// Length of each agency's queue of waiting incident parts.
    pub fn queue_lengths(&self) -> Vec<(Agency, usize)> {
        Agency::ALL
            .iter()
            .map(|a| {
                (
                    *a,
                    (1..=PRIORITIES).map(|p| self.queued.len_of((*a, p))).sum(),
                )
            })
            .collect()
    }

    fn log(&mut self, event: Event) {
        self.log.push(event);
    }
}

fn rng_stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

fn patrol_loop(router: &mut Router, u: &binjiang_scene::Unit) -> Result<PatrolLoop, SimError> {
    let n = u.patrol.len();
    let mut route = crate::route::Route::stay(u.patrol[0]);
    for i in 0..n {
        let (a, b) = (u.patrol[i], u.patrol[(i + 1) % n]);
        let leg = router
            .route(u.mode, a, b)
            .ok_or_else(|| SimError::Unroutable {
                unit: u.id.clone(),
                mode: u.mode,
                from: i,
                to: (i + 1) % n,
            })?;
        route.extend(&leg);
    }
    Ok(PatrolLoop::new(route))
}

/// The subdistrict index of the grid cell holding `p`, or of the nearest cell.
fn area_of(grid: &MergedGrid, areas: &[String], p: Coord) -> u16 {
    let cell = grid.cell_at(p).or_else(|| {
        grid.cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    i,
                    (c.centre().x - p.x).powi(2) + (c.centre().y - p.y).powi(2),
                )
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    });
    cell.and_then(|c| areas.iter().position(|a| *a == grid.cells[c].subdistrict))
        .unwrap_or(0) as u16
}

fn places(scene: &Scene) -> Places {
    let mut assets = vec![Vec::new(); AssetKind::ALL.len()];
    for a in &scene.assets {
        assets[a.kind as usize].push(a.position.0);
    }
    let landmarks = scene
        .buildings
        .iter()
        .filter(|b| b.landmark)
        .filter_map(|b| b.footprint.centroid())
        .map(|p| p.0)
        .collect();
    let mut total = 0.0;
    let cell_cumulative_area = scene
        .grid
        .cells
        .iter()
        .map(|c| {
            total += c.area_m2;
            total
        })
        .collect();
    Places {
        assets,
        landmarks,
        cell_cumulative_area,
    }
}
