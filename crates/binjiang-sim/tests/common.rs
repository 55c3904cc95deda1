//! Shared set-up for the simulation tests: the bundled and tiny scenes and their catalogues.
#![allow(dead_code)]

use binjiang_scene::{Scene, Unit};
use binjiang_sim::{Event, EventKind, IncidentCatalogue, SimOptions, Simulation};
use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn load(scene: &str) -> (Scene, IncidentCatalogue) {
    let dir = repo().join(scene);
    let scene = Scene::load(&dir).unwrap();
    let text = std::fs::read_to_string(dir.join("incident_types.ron")).unwrap();
    (scene, IncidentCatalogue::from_ron(&text).unwrap())
}

pub fn yangpu() -> (Scene, IncidentCatalogue) {
    load("scenes/yangpu-riverfront")
}

pub fn tiny() -> (Scene, IncidentCatalogue) {
    load("tests/scenes/tiny-river")
}

/// The tiny scene with no random incidents: tests inject exactly what they need.
pub fn quiet_tiny(policy: &str) -> (Scene, Simulation) {
    let (scene, mut cat) = tiny();
    for t in &mut cat.types {
        t.per_day = 0.0;
    }
    let sim = Simulation::new(
        &scene,
        cat,
        SimOptions {
            policy: policy.into(),
            ..SimOptions::default()
        },
    )
    .unwrap();
    (scene, sim)
}

pub fn unit_index(scene: &Scene, id: &str) -> u32 {
    scene.units.iter().position(|u: &Unit| u.id == id).unwrap() as u32
}

pub fn events_of(sim: &Simulation, kind: EventKind) -> Vec<Event> {
    sim.events()
        .iter()
        .filter(|e| e.kind == kind)
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
