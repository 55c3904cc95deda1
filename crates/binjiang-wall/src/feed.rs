//! The one state every view reads ([`WallState`]) and the embedded source that fills it.
//!
//! Views never touch the simulation: they read `WallState`. The [`EventFollower`] fills it
//! from the event stream alone (plus unit positions); today the in-process simulation
//! ([`EmbeddedSim`]) produces that stream every frame, a live mode will take the same events
//! from the server instead, with no change to the views.

use bevy::prelude::*;
use binjiang_scene::Agency;
use binjiang_sim::{
    Event, IncidentCatalogue, MetricsFold, Operator, SimOptions, Simulation, Source, UnitStatus,
    UnitView, What,
};
use std::collections::{BTreeMap, HashMap};

/// Simulated seconds the embedded sim may advance in one frame, so a slow frame never makes
/// the next one stall on a long catch-up.
const MAX_SIM_STEP_S: f64 = 900.0;
/// Closed incidents stay on the wall (fading) this long, simulated seconds.
pub const FADE_S: f64 = 300.0;
/// Wall seconds between recomputations of the KPIs.
const KPI_PERIOD_S: f32 = 0.5;

/// The simulation clock the operator controls.
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    /// Simulated seconds since midnight shown on the wall.
    pub sim_s: f64,
    /// Simulated seconds per wall second; 0 is paused.
    pub speed: f64,
}

/// An incident as the wall shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentMark {
    /// Incident id.
    pub id: u32,
    /// Type name.
    pub type_name: String,
    /// 1 urgent … 4 routine.
    pub priority: u8,
    /// Position, local metres.
    pub position: [f64; 2],
    /// How it was reported.
    pub source: Source,
    /// When it was reported.
    pub reported_at: f64,
    /// When it closed, if it has.
    pub closed_at: Option<f64>,
    /// Agencies required, each with the unit serving it (if any) and whether it finished.
    pub parts: Vec<(Agency, Option<u32>, bool)>,
    /// Whether an operator has acknowledged it.
    pub acknowledged: bool,
}

impl IncidentMark {
    /// The part of `agency`: (agency, unit serving it, finished).
    fn part_mut(&mut self, agency: Agency) -> Option<&mut (Agency, Option<u32>, bool)> {
        self.parts.iter_mut().find(|p| p.0 == agency)
    }

    /// Whether some required agency has nobody assigned yet.
    pub fn waiting(&self) -> bool {
        self.closed_at.is_none() && self.parts.iter().any(|(_, u, done)| u.is_none() && !done)
    }
}

/// KPIs of one agency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgencyKpi {
    /// Units patrolling (free).
    pub patrolling: usize,
    /// Units en route or on scene.
    pub busy: usize,
    /// Units off duty.
    pub off_duty: usize,
    /// Incident parts of this agency still open.
    pub open: usize,
    /// p90 report → arrival today, seconds.
    pub response_p90_s: Option<f64>,
}

/// Figures of the day so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kpis {
    /// Per agency.
    pub agencies: BTreeMap<Agency, AgencyKpi>,
    /// Share of incidents with a unit on site within 3 minutes.
    pub on_site_3min_share: Option<f64>,
    /// Share handled "in the bud".
    pub in_the_bud_share: Option<f64>,
    /// Incidents so far.
    pub incidents: usize,
    /// Closed so far.
    pub closed: usize,
    /// Incidents per grid cell.
    pub per_cell: BTreeMap<u32, usize>,
}

/// What every view reads: the district at the displayed instant.
#[derive(Resource, Debug, Clone, Default)]
pub struct WallState {
    /// Simulated seconds since midnight.
    pub now_s: f64,
    /// Every unit.
    pub units: Vec<UnitView>,
    /// Open incidents and those closed in the last [`FADE_S`] seconds.
    pub incidents: Vec<IncidentMark>,
    /// Figures of the day so far.
    pub kpis: Kpis,
    /// Incidents of priority 1 reported since the previous frame (for auto-focus).
    pub new_urgent: Vec<u32>,
    /// The event log of the day so far (timelines of selected incidents).
    pub log: Vec<Event>,
    /// Why the last operator command was refused, if it was.
    pub refusal: Option<String>,
}

/// What an operator asks of an incident from the wall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorCommand {
    /// Mark it as seen.
    Acknowledge(u32),
    /// Send this free unit (by index) for this agency's part.
    Reassign(u32, Agency, u32),
    /// Close it now.
    Close(u32),
}

/// Commands from the panels, applied by the feed before the next step (in a live mode they
/// would go to the server instead).
#[derive(Resource, Debug, Default, Clone, PartialEq)]
pub struct OperatorCommands(pub Vec<OperatorCommand>);

