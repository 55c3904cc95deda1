//! The one state every view reads ([`WallState`]) and the embedded source that fills it.
//!
//! Views never touch the simulation: they read `WallState`. Today the in-process simulation
//! ([`EmbeddedSim`]) fills it every frame; a live mode will fill the same resource from the
//! server's event stream instead, with no change to the views.

use bevy::prelude::*;
use binjiang_scene::Agency;
use binjiang_sim::{
    Event, EventKind, IncidentCatalogue, IncidentStatus, Metrics, SimOptions, Simulation, Source,
    UnitStatus, UnitView,
};
use std::collections::BTreeMap;

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

/// The in-process simulation feeding the wall.
#[derive(Resource)]
pub struct EmbeddedSim {
    sim: Simulation,
    kpi_timer: Timer,
}

impl EmbeddedSim {
    /// Sets up the scene's simulated day and runs it to `start_s`.
    pub fn new(
        scene: &binjiang_scene::Scene,
        catalogue: IncidentCatalogue,
        options: SimOptions,
        start_s: f64,
    ) -> Result<Self, String> {
        let mut sim = Simulation::new(scene, catalogue, options).map_err(|e| e.to_string())?;
        sim.advance_to(start_s);
        Ok(EmbeddedSim {
            sim,
            kpi_timer: Timer::from_seconds(KPI_PERIOD_S, TimerMode::Repeating),
        })
    }
}

impl EmbeddedSim {
    /// The state as it stands before the first frame: the log of the day up to the start.
    pub fn initial_state(&self) -> WallState {
        WallState {
            now_s: self.sim.now(),
            log: self.sim.events().to_vec(),
            ..WallState::default()
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

/// Applies operators' commands to the embedded simulation; a refusal is shown on the wall.
fn apply_commands(
    mut commands: ResMut<OperatorCommands>,
    feed: Option<ResMut<EmbeddedSim>>,
    mut state: ResMut<WallState>,
) {
    let Some(mut feed) = feed else { return };
    for c in commands.0.drain(..) {
        let done = match c {
            OperatorCommand::Acknowledge(i) => feed.sim.acknowledge(i),
            OperatorCommand::Reassign(i, a, u) => feed.sim.reassign(i, a, u),
            OperatorCommand::Close(i) => feed.sim.close(i),
        };
        state.refusal = done.err().map(|e| e.to_string());
    }
}

/// Advances the embedded simulation by the clock and refreshes [`WallState`].
fn advance_embedded(
    time: Res<Time>,
    mut clock: ResMut<Clock>,
    feed: Option<ResMut<EmbeddedSim>>,
    mut state: ResMut<WallState>,
) {
    let Some(mut feed) = feed else { return };
    let step = (time.delta_secs_f64() * clock.speed).min(MAX_SIM_STEP_S);
    clock.sim_s = clock.sim_s.max(feed.sim.now()) + step;
    feed.sim.advance_to(clock.sim_s);
    // `state.log` is a prefix copy of the simulation's log: copy whatever is new since, the
    // events of operators' commands included.
    let copied = state.log.len().min(feed.sim.events().len());
    let fresh = &feed.sim.events()[copied..];
    state.new_urgent = fresh
        .iter()
        .filter(|e| e.kind == EventKind::Reported)
        .filter_map(|e| e.incident)
        .filter(|i| feed.sim.incidents()[*i as usize].priority == 1)
        .collect();
    state.log.extend_from_slice(fresh);
    state.now_s = clock.sim_s;
    state.units = feed.sim.units();
    state.incidents = marks(&feed.sim, clock.sim_s);
    let refresh =
        feed.kpi_timer.tick(time.delta()).just_finished() || state.kpis.agencies.is_empty();
    if refresh {
        state.kpis = kpis(&feed.sim, &state);
    }
}

fn marks(sim: &Simulation, now: f64) -> Vec<IncidentMark> {
    sim.incidents()
        .iter()
        .filter(|i| {
            i.status == IncidentStatus::Open
                || (i.status == IncidentStatus::Closed
                    && i.closed_at.is_some_and(|c| now - c < FADE_S))
        })
        .map(|i| IncidentMark {
            id: i.id,
            type_name: sim.catalogue().types[i.incident_type as usize].name.clone(),
            priority: i.priority,
            position: [i.position.x, i.position.y],
            source: i.source,
            reported_at: i.reported_at.unwrap_or(i.arose_at),
            closed_at: i.closed_at,
            parts: i
                .needs
                .iter()
                .map(|n| (n.agency, n.unit, n.finished_at.is_some()))
                .collect(),
            acknowledged: i.acknowledged_at.is_some(),
        })
        .collect()
}

fn kpis(sim: &Simulation, state: &WallState) -> Kpis {
    let m = Metrics::from_events(&state.log, sim.catalogue(), state.now_s);
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
        k.response_p90_s = m.per_agency.get(a.key()).and_then(|x| x.response_p90_s);
    }
    Kpis {
        agencies,
        on_site_3min_share: m.on_site_3min_share,
        in_the_bud_share: m.in_the_bud_share,
        incidents: m.incidents,
        closed: m.closed,
        per_cell: m.per_cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn tiny_sim(start_s: f64) -> EmbeddedSim {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenes/tiny-river");
        let scene = binjiang_scene::Scene::load(&dir).unwrap();
        let catalogue = IncidentCatalogue::from_ron(
            &std::fs::read_to_string(dir.join("incident_types.ron")).unwrap(),
        )
        .unwrap();
        EmbeddedSim::new(&scene, catalogue, SimOptions::default(), start_s).unwrap()
    }

    /// The feed plugin in a headless app (no window, no renderer) keeps `WallState` current.
    #[test]
    fn feed_plugin_fills_the_wall_state_headless() {
        let sim = tiny_sim(6.0 * 3600.0);
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .insert_resource(Clock {
                sim_s: 6.0 * 3600.0,
                speed: 600.0,
            })
            .insert_resource(sim.initial_state())
            .insert_resource(sim)
            .add_plugins(FeedPlugin);
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
        assert!(!state.log.is_empty(), "the day so far is in the log");
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
        let mut sim = tiny_sim(3600.0);
        let id = sim
            .sim
            .inject(
                "fight",
                geo::Coord { x: 100.0, y: 300.0 },
                Source::Hotline110,
            )
            .unwrap();
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .insert_resource(Clock {
                sim_s: 3600.0,
                speed: 0.0,
            })
            .insert_resource(sim.initial_state())
            .insert_resource(sim)
            .add_plugins(FeedPlugin);
        app.world_mut()
            .resource_mut::<OperatorCommands>()
            .0
            .push(OperatorCommand::Acknowledge(id));
        app.update();
        let state = app.world().resource::<WallState>();
        assert!(state
            .log
            .iter()
            .any(|e| e.kind == EventKind::Acknowledged && e.incident == Some(id)));
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
        let sim = tiny_sim(3600.0);
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .insert_resource(Clock {
                sim_s: 3600.0,
                speed: 0.0,
            })
            .insert_resource(sim.initial_state())
            .insert_resource(sim)
            .add_plugins(FeedPlugin);
        app.update();
        app.update();
        assert_eq!(app.world().resource::<WallState>().now_s, 3600.0);
    }
}
