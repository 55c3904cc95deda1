//! The in-process simulation feeding the wall, and the [`EventFollower`] that turns its
//! event stream into [`WallState`]: incident marks, the log and the KPIs, folded one event at
//! a time.

use crate::feed::{
    clock_text, Clock, CoverageView, IncidentMark, Kpis, OperatorCommand, OperatorCommands, Part,
    Projected, WallState, FADE_S, WALL_DISPOSITION, WALL_REASON,
};
use crate::SceneData;
use bevy::prelude::*;
use binjiang_sim::coverage::SAMPLE_S;
use binjiang_sim::watch::CoverageWatch;
use binjiang_sim::{
    CoverageMonitor, Event, IncidentCatalogue, MetricsFold, Operator, SimOptions, Simulation,
    Source, Target, What,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Simulated seconds the embedded sim may advance in one frame, so a slow frame never makes
/// the next one stall on a long catch-up.
const MAX_SIM_STEP_S: f64 = 900.0;
/// Wall seconds between recomputations of the KPIs.
const KPI_PERIOD_S: f32 = 0.5;

/// The in-process simulation. The day runs from midnight to the wall's `--at` before the
/// first frame (a Yangpu day takes milliseconds), so the panels open on the day so far —
/// today's incidents, the KPIs, the open alarms — as the live twin's do.
#[derive(Resource)]
pub struct EmbeddedSim {
    sim: Simulation,
    seed: u64,
    /// What happened from midnight to `--at`, for [`EmbeddedSim::initial_state`].
    so_far: Vec<Event>,
    /// Coverage, move-up proposals and patrol visits, as the live twin keeps them.
    watch: CoverageWatch,
}

impl EmbeddedSim {
    /// Sets up the scene's simulated day from midnight and runs it to `options.start_s`,
    /// watching coverage with `monitor` (move-ups proposed) or patrol visits only.
    pub fn new(
        scene: &binjiang_scene::Scene,
        catalogue: IncidentCatalogue,
        options: SimOptions,
        network: &[binjiang_sim::NetworkChange],
        source: binjiang_sim::IncidentSource,
        monitor: Option<Arc<CoverageMonitor>>,
    ) -> Result<Self, String> {
        let seed = options.seed;
        let at = options.start_s;
        let midnight = SimOptions {
            start_s: (at / 86_400.0).floor() * 86_400.0,
            ..options
        };
        let policy = midnight.policy.build(catalogue.dispatch.clone());
        let mut sim = Simulation::with_source(scene, catalogue, midnight, policy, source)
            .map_err(|e| e.to_string())?
            .with_network_changes(network);
        // Every decision explained, for "why this unit".
        sim.set_explain(true);
        // Patrol visits count from midnight, as the day does.
        let mut watch = CoverageWatch::new(monitor, scene, &sim);
        while sim.now() < at {
            sim.advance_to((sim.now() + SAMPLE_S).min(at));
            watch.look(&sim, sim.hour_of_week(), clock_text, &scene.frame);
        }
        let so_far = sim.drain_events();
        sim.retire_closed();
        Ok(EmbeddedSim {
            sim,
            seed,
            so_far,
            watch,
        })
    }

    /// What the wall shows of the watch now.
    fn coverage(&self) -> CoverageView {
        CoverageView {
            since_visit: self.watch.since_visit(self.sim.now()),
            watched: self.watch.watched().to_vec(),
            agencies: self.watch.coverage().clone(),
            recommendations: self.watch.recommendations().to_vec(),
            unvisited_share: self.watch.unvisited_share(),
        }
    }

    /// The state before the first frame — the day so far folded in — and the follower of
    /// the event stream.
    pub fn initial_state(&mut self, scene: &binjiang_scene::Scene) -> (WallState, EventFollower) {
        let mut state = WallState {
            now_s: self.sim.now(),
            units: self.sim.units(),
            ..WallState::default()
        };
        let mut follower = EventFollower::new(scene, self.sim.catalogue());
        follower.apply(&std::mem::take(&mut self.so_far), &mut state);
        // What was open at the start is not news: no chime, no jump to it.
        state.new_urgent.clear();
        state.incidents = follower.visible(state.now_s);
        let today = follower.fold.summary(state.now_s);
        state.kpis = Kpis::of(&today, scene, &state.units, &state.incidents);
        state.coverage = self.coverage();
        keep_decisions(&mut state, self.sim.drain_decisions());
        (state, follower)
    }
}

/// Files fresh decisions under their incidents; incidents no longer shown are forgotten.
fn keep_decisions(state: &mut WallState, decisions: Vec<binjiang_sim::Decision>) {
    for d in decisions {
        state.why.entry(d.incident).or_default().push(d);
    }
    let shown: std::collections::BTreeSet<u32> = state.incidents.iter().map(|m| m.id).collect();
    state.why.retain(|i, _| shown.contains(i));
}

/// The coverage monitor of the embedded day: every agency with units watched, move-ups
/// proposed below the scene's `live.ron` thresholds (`move_up`), demand from the catalogue.
/// The thresholds are read as the live service reads them; a scene without them is watched
/// only.
pub fn monitor_of(scene: &binjiang_scene::Scene, catalogue: &IncidentCatalogue) -> CoverageMonitor {
    #[derive(serde::Deserialize)]
    struct MoveUp {
        #[serde(default)]
        move_up: BTreeMap<String, f64>,
    }
    let named = std::fs::read_to_string(scene.dir.join("live.ron"))
        .ok()
        .and_then(|t| ron::from_str::<MoveUp>(&t).ok())
        .map(|m| m.move_up)
        .unwrap_or_default();
    let thresholds = scene
        .units
        .iter()
        .map(|u| (u.agency, named.get(u.agency.key()).copied().unwrap_or(0.0)))
        .collect();
    CoverageMonitor::for_scene(scene, catalogue, &thresholds)
}

/// Turns the event stream into what the views show. It reads events only; unit positions
/// come beside the stream.
#[derive(Resource, Debug, Clone)]
pub struct EventFollower {
    /// Unit index by scene id.
    unit_index: HashMap<String, u32>,
    /// Type name and target by catalogue key.
    types: HashMap<String, (String, Target)>,
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
            unit_index: crate::feed::unit_indexes(scene),
            types: crate::feed::type_names(catalogue),
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
                subdistrict,
                ..
            } => {
                let (type_name, target) = self
                    .types
                    .get(incident_type.as_ref())
                    .cloned()
                    .unwrap_or_else(|| (incident_type.to_string(), Target::OnSite));
                self.unreported.insert(
                    *incident,
                    IncidentMark {
                        id: *incident,
                        type_name,
                        priority: *priority,
                        position: [e.x, e.y],
                        subdistrict: subdistrict.to_string(),
                        source: Source::Patrol,
                        reported_at: e.t,
                        target,
                        closed_at: None,
                        parts: agencies
                            .iter()
                            .map(|a| Part {
                                agency: *a,
                                unit: None,
                                arrived_at: None,
                                done: false,
                            })
                            .collect(),
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
                    p.unit = u;
                }
            }
            What::Arrived {
                incident, agency, ..
            } => {
                if let Some(p) = self.part_mut(*incident, *agency) {
                    p.arrived_at.get_or_insert(e.t);
                }
            }
            What::Preempted {
                incident, agency, ..
            }
            | What::Reassigned {
                incident, agency, ..
            } => {
                if let Some(p) = self.part_mut(*incident, *agency) {
                    p.unit = None;
                }
            }
            What::Finished {
                incident, agency, ..
            } => {
                if let Some(p) = self.part_mut(*incident, *agency) {
                    p.done = true;
                }
            }
            What::Closed { incident, .. } => {
                if let Some(m) = self.marks.get_mut(incident) {
                    m.closed_at = Some(e.t);
                    for p in &mut m.parts {
                        p.done = true;
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
    fn part_mut(&mut self, incident: u32, agency: binjiang_scene::Agency) -> Option<&mut Part> {
        self.marks
            .get_mut(&incident)?
            .parts
            .iter_mut()
            .find(|p| p.agency == agency)
    }

    /// The marks to show at `now`: reported and open, or closed within [`FADE_S`] (older
    /// ones are forgotten).
    fn visible(&mut self, now: f64) -> Vec<IncidentMark> {
        self.marks
            .retain(|_, m| m.closed_at.is_none_or(|c| now - c < FADE_S));
        self.marks.values().cloned().collect()
    }
}

/// Drives the wall from the in-process simulation.
pub struct EmbeddedPlugin;

impl Plugin for EmbeddedPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<OperatorCommands>()
            .add_systems(PreUpdate, (apply_commands, advance_embedded).chain());
    }
}

/// The wall's operator, as the input log records commands from the wall.
const WALL_OPERATOR: Operator<'static> = Operator {
    id: "wall",
    reason: WALL_REASON,
};

/// Applies operators' commands to the embedded simulation; a refusal is shown on the wall.
fn apply_commands(
    mut commands: ResMut<OperatorCommands>,
    mut feed: ResMut<EmbeddedSim>,
    follower: Res<EventFollower>,
    mut state: ResMut<WallState>,
) {
    for c in commands.0.drain(..) {
        let done = match c {
            OperatorCommand::Acknowledge(i) => feed.sim.acknowledge(i, &WALL_OPERATOR),
            OperatorCommand::Reassign(i, a, u) => feed.sim.reassign(i, a, u, &WALL_OPERATOR),
            OperatorCommand::Close(i) => {
                feed.sim.close_as(i, Some(WALL_DISPOSITION), &WALL_OPERATOR)
            }
            OperatorCommand::Cancel(i, why) => feed.sim.cancel(i, why, &WALL_OPERATOR),
            OperatorCommand::AcceptMoveUp(id) => match feed.watch.get(id).cloned() {
                None => {
                    state.refusal = Some(format!("move-up {id} is no longer proposed"));
                    continue;
                }
                Some(r) => {
                    let done = feed.sim.move_up(&r.unit, &r.covering, &WALL_OPERATOR);
                    if done.is_ok() {
                        feed.watch.accepted(id);
                    }
                    done
                }
            },
            OperatorCommand::DismissMoveUp(id) => {
                feed.watch.dismissed(id);
                Ok(())
            }
            // The embedded day explains every decision as it makes it.
            OperatorCommand::Explain(_) => continue,
            OperatorCommand::Project(hours) => {
                let fork = feed.sim.fork_generated(feed.seed.wrapping_add(1));
                let p = binjiang_sim::project(fork, follower.fold.clone(), f64::from(hours));
                state.projection = Some(Projected {
                    from_s: p.from_s,
                    until_s: p.until_s,
                    open_at_end: p.open_at_end,
                    peak_queue: p
                        .peak_queue
                        .iter()
                        .map(|(a, q)| (*a, (q.parts, q.at_s)))
                        .collect(),
                    kpis: p.kpis,
                });
                Ok(())
            }
        };
        state.refusal = done.err().map(|e| e.to_string());
    }
}

/// Advances the embedded simulation by the clock and hands its new events to the follower.
fn advance_embedded(
    time: Res<Time>,
    mut clock: ResMut<Clock>,
    mut feed: ResMut<EmbeddedSim>,
    mut follower: ResMut<EventFollower>,
    mut state: ResMut<WallState>,
    scene: Res<SceneData>,
) {
    let step = (time.delta_secs_f64() * clock.speed).min(MAX_SIM_STEP_S);
    clock.sim_s = clock.sim_s.max(feed.sim.now()) + step;
    feed.sim.advance_to(clock.sim_s);
    feed.sim.retire_closed();
    let fresh = feed.sim.drain_events();
    follower.apply(&fresh, &mut state);
    state.now_s = clock.sim_s;
    state.units = feed.sim.units();
    state.incidents = follower.visible(clock.sim_s);
    let decisions = feed.sim.drain_decisions();
    keep_decisions(&mut state, decisions);
    let how = feed.sim.hour_of_week();
    let EmbeddedSim { sim, watch, .. } = &mut *feed;
    watch.look(sim, how, clock_text, &scene.0.frame);
    let coverage = feed.coverage();
    if state.coverage != coverage {
        state.coverage = coverage;
    }
    let refresh =
        follower.kpi_timer.tick(time.delta()).just_finished() || state.kpis.agencies.is_empty();
    if refresh {
        let today = follower.fold.summary(state.now_s);
        state.kpis = Kpis::of(&today, &scene.0, &state.units, &state.incidents);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use binjiang_scene::Agency;

    fn tiny() -> binjiang_scene::Scene {
        crate::feed::fixtures::tiny().0
    }

    fn tiny_sim(start_s: f64) -> (EmbeddedSim, WallState, EventFollower) {
        let (scene, catalogue) = crate::feed::fixtures::tiny();
        let options = SimOptions {
            start_s,
            ..SimOptions::default()
        };
        let mut sim = EmbeddedSim::new(
            &scene,
            catalogue,
            options,
            &[],
            binjiang_sim::IncidentSource::Generated,
            Some(Arc::new(crate::embedded::monitor_of(
                &scene,
                &catalogue_of(),
            ))),
        )
        .unwrap();
        let (state, follower) = sim.initial_state(&scene);
        (sim, state, follower)
    }

    fn catalogue_of() -> IncidentCatalogue {
        crate::feed::fixtures::tiny().1
    }

    fn app_with(feed: (EmbeddedSim, WallState, EventFollower), clock: Clock) -> App {
        let (sim, state, follower) = feed;
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .insert_resource(clock)
            .insert_resource(state)
            .insert_resource(follower)
            .insert_resource(sim)
            .insert_resource(SceneData(tiny()))
            .add_plugins(EmbeddedPlugin);
        app
    }

    /// The plugin in a headless app (no window, no renderer) keeps `WallState` current.
    #[test]
    fn embedded_plugin_fills_the_wall_state_headless() {
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
        assert_eq!(state.kpis.subdistricts.len(), tiny().grid.parts.len());
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

    /// Regression (issue 17.10): `--at 09:00` showed "today: 0 incidents" and no KPIs. The
    /// day runs from midnight first: the panels open on the day so far, the same day a run
    /// from midnight has.
    #[test]
    fn the_wall_opens_on_the_day_so_far() {
        let (sim, state, _) = tiny_sim(9.0 * 3600.0);
        assert_eq!(sim.sim.now(), 9.0 * 3600.0);
        assert!(
            state.kpis.incidents > 0,
            "today's incidents: {:?}",
            state.kpis
        );
        assert!(state.kpis.on_site_3min_share.is_some(), "{:?}", state.kpis);
        assert!(!state.log.is_empty());
        assert!(state.new_urgent.is_empty(), "the day so far is not news");
        // The same incidents as a day run from midnight.
        let (scene, catalogue) = crate::feed::fixtures::tiny();
        let mut whole = Simulation::new(&scene, catalogue, SimOptions::default()).unwrap();
        whole.advance_to(9.0 * 3600.0);
        let arose = |events: &[Event]| {
            events
                .iter()
                .filter(|e| matches!(e.what, What::Arose { .. }))
                .count()
        };
        assert_eq!(arose(&state.log), arose(&whole.drain_events()));
    }

    /// Commands from the panels reach the simulation, and refusals come back to the wall.
    #[test]
    fn operator_commands_reach_the_simulation_headless() {
        let (mut sim, state, follower) = tiny_sim(3600.0);
        let report = |external: &str| binjiang_sim::Report {
            external_id: Some(external.into()),
            time: 3600.0,
            source: Source::Hotline110,
            incident_type: "fight".into(),
            place: binjiang_sim::Place::At([100.0, 300.0]),
            text: String::new(),
        };
        let id = sim.sim.report(report("110-42")).unwrap();
        let dup = sim.sim.report(report("110-43")).unwrap();
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
        let m = state.incidents.iter().find(|m| m.id == id).unwrap();
        assert_eq!(m.target, Target::OnSite);
        assert_eq!(m.time_to_target(3600.0), Some(180.0));
        app.world_mut()
            .resource_mut::<OperatorCommands>()
            .0
            .extend([
                OperatorCommand::Close(id),
                OperatorCommand::Cancel(dup, binjiang_sim::CancelReason::Duplicate),
                OperatorCommand::Close(id),
            ]);
        app.update();
        let state = app.world().resource::<WallState>();
        assert!(state
            .incidents
            .iter()
            .any(|m| m.id == id && m.closed_at.is_some()));
        assert!(state.log.iter().any(|e| matches!(&e.what,
            What::Closed { incident, cancelled: Some(binjiang_sim::CancelReason::Duplicate), .. } if *incident == dup)));
        assert_eq!(
            state.refusal.as_deref(),
            Some(format!("incident #{id} is not open").as_str())
        );
    }

    /// A dispatch opens a hole: the wall shows the move-up proposed, and Accept makes it in
    /// the embedded day as the wall's operator; the visits layer has every cell.
    #[test]
    fn a_move_up_is_proposed_and_accepted_at_the_wall() {
        let (mut sim, state, follower) = tiny_sim(10.0 * 3600.0);
        assert_eq!(state.coverage.since_visit.len(), tiny().grid.cells.len());
        assert!(state.coverage.agencies.contains_key("cleaning"));
        // Litter on the south cleaner's loop (as in the live service's test).
        sim.sim
            .report(binjiang_sim::Report {
                external_id: None,
                time: 10.0 * 3600.0,
                source: Source::Hotline12345,
                incident_type: "litter".into(),
                place: binjiang_sim::Place::At([698.0, -290.0]),
                text: String::new(),
            })
            .unwrap();
        let mut app = app_with(
            (sim, state, follower),
            Clock {
                sim_s: 10.0 * 3600.0,
                speed: 0.0,
            },
        );
        app.update();
        // Why the south cleaner was sent: its decision is filed under the incident.
        let why = &app.world().resource::<WallState>().why;
        assert!(
            why.values()
                .flatten()
                .any(|d| d.agency == binjiang_scene::Agency::Cleaning
                    && d.chosen
                        .as_ref()
                        .is_some_and(|c| c.unit.as_ref() == "clean-south")),
            "{why:?}"
        );
        let r = app
            .world()
            .resource::<WallState>()
            .coverage
            .recommendations
            .clone();
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(
            (r[0].unit.as_str(), r[0].covering.as_str()),
            ("clean-north", "clean-south")
        );
        app.world_mut()
            .resource_mut::<OperatorCommands>()
            .0
            .push(OperatorCommand::AcceptMoveUp(r[0].id));
        app.update();
        let state = app.world().resource::<WallState>();
        assert_eq!(state.refusal, None);
        assert!(state.coverage.recommendations.is_empty());
        assert!(state.log.iter().any(|e| matches!(&e.what,
            What::MovedUp { unit, operator: Some(op), .. } if unit.as_ref() == "clean-north" && op.as_ref() == "wall")));
        // Accepting it again is refused with a reason.
        app.world_mut()
            .resource_mut::<OperatorCommands>()
            .0
            .push(OperatorCommand::AcceptMoveUp(r[0].id));
        app.update();
        let refusal = app.world().resource::<WallState>().refusal.clone();
        assert!(refusal.is_some_and(|w| w.contains("no longer proposed")));
    }

    /// Key `P`'s projection runs on a copy: the wall's own day goes on unchanged.
    #[test]
    fn a_projection_does_not_touch_the_embedded_day() {
        let mut app = app_with(
            tiny_sim(8.0 * 3600.0),
            Clock {
                sim_s: 8.0 * 3600.0,
                speed: 0.0,
            },
        );
        app.update();
        let before = app.world().resource::<WallState>().units.clone();
        app.world_mut()
            .resource_mut::<OperatorCommands>()
            .0
            .push(OperatorCommand::Project(2));
        app.update();
        let state = app.world().resource::<WallState>();
        let p = state.projection.as_ref().expect("a projection");
        assert_eq!((p.from_s, p.until_s), (8.0 * 3600.0, 10.0 * 3600.0));
        assert_eq!(p.peak_queue.len(), Agency::ALL.len());
        assert_eq!(state.now_s, 8.0 * 3600.0);
        assert_eq!(state.units, before);
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
