//! The simulation: units, incidents and the event loop that moves them.
//!
//! [`Simulation`] is a library object with a step/advance API: the CLI runs a day in one go,
//! a live service or the wall display advance it a frame at a time and read units and
//! incidents at any instant. No wall clock, seeded RNG streams, integer-millisecond event
//! times: the same scene, catalogue, options, seed and reports give the same event log, byte
//! for byte. It is `Clone`: a clone is a snapshot that continues exactly as the original
//! would (the basis of "fork now" what-ifs from a live state).

mod arrivals;
mod discovery;
mod dispatch;
mod diverge;
mod explain;
pub mod incident;
mod lifecycle;
mod moveups;
pub mod network;
pub mod operator;
mod queue;
mod reach;
pub mod snapshot;
pub mod unit;

use crate::catalogue::{IncidentCatalogue, Origin};
use crate::event::{Event, Name, What};
use crate::patrol::PatrolLoop;
use crate::policy::{DispatchPolicy, PolicyKind};
use crate::routing::Router;
use crate::scheduler::{ms, Scheduler};
use crate::source::{IncidentSource, InputRecord, Report};
use binjiang_scene::{Agency, AssetKind, MergedGrid, Mode, Scene};
use binjiang_spatial::{ClassedIndex, PointIndex};
use foldhash::{HashMap, HashMapExt};
use geo::{Centroid, Coord};
use incident::Incident;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::Arc;
use unit::{UnitState, UnitView};

/// A report's external id names its incident for this long after the report, seconds (a
/// week: a hotline's retries and a gateway's buffered resends come within minutes or days).
/// A repeat after that is a new incident — whether or not the id was pruned from memory yet,
/// so a replay and a live run decide it alike.
pub const EXTERNAL_ID_WINDOW_S: f64 = 7.0 * 24.0 * 3600.0;

pub use crate::catalogue::PRIORITIES;

/// Seconds between reviews of the parts queued beyond an agency's maximum travel time: units
/// move along their loops, so such a part can come within reach without any unit changing
/// state. (Every other queued part is offered to each unit the moment it becomes available.)
const QUEUE_REVIEW_S: f64 = 60.0;

/// Options of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// RNG seed.
    pub seed: u64,
    /// The built-in dispatch policy [`Simulation::new`] uses (its per-agency rules come from
    /// the catalogue); [`Simulation::with_source`] takes any policy object instead.
    pub policy: PolicyKind,
    /// Let urgent (priority 1) incidents take units en route to less urgent work.
    pub preemption: bool,
    /// Seconds between refreshes of moving units' positions in the dispatch index (the
    /// exact search widens by how far a unit may have moved since).
    pub index_refresh_s: f64,
    /// Seconds since midnight the run starts at, units in their shift state at that time.
    pub start_s: f64,
    /// The weekday of the run's first day, 0 = Monday: where a type has an hour-of-week
    /// profile (a learned catalogue), its rates follow the days of the week from this one.
    pub weekday: u8,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: 7,
            policy: PolicyKind::MergedGrid,
            preemption: true,
            index_refresh_s: 120.0,
            start_s: 0.0,
            weekday: 0,
        }
    }
}

/// Why a simulation could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The catalogue does not fit the scene.
    #[error("{0}")]
    Catalogue(binjiang_scene::Problems),
    /// A unit's patrol loop cannot be driven in its mode.
    #[error(
        "scene.ron: unit \"{unit}\": patrol loop cannot be routed by {mode} from waypoint {from} to {to} (one-way streets, water or no road within reach)"
    )]
    Unroutable {
        /// Unit id.
        unit: String,
        /// Its mode.
        mode: Mode,
        /// Waypoint index.
        from: usize,
        /// Waypoint index.
        to: usize,
    },
    /// A unit's home cannot reach its loop or the loop cannot reach home.
    #[error("scene.ron: unit \"{unit}\": no {mode} route between its home and its patrol loop")]
    HomeUnreachable {
        /// Unit id.
        unit: String,
        /// Its mode.
        mode: Mode,
    },
    /// The scene has no units.
    #[error("scene.ron: the scene has no units")]
    NoUnits,
    /// The start time is not a time.
    #[error("start time {0} s must be a non-negative number of seconds")]
    Start(f64),
    /// A recorded report does not fit the scene or catalogue.
    #[error("recorded report {index}: {error}")]
    Recorded {
        /// Its place in the list (0-based).
        index: usize,
        /// What is wrong.
        error: crate::source::ReportError,
    },
}