/// The in-process simulation feeding the wall, started at the wall's `--at` with units in
/// their shift state.
#[derive(Resource)]
pub struct EmbeddedSim {
    sim: Simulation,
}

impl EmbeddedSim {
    /// Sets up the scene's simulated day from `options.start_s`.
    pub fn new(
        scene: &binjiang_scene::Scene,
        catalogue: IncidentCatalogue,
        options: SimOptions,
    ) -> Result<Self, String> {
        let sim = Simulation::new(scene, catalogue, options).map_err(|e| e.to_string())?;
        Ok(EmbeddedSim { sim })
    }

    /// The state before the first frame, and the follower of the event stream.
    pub fn initial_state(&self, scene: &binjiang_scene::Scene) -> (WallState, EventFollower) {
        let state = WallState {
            now_s: self.sim.now(),
            units: self.sim.units(),
            ..WallState::default()
        };
        (state, EventFollower::new(scene, self.sim.catalogue()))
    }
}

/// Turns the event stream into what the views show: incident marks, the log of the day and
/// the KPIs, folded one event at a time. It reads events only, so the same views can follow
/// a live service's stream; unit positions come beside the stream.
#[derive(Resource, Debug, Clone)]
pub struct EventFollower {
    /// Unit index by scene id.
    unit_index: HashMap<String, u32>,
    /// Grid cell index by id.
    cell_index: HashMap<String, u32>,
    /// Type name by catalogue key.
    type_names: HashMap<String, String>,
    /// Incidents that arose but nobody has reported yet (not shown).
    unreported: BTreeMap<u32, IncidentMark>,
    /// Reported incidents, open or closed within [`FADE_S`].
    marks: BTreeMap<u32, IncidentMark>,
    fold: MetricsFold,
    kpi_timer: Timer,
}

impl EventFollower {
    /// A follower for runs of `scene` with `catalogue`.
    pub fn new(scene: &binjiang_scene::Scene, catalogue: &IncidentCatalogue) -> Self {
        EventFollower {
            unit_index: scene
                .units
                .iter()
                .enumerate()
                .map(|(i, u)| (u.id.clone(), i as u32))
                .collect(),
            cell_index: scene
                .grid
                .cells
                .iter()
                .enumerate()
                .map(|(i, c)| (c.id.clone(), i as u32))
                .collect(),
            type_names: catalogue
                .types
                .iter()
                .map(|t| (t.key.clone(), t.name.clone()))
                .collect(),
            unreported: BTreeMap::new(),
            marks: BTreeMap::new(),
            fold: MetricsFold::new(catalogue),
            kpi_timer: Timer::from_seconds(KPI_PERIOD_S, TimerMode::Repeating),
        }
    }

    /// Applies fresh events to the marks, the log and the folded figures.
    pub fn apply(&mut self, events: &[Event], state: &mut WallState) {
        state.new_urgent.clear();
        for e in events {
            self.fold.push(e);
            self.apply_one(e, state);
        }
        state.log.extend_from_slice(events);
    }

    fn apply_one(&mut self, e: &Event, state: &mut WallState) {
        let unit = |id: &str| self.unit_index.get(id).copied();
        match &e.what {
            What::Arose {
                incident,
                incident_type,
                priority,
                agencies,
                ..
            } => {
                let type_name = self
                    .type_names
                    .get(incident_type.as_ref())
                    .cloned()
                    .unwrap_or_else(|| incident_type.to_string());
                self.unreported.insert(
                    *incident,
                    IncidentMark {
                        id: *incident,
                        type_name,
                        priority: *priority,
                        position: [e.x, e.y],
                        source: Source::Patrol,
                        reported_at: e.t,
                        closed_at: None,
                        parts: agencies.iter().map(|a| (*a, None, false)).collect(),
                        acknowledged: false,
                    },
                );
            }
            What::Reported {
                incident, source, ..
            } => {
                if let Some(mut m) = self.unreported.remove(incident) {
                    m.source = *source;
                    m.reported_at = e.t;
                    if m.priority == 1 {
                        state.new_urgent.push(*incident);
                    }
                    self.marks.insert(*incident, m);
                }
            }
            What::Dispatched {
                incident,
                agency,
                unit: u,
                ..
            } => {
                let u = unit(u);
                if let Some(p) = self.part_mut(*incident, *agency) {
                    p.1 = u;
                }
            }
            What::Preempted {
                incident, agency, ..
            }
            | What::Reassigned {
                incident, agency, ..
            } => {
                if let Some(p) = self.part_mut(*incident, *agency) {
                    p.1 = None;
                }
            }
            What::Finished {
                incident, agency, ..
            } => {
                if let Some(p) = self.part_mut(*incident, *agency) {
                    p.2 = true;
                }
            }
            What::Closed { incident, .. } => {
                if let Some(m) = self.marks.get_mut(incident) {
                    m.closed_at = Some(e.t);
                    for p in &mut m.parts {
                        p.2 = true;
                    }
                }
            }
            What::Acknowledged { incident, .. } => {
                if let Some(m) = self.marks.get_mut(incident) {
                    m.acknowledged = true;
                }
            }
            _ => {}
        }
    }

