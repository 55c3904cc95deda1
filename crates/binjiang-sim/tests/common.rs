//! Shared set-up for the simulation tests: the bundled and tiny scenes and their catalogues.
#![allow(dead_code)]

use binjiang_scene::{Agency, Mode, Scene, Unit};
use binjiang_sim::{
    DispatchRules, Event, EventKind, Incident, IncidentCatalogue, Operator, Place, PolicyKind,
    Report, SimOptions, Simulation, Source, CATALOGUE_FILE,
};
use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn load(scene: &str) -> (Scene, IncidentCatalogue) {
    let dir = repo().join(scene);
    let scene = Scene::load(&dir).unwrap();
    let catalogue = IncidentCatalogue::load(&dir.join(CATALOGUE_FILE), &scene)
        .unwrap()
        .0;
    (scene, catalogue)
}

pub fn yangpu() -> (Scene, IncidentCatalogue) {
    load("scenes/yangpu-riverfront")
}

pub fn tiny() -> (Scene, IncidentCatalogue) {
    load("tests/scenes/tiny-river")
}

pub fn policy(name: &str) -> PolicyKind {
    name.parse().unwrap()
}

/// The tiny scene with no random incidents: tests report exactly what they need.
pub fn quiet_tiny(policy_name: &str) -> (Scene, Simulation) {
    quiet_tiny_with(policy_name, |_| {})
}

/// [`quiet_tiny`] with the catalogue changed by `edit` first (dispatch rules, types).
pub fn quiet_tiny_with(
    policy_name: &str,
    edit: impl FnOnce(&mut IncidentCatalogue),
) -> (Scene, Simulation) {
    let (scene, mut cat) = tiny();
    for t in &mut cat.types {
        t.per_day = 0.0;
    }
    edit(&mut cat);
    let sim = Simulation::new(
        &scene,
        cat,
        SimOptions {
            policy: policy(policy_name),
            ..SimOptions::default()
        },
    )
    .unwrap();
    (scene, sim)
}

/// Reports an incident of type `key` now at `p` (local metres) by `source`.
pub fn inject(sim: &mut Simulation, key: &str, p: geo::Coord, source: Source) -> u32 {
    let now = sim.now();
    sim.report(Report {
        external_id: None,
        time: now,
        source,
        incident_type: key.into(),
        place: Place::At([p.x, p.y]),
        text: String::new(),
    })
    .unwrap()
}

pub fn incident(sim: &Simulation, id: u32) -> &Incident {
    sim.incident(id).unwrap()
}

/// The operator of the tests.
pub const OP: Operator<'static> = Operator {
    id: "op-7",
    reason: "test",
};

pub fn unit_index(scene: &Scene, id: &str) -> u32 {
    scene.units.iter().position(|u: &Unit| u.id == id).unwrap() as u32
}

pub fn events_of(sim: &Simulation, kind: EventKind) -> Vec<Event> {
    sim.events()
        .iter()
        .filter(|e| e.kind() == kind)
        .cloned()
        .collect()
}

pub fn log_bytes(sim: &Simulation) -> Vec<u8> {
    let mut out = Vec::new();
    for e in sim.events() {
        serde_json::to_writer(&mut out, e).unwrap();
        out.push(b'\n');
    }
    out
}

pub fn at(x: f64, y: f64) -> geo::Coord {
    geo::Coord { x, y }
}

/// The source of a `Reported` event.
pub fn source_of(e: &Event) -> Option<Source> {
    match &e.what {
        binjiang_sim::What::Reported { source, .. } => Some(*source),
        _ => None,
    }
}

/// The `Dispatched` events to incident `id`, in order.
pub fn dispatches_to(sim: &Simulation, id: u32) -> Vec<Event> {
    events_of(sim, EventKind::Dispatched)
        .into_iter()
        .filter(|e| e.incident() == Some(id))
        .collect()
}

/// The ids of the units sent to incident `id`, in order.
pub fn units_sent_to(sim: &Simulation, id: u32) -> Vec<String> {
    dispatches_to(sim, id)
        .iter()
        .filter_map(|e| e.unit().map(str::to_owned))
        .collect()
}

/// Why each part was queued, in order.
pub fn queue_reasons(sim: &Simulation) -> Vec<binjiang_sim::QueueReason> {
    sim.events()
        .iter()
        .filter_map(|e| match &e.what {
            binjiang_sim::What::Queued { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

/// The tiny river scene with `n` cleaners of random modes at random places on its roads.
pub fn cleaners(places: &[(u8, f64, f64)]) -> (binjiang_scene::Scene, Simulation) {
    let (mut scene, mut cat) = tiny();
    for t in &mut cat.types {
        t.per_day = 0.0;
    }
    cat.dispatch = DispatchRules::fastest_always();
    let template = scene.units[0].clone();
    scene.units.retain(|u| u.agency != Agency::Cleaning);
    for (i, (m, x, y)) in places.iter().enumerate() {
        let mode = [Mode::Foot, Mode::Bike][*m as usize % 2];
        // North Street (y = 300) or South Street (y = -300): both open to foot and bike.
        let y = if *y > 0.0 { 300.0 } else { -300.0 };
        scene.units.push(Unit {
            id: format!("c{i}"),
            agency: Agency::Cleaning,
            mode,
            home: at(*x, y),
            patrol: vec![at(*x, y), at((*x + 40.0).min(1000.0), y)],
            ..template.clone()
        });
    }
    let sim = Simulation::new(&scene, cat, SimOptions::default()).unwrap();
    (scene, sim)
}