/// Timed actions of the event loop.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
enum Action {
    GenerateHour(u32),
    Recorded(usize),
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
    ReviewQueue,
    FixExpired {
        unit: u32,
        at_ms: u64,
    },
    NetworkOn(usize),
    NetworkOff(usize),
    /// The move-up monitor's review after a dispatch.
    ReviewCoverage,
}

/// What a run never changes, shared by clones: places incidents arise at, names.
#[derive(Debug)]
struct World {
    grid: Arc<MergedGrid>,
    /// Subdistrict codes, by part index.
    areas: Vec<Name>,
    /// Cell ids, by cell index.
    cells: Vec<Name>,
    /// Catalogue keys, by type index.
    type_keys: Vec<Name>,
    /// Asset positions by kind.
    assets: Vec<Vec<Coord>>,
    /// The scene's assets, shared, and their positions by id, made when a report first names
    /// one (a generated day never does: building it for every run, and freeing its 607 ids,
    /// cost a run more than its road snaps to the water's edge).
    scene_assets: Arc<Vec<binjiang_scene::Asset>>,
    asset_at: std::sync::OnceLock<HashMap<String, Coord>>,
    landmarks: Vec<Coord>,
    cell_cumulative_area: Vec<f64>,
    /// Per type whose origin is `Cells`: cumulative weights and the grid cell of each
    /// (empty for other origins).
    type_cells: Vec<Vec<(f64, usize)>>,
    /// The recorded reports replayed, for [`IncidentSource::Recorded`].
    recorded: Arc<Vec<Report>>,
}

/// The running simulation.
#[derive(Debug, Clone)]
pub struct Simulation {
    catalogue: Arc<IncidentCatalogue>,
    options: SimOptions,
    policy: Arc<dyn DispatchPolicy>,
    /// The network in force now (a scenario's change swaps its own in for its window).
    router: Router,
    /// A scenario's network changes, each with its window and network.
    networks: Vec<network::NetworkPhase>,
    /// Which of `networks` is in force (its router swapped into `router`).
    active_network: Option<usize>,
    world: Arc<World>,
    source: IncidentSource,
    units: Vec<UnitState>,
    /// Incidents not yet retired, by number.
    incidents: incident::IncidentTable,
    next_incident: u32,
    /// External ids of reports seen, for idempotence: the incident and when it was reported.
    /// Kept [`EXTERNAL_ID_WINDOW_S`]; older ones are forgotten.
    external_ids: HashMap<Name, (u32, f64)>,
    /// Incident parts waiting for a unit.
    queued: queue::WaitingParts,
    /// Queued parts no free unit could reach in time, most urgent and oldest first: units
    /// move along their loops, so these are offered again every minute.
    out_of_reach: std::collections::BTreeSet<(u8, u32, Agency)>,
    review_pending: bool,
    /// Available units by (agency, mode): all that dispatch ever asks for. A unit enters
    /// when it becomes available and leaves when it is sent or goes off duty; busy units
    /// are not indexed (they were, in trees nobody queried, at two R-tree updates a job).
    index: ClassedIndex<(Agency, Mode), u32>,
    last_refresh_ms: u64,
    /// The index refresh's list of available units, kept for the next refresh.
    refresh_items: Vec<(u32, (Agency, Mode), [f64; 2])>,
    /// The round of candidates a dispatch search weighs, kept for the next round and search.
    candidate_batch: Vec<(u32, f64)>,
    /// Per unit, the vertex of its route or loop the last refresh found it at (any hint
    /// gives the same position; a recent one makes it cheaper).
    refresh_hints: Vec<u32>,
    /// Patrol-sourced incidents nobody has found yet.
    undiscovered: PointIndex<u32>,
    /// The undiscovered incidents near a unit's new plan, kept for the next replan.
    near_undiscovered: Vec<u32>,
    /// For each undiscovered incident, the sighting planned (time, unit, unit version).
    sightings: BTreeMap<u32, Option<(u64, u32, u64)>>,
    /// Incidents whose planned sighting is by each unit.
    sightings_by_unit: HashMap<u32, Vec<u32>>,
    /// Each unit's plan extent while on duty, widened by the discovery radius, as of its
    /// last change of plan, in flat columns: planning an incident's sighting scans every
    /// unit, and most are ruled out by this rectangle alone without touching their state.
    /// An off-duty unit's is empty (infinite corners, which no point reaches), so the scan
    /// has no branch on absence.
    reach: reach::ReachBoxes,
    scheduler: Scheduler<Action>,
    /// Actions pushed by setting the run up, before a scenario's network changes were put in
    /// ([`Simulation::diverge`] orders a change's window as set-up would have).
    setup_seq: u64,
    /// Draws where and when incidents arise and every random quantity of an incident (report
    /// delay, on-scene time per agency) when it is created: the same whatever the policy, so
    /// what-if runs compare the same day (common random numbers).
    arrivals_rng: ChaCha8Rng,
    /// Draws what the catalogue's surges add or take away, apart from `arrivals_rng`, so the
    /// base day stays the same with or without them.
    surge_rng: ChaCha8Rng,
    now_ms: u64,
    log: Vec<Event>,
    inputs: Vec<InputRecord>,
    /// Makes move-ups by itself when set (`--move-up auto`).
    move_up: Option<Arc<crate::moveup::CoverageMonitor>>,
    /// A coverage review is scheduled for now.
    coverage_review_pending: bool,
    /// Explanation records are made ([`Simulation::set_explain`]).
    explaining: bool,
    /// Decisions explained and not yet drained.
    decisions: Vec<crate::explain::Decision>,
    /// The next decision's number.
    next_decision: u64,
    /// Road times the last search found, per unit, while explaining, and the incident and
    /// instant (ms) of that search.
    searched: Vec<(u32, Option<f64>)>,
    searched_for: Option<(u32, u64)>,
}