    /// The part of `agency` of reported incident `incident`, if it is known.
    fn part_mut(
        &mut self,
        incident: u32,
        agency: Agency,
    ) -> Option<&mut (Agency, Option<u32>, bool)> {
        self.marks.get_mut(&incident)?.part_mut(agency)
    }

    /// The marks to show at `now`: reported and open, or closed within [`FADE_S`] (older
    /// ones are forgotten).
    fn visible(&mut self, now: f64) -> Vec<IncidentMark> {
        self.marks
            .retain(|_, m| m.closed_at.is_none_or(|c| now - c < FADE_S));
        self.marks.values().cloned().collect()
    }

    /// The KPIs now, from the fold and the units' states.
    fn kpis(&self, state: &WallState) -> Kpis {
        let m = self.fold.summary(state.now_s);
        let mut agencies: BTreeMap<Agency, AgencyKpi> = Agency::ALL
            .iter()
            .map(|a| (*a, AgencyKpi::default()))
            .collect();
        for u in &state.units {
            let k = agencies.entry(u.agency).or_default();
            match u.status {
                UnitStatus::OffDuty => k.off_duty += 1,
                UnitStatus::EnRoute | UnitStatus::OnScene => k.busy += 1,
                UnitStatus::Patrolling | UnitStatus::Returning => k.patrolling += 1,
            }
        }
        for i in state.incidents.iter().filter(|i| i.closed_at.is_none()) {
            for (a, _, done) in &i.parts {
                if !done {
                    agencies.entry(*a).or_default().open += 1;
                }
            }
        }
        for (a, k) in agencies.iter_mut() {
            k.response_p90_s = m.per_agency.get(a.key()).and_then(|x| x.response_s.p90);
        }
        Kpis {
            agencies,
            on_site_3min_share: m.all.on_site_3min_share,
            in_the_bud_share: m.all.in_the_bud_share,
            incidents: m.all.incidents,
            closed: m.all.closed,
            per_cell: m
                .per_cell
                .iter()
                .filter_map(|(id, n)| Some((*self.cell_index.get(id)?, *n)))
                .collect(),
        }
    }
}

/// Registers the state, the clock and the embedded source.
pub struct FeedPlugin;

impl Plugin for FeedPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<OperatorCommands>()
            .add_systems(PreUpdate, (apply_commands, advance_embedded).chain());
    }
}

/// The wall's operator, as the input log records commands from the wall.
const WALL_OPERATOR: Operator<'static> = Operator {
    id: "wall",
    reason: "operator at the wall display",
};

/// Applies operators' commands to the embedded simulation; a refusal is shown on the wall.
fn apply_commands(
    mut commands: ResMut<OperatorCommands>,
    feed: Option<ResMut<EmbeddedSim>>,
    mut state: ResMut<WallState>,
) {
    let Some(mut feed) = feed else { return };
    for c in commands.0.drain(..) {
        let done = match c {
            OperatorCommand::Acknowledge(i) => feed.sim.acknowledge(i, &WALL_OPERATOR),
            OperatorCommand::Reassign(i, a, u) => feed.sim.reassign(i, a, u, &WALL_OPERATOR),
            OperatorCommand::Close(i) => feed.sim.close(i, &WALL_OPERATOR),
        };
        state.refusal = done.err().map(|e| e.to_string());
    }
}

/// Advances the embedded simulation by the clock and hands its new events to the follower.
fn advance_embedded(
    time: Res<Time>,
    mut clock: ResMut<Clock>,
    feed: Option<ResMut<EmbeddedSim>>,
    follower: Option<ResMut<EventFollower>>,
    mut state: ResMut<WallState>,
) {
    let (Some(mut feed), Some(mut follower)) = (feed, follower) else {
        return;
    };
    let step = (time.delta_secs_f64() * clock.speed).min(MAX_SIM_STEP_S);
    clock.sim_s = clock.sim_s.max(feed.sim.now()) + step;
    feed.sim.advance_to(clock.sim_s);
    feed.sim.retire_closed();
    let fresh = feed.sim.drain_events();
    follower.apply(&fresh, &mut state);
    state.now_s = clock.sim_s;
    state.units = feed.sim.units();
    state.incidents = follower.visible(clock.sim_s);
    let refresh =
        follower.kpi_timer.tick(time.delta()).just_finished() || state.kpis.agencies.is_empty();
    if refresh {
        state.kpis = follower.kpis(&state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn tiny_sim(start_s: f64) -> (EmbeddedSim, WallState, EventFollower) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenes/tiny-river");
        let scene = binjiang_scene::Scene::load(&dir).unwrap();
        let catalogue = IncidentCatalogue::load(&dir.join(binjiang_sim::CATALOGUE_FILE), &scene)
            .unwrap()
            .0;
        let options = SimOptions {
            start_s,
            ..SimOptions::default()
        };
        let sim = EmbeddedSim::new(&scene, catalogue, options).unwrap();
        let (state, follower) = sim.initial_state(&scene);
        (sim, state, follower)
    }

    fn app_with(feed: (EmbeddedSim, WallState, EventFollower), clock: Clock) -> App {
        let (sim, state, follower) = feed;
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .insert_resource(clock)
            .insert_resource(state)
            .insert_resource(follower)
            .insert_resource(sim)
            .add_plugins(FeedPlugin);
        app
    }

    /// The feed plugin in a headless app (no window, no renderer) keeps `WallState` current.
    #[test]
    fn feed_plugin_fills_the_wall_state_headless() {
        let mut app = app_with(
            tiny_sim(6.0 * 3600.0),
            Clock {
                sim_s: 6.0 * 3600.0,
                speed: 6000.0,
            },
        );
        app.update();
        std::thread::sleep(std::time::Duration::from_millis(20));
        app.update();
        let state = app.world().resource::<WallState>();
        assert_eq!(state.units.len(), 8);
        assert!(
            state.now_s > 6.0 * 3600.0,
            "the clock advanced: {}",
            state.now_s
        );
        assert!(
            !state.log.is_empty(),
            "the events since the start are in the log"
        );
        assert_eq!(state.kpis.agencies.len(), Agency::ALL.len());
        let on_duty: usize = state
            .kpis
            .agencies
            .values()
            .map(|k| k.patrolling + k.busy)
            .sum();
        let off: usize = state.kpis.agencies.values().map(|k| k.off_duty).sum();
        // property-south works 07:00-19:00; the other seven round the clock.
        assert_eq!((on_duty, off), (7, 1));
    }

    /// Commands from the panels reach the simulation, and refusals come back to the wall.
    #[test]
    fn operator_commands_reach_the_simulation_headless() {
        let (mut sim, state, follower) = tiny_sim(3600.0);
        let id = sim
            .sim
            .report(binjiang_sim::Report {
                external_id: Some("110-42".into()),
                time: 3600.0,
                source: Source::Hotline110,
                incident_type: "fight".into(),
                place: binjiang_sim::Place::At([100.0, 300.0]),
                text: String::new(),
            })
            .unwrap();
        let mut app = app_with(
            (sim, state, follower),
            Clock {
                sim_s: 3600.0,
                speed: 0.0,
            },
        );
        app.world_mut()
            .resource_mut::<OperatorCommands>()
            .0
            .push(OperatorCommand::Acknowledge(id));
        app.update();
        let state = app.world().resource::<WallState>();
        assert!(state
            .log
            .iter()
            .any(|e| matches!(&e.what, What::Acknowledged { incident, operator } if *incident == id && operator.as_ref() == "wall")));
        assert!(state.incidents.iter().any(|m| m.id == id && m.acknowledged));
        app.world_mut()
            .resource_mut::<OperatorCommands>()
            .0
            .extend([OperatorCommand::Close(id), OperatorCommand::Close(id)]);
        app.update();
        let state = app.world().resource::<WallState>();
        assert!(state
            .incidents
            .iter()
            .any(|m| m.id == id && m.closed_at.is_some()));
        assert_eq!(
            state.refusal.as_deref(),
            Some(format!("incident #{id} is not open").as_str())
        );
    }

    #[test]
    fn paused_clock_does_not_advance() {
        let mut app = app_with(
            tiny_sim(3600.0),
            Clock {
                sim_s: 3600.0,
                speed: 0.0,
            },
        );
        app.update();
        app.update();
        assert_eq!(app.world().resource::<WallState>().now_s, 3600.0);
    }
}