impl Simulation {
    /// Sets up a simulation of `scene` from `options.start_s`, incidents generated from the
    /// catalogue, with the built-in policy `options.policy`.
    pub fn new(
        scene: &Scene,
        catalogue: IncidentCatalogue,
        options: SimOptions,
    ) -> Result<Self, SimError> {
        let policy = options.policy.build(catalogue.dispatch.clone());
        Self::with_source(scene, catalogue, options, policy, IncidentSource::Generated)
    }

    /// Sets up a simulation with any policy and incident source.
    pub fn with_source(
        scene: &Scene,
        catalogue: IncidentCatalogue,
        options: SimOptions,
        policy: Arc<dyn DispatchPolicy>,
        source: IncidentSource,
    ) -> Result<Self, SimError> {
        Self::on_roads(
            scene,
            catalogue,
            options,
            policy,
            source,
            Router::of_scene(scene),
            None,
        )
    }

    /// Sets up a simulation as [`Simulation::with_source`] does, on road networks prepared
    /// beforehand (the scene's and a scenario's changes, which come into force as
    /// [`Simulation::with_network_changes`] puts them): many runs of one scene prepare its
    /// hierarchies once. `roads` must be `scene`'s.
    pub fn with_prepared_roads(
        scene: &Scene,
        catalogue: IncidentCatalogue,
        options: SimOptions,
        policy: Arc<dyn DispatchPolicy>,
        source: IncidentSource,
        roads: &network::PreparedRoads,
    ) -> Result<Self, SimError> {
        let router = roads.base.clone();
        Ok(Self::on_roads(
            scene,
            catalogue,
            options,
            policy,
            source,
            router,
            Some(&roads.loops),
        )?
        .with_prepared_changes(&roads.changes))
    }

    fn on_roads(
        scene: &Scene,
        catalogue: IncidentCatalogue,
        options: SimOptions,
        policy: Arc<dyn DispatchPolicy>,
        source: IncidentSource,
        mut router: Router,
        loops: Option<&network::PatrolLoops>,
    ) -> Result<Self, SimError> {
        let problems = catalogue.check(crate::catalogue::CATALOGUE_FILE, scene);
        if problems.has_errors() {
            return Err(SimError::Catalogue(problems));
        }
        if scene.units.is_empty() {
            return Err(SimError::NoUnits);
        }
        if !(options.start_s.is_finite() && options.start_s >= 0.0) {
            return Err(SimError::Start(options.start_s));
        }
        let areas: Vec<Name> = scene
            .grid
            .parts
            .iter()
            .map(|p| Name::from(p.code.as_str()))
            .collect();
        let mut units = Vec::with_capacity(scene.units.len());
        for u in &scene.units {
            let patrol = match loops {
                Some(known) => known.of(u, || patrol_loop(&mut router, u))?,
                None => patrol_loop(&mut router, u)?,
            };
            let area = area_of(&scene.grid, u.home);
            units.push(UnitState::new(u, area, patrol));
        }
        let recorded = match &source {
            IncidentSource::Recorded(list) => Arc::clone(list),
            _ => Arc::new(Vec::new()),
        };
        let world = World::new(scene, &catalogue, areas, recorded);
        let start_ms = ms(options.start_s);
        let mut sim = Simulation {
            world: Arc::new(world),
            policy,
            router,
            networks: Vec::new(),
            active_network: None,
            source,
            units,
            incidents: incident::IncidentTable::default(),
            next_incident: 0,
            external_ids: HashMap::new(),
            queued: queue::WaitingParts::default(),
            out_of_reach: std::collections::BTreeSet::new(),
            review_pending: false,
            index: ClassedIndex::default(),
            last_refresh_ms: start_ms,
            refresh_items: Vec::new(),
            candidate_batch: Vec::new(),
            refresh_hints: Vec::new(),
            undiscovered: PointIndex::default(),
            near_undiscovered: Vec::new(),
            sightings: BTreeMap::new(),
            sightings_by_unit: HashMap::new(),
            reach: reach::ReachBoxes::default(),
            scheduler: Scheduler::default(),
            arrivals_rng: rng_stream(options.seed, 1),
            surge_rng: rng_stream(options.seed, 5),
            now_ms: start_ms,
            log: Vec::new(),
            inputs: Vec::new(),
            move_up: None,
            coverage_review_pending: false,
            explaining: false,
            decisions: Vec::new(),
            next_decision: 0,
            setup_seq: 0,
            searched: Vec::new(),
            searched_for: None,
            catalogue: Arc::new(catalogue),
            options,
        };
        sim.check_homes()?;
        sim.check_recorded()?;
        sim.start();
        sim.setup_seq = sim.scheduler.pushed();
        Ok(sim)
    }

    /// Every unit must be able to ride from home to its loop and back: otherwise it could
    /// never start or end a shift without swimming.
    fn check_homes(&mut self) -> Result<(), SimError> {
        for u in &self.units {
            let join = u.patrol.position(0.0);
            let there = self.router.travel_time(u.mode, u.home, join).is_some();
            let back = self.router.travel_time(u.mode, join, u.home).is_some();
            if !(there && back) {
                return Err(SimError::HomeUnreachable {
                    unit: u.id.to_string(),
                    mode: u.mode,
                });
            }
        }
        Ok(())
    }

    /// Every recorded report must name a known type and a real place: replaying it later
    /// must not fail (or panic) halfway through a run.
    fn check_recorded(&self) -> Result<(), SimError> {
        for (index, r) in self.world.recorded.iter().enumerate() {
            self.place_of(r)
                .map_err(|error| SimError::Recorded { index, error })?;
        }
        Ok(())
    }

    fn start(&mut self) {
        self.measure_extents();
        for i in 0..self.units.len() as u32 {
            self.start_unit(i);
        }
        self.refresh_index();
        let start = self.now();
        if matches!(self.source, IncidentSource::Generated) {
            let hour = (start / 3600.0).floor() as u32;
            for h in 0..hour {
                self.draw_hour(h);
            }
        }
        match &self.source {
            IncidentSource::Generated => {
                let hour = (start / 3600.0).floor() as u32;
                self.scheduler.push(self.now_ms, Action::GenerateHour(hour));
            }
            IncidentSource::Recorded(list) => {
                for (k, r) in list.iter().enumerate() {
                    if r.time >= start {
                        self.scheduler.push(ms(r.time), Action::Recorded(k));
                    }
                }
            }
            IncidentSource::External => {}
        }
    }

    /// A what-if from this instant ("fork now"): a copy of the state — units where they are,
    /// incidents open, queues as they stand — whose further incidents are drawn from the
    /// catalogue from now on (seeded by `seed`), as a simulated day would bring them. The
    /// original is untouched; the copy starts with empty event and input logs.
    pub fn fork_generated(&self, seed: u64) -> Simulation {
        let mut fork = self.clone();
        fork.source = IncidentSource::Generated;
        fork.arrivals_rng = rng_stream(seed, 1);
        fork.surge_rng = rng_stream(seed, 5);
        // Incidents drawn for the current hour before now never happen (see draw_hour).
        fork.options.start_s = fork.now();
        let hour = (fork.now() / 3600.0).floor() as u32;
        fork.generate_hour(hour);
        fork.log.clear();
        fork.inputs.clear();
        fork
    }

    /// Current simulation time, seconds since the scene's midnight.
    pub fn now(&self) -> f64 {
        self.now_ms as f64 / 1000.0
    }

    /// Processes every action due by `t` seconds and sets the clock to `t` (never back).
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
            Action::Recorded(k) => self.recorded(k),
            Action::Arise(i) => self.arise(i),
            Action::Report(i) => self.learn_of(i, None),
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
            Action::ReviewQueue => self.review_queue(),
            Action::FixExpired { unit, at_ms } => self.fix_expired(unit, at_ms),
            Action::NetworkOn(k) => self.network_on(k),
            Action::NetworkOff(k) => self.network_off(k),
            Action::ReviewCoverage => self.review_coverage(),
        }
    }

    /// The event log since the last [`Simulation::drain_events`].
    pub fn events(&self) -> &[Event] {
        &self.log
    }

    /// Takes the events logged since the last call: hand them to a sink (file, stream,
    /// metrics fold) so a run of weeks keeps no log in memory.
    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.log)
    }

    /// The inputs accepted since the last [`Simulation::drain_inputs`]: reports from outside
    /// and operators' commands, with who and why (the input log, apart from what happened).
    pub fn inputs(&self) -> &[InputRecord] {
        &self.inputs
    }

    /// Takes the inputs logged since the last call.
    pub fn drain_inputs(&mut self) -> Vec<InputRecord> {
        std::mem::take(&mut self.inputs)
    }

    /// Incident `id`, unless retired.
    pub fn incident(&self, id: u32) -> Option<&Incident> {
        self.incidents.get(id)
    }

    /// Every incident not retired (pending ones have not happened yet), by number.
    pub fn incidents(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.values()
    }

    /// Forgets closed incidents (their story is in the event log): bounded memory for runs
    /// of weeks. Returns how many were retired.
    pub fn retire_closed(&mut self) -> usize {
        self.retire_closed_before(f64::INFINITY)
    }

    /// Forgets incidents closed before `t` seconds; later ones stay (a live control room
    /// can still reopen them). Returns how many were retired.
    pub fn retire_closed_before(&mut self, t: f64) -> usize {
        // External ids past their window no longer name anything (see take_report).
        let forget_before = self.now() - EXTERNAL_ID_WINDOW_S;
        self.external_ids.retain(|_, (_, at)| *at >= forget_before);
        let before = self.incidents.len();
        self.incidents.retain(|i| {
            i.status != incident::IncidentStatus::Closed || i.closed_at.is_some_and(|c| c >= t)
        });
        before - self.incidents.len()
    }

    /// The catalogue in use.
    pub fn catalogue(&self) -> &IncidentCatalogue {
        &self.catalogue
    }

    /// The options in use.
    pub fn options(&self) -> &SimOptions {
        &self.options
    }

    /// The policy in use.
    pub fn policy(&self) -> &dyn DispatchPolicy {
        self.policy.as_ref()
    }

    /// Subdistrict codes by area index (as in [`UnitView::area`] and [`Incident::area`]).
    pub fn areas(&self) -> &[Name] {
        &self.world.areas
    }

    /// Every unit as it is now.
    pub fn units(&self) -> Vec<UnitView> {
        let t = self.now();
        self.units
            .iter()
            .enumerate()
            .map(|(i, u)| u.view(i as u32, t))
            .collect()
    }

    /// Each unit's agency and status, in the scene's order: what hourly tallies need,
    /// without the positions, routes and ids of [`Simulation::units`].
    pub fn unit_statuses(&self) -> impl Iterator<Item = (Agency, unit::UnitStatus)> + '_ {
        self.units.iter().map(|u| (u.agency, u.status))
    }

    /// The index of the unit with scene id `id`, if any: how commands, fixes and crew
    /// statuses name units.
    pub(crate) fn unit_index(&self, id: &str) -> Option<u32> {
        self.units
            .iter()
            .position(|u| u.id.as_ref() == id)
            .map(|u| u as u32)
    }

    /// The units' own state, for the crate's monitors.
    pub(crate) fn unit_states(&self) -> &[UnitState] {
        &self.units
    }

    /// Every unit's position now (local metres) and whether it is on duty, in the scene's
    /// order: what patrol coverage samples every minute, without building views.
    pub fn positions(&self) -> impl Iterator<Item = ([f64; 2], bool)> + '_ {
        let t = self.now();
        self.units.iter().map(move |u| {
            let p = u.position(t);
            ([p.x, p.y], u.status != unit::UnitStatus::OffDuty)
        })
    }

    /// As [`Simulation::positions`], each unit's route searched from where the same
    /// unit's was last time (`hints`, one per unit, kept by the caller between calls):
    /// what sampling every unit every two minutes wants.
    pub fn positions_from<'a>(
        &'a self,
        hints: &'a mut Vec<u32>,
    ) -> impl Iterator<Item = ([f64; 2], bool)> + 'a {
        let t = self.now();
        hints.resize(self.units.len(), 0);
        self.units
            .iter()
            .zip(hints.iter_mut())
            .map(move |(u, hint)| {
                let p = u.position_from(t, hint);
                ([p.x, p.y], u.status != unit::UnitStatus::OffDuty)
            })
    }

    /// Length of each agency's queue of waiting incident parts.
    pub fn queue_lengths(&self) -> Vec<(Agency, usize)> {
        Agency::ALL
            .iter()
            .map(|a| {
                (
                    *a,
                    (1..=PRIORITIES).map(|p| self.queued.len_of(*a, p)).sum(),
                )
            })
            .collect()
    }

    fn log(&mut self, pos: Coord, what: What) {
        self.log.push(Event::new(self.now(), pos, what));
    }

    fn incident_mut(&mut self, i: u32) -> &mut Incident {
        self.incidents
            .get_mut(i)
            .expect("live incidents are never retired")
    }

    fn inc(&self, i: u32) -> &Incident {
        self.incidents
            .get(i)
            .expect("live incidents are never retired")
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

/// The subdistrict (part) index whose polygon holds `p`, or the nearest part.
fn area_of(grid: &MergedGrid, p: Coord) -> u16 {
    grid.part_at(p).unwrap_or(0) as u16
}

impl World {
    /// Where the asset with id `id` stands, if the scene has it.
    fn asset_at(&self, id: &str) -> Option<Coord> {
        self.asset_at
            .get_or_init(|| {
                self.scene_assets
                    .iter()
                    .map(|a| (a.id.clone(), a.position.0))
                    .collect()
            })
            .get(id)
            .copied()
    }

    /// What never changes in a run of `scene` with `catalogue`.
    fn new(
        scene: &Scene,
        catalogue: &IncidentCatalogue,
        areas: Vec<Name>,
        recorded: Arc<Vec<Report>>,
    ) -> Self {
        let mut assets = vec![Vec::new(); AssetKind::ALL.len()];
        for a in scene.assets.iter() {
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
        World {
            grid: Arc::clone(&scene.grid),
            areas,
            cells: scene
                .grid
                .cells
                .iter()
                .map(|c| Name::from(c.id.as_str()))
                .collect(),
            type_keys: catalogue
                .types
                .iter()
                .map(|t| Name::from(t.key.as_str()))
                .collect(),
            scene_assets: Arc::clone(&scene.assets),
            asset_at: std::sync::OnceLock::new(),
            assets,
            landmarks,
            cell_cumulative_area,
            type_cells: catalogue
                .types
                .iter()
                .map(|t| match &t.origin {
                    Origin::Cells(weights) => {
                        let mut total = 0.0;
                        scene
                            .grid
                            .cells
                            .iter()
                            .enumerate()
                            .filter_map(|(i, c)| {
                                let w = weights.get(&c.id).copied().unwrap_or(0.0);
                                (w > 0.0).then(|| {
                                    total += w;
                                    (total, i)
                                })
                            })
                            .collect()
                    }
                    _ => Vec::new(),
                })
                .collect(),
            recorded,
        }
    }
}

/// Where a type's incidents arise, with the asset kind resolved (the catalogue check
/// guarantees it parses: there is no fallback kind).
fn asset_kind(origin: &Origin) -> Option<AssetKind> {
    match origin {
        Origin::Asset(k) | Origin::NearAsset(k, _) => AssetKind::parse(k),
        _ => None,
    }
}
